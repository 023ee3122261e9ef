"""``BrowserPolicy`` answers every request as the two middlewares it replaces did together:
Starlette's ``CORSMiddleware`` (the service's settings) inside a layer that adds each security
header a response lacks. Both stacks run in memory on the same requests and responses."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.browser_policy import (
    ALLOWED_HEADERS,
    ALLOWED_METHODS,
    EXPOSED_HEADERS,
    SECURITY_HEADERS,
    BrowserPolicy,
)

ALLOWED = "https://app.moviera.example"
Headers = list[tuple[bytes, bytes]]


class _SecurityHeadersBefore:
    """The layer ``BrowserPolicy`` took over: each security header a response lacks."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _endpoint(headers: Headers) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


def _answer(app: ASGIApp, method: str, request: Headers) -> list[Message]:
    scope = {"type": "http", "method": method, "path": "/graphql", "headers": request}
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def _both(origins: Sequence[str], method: str, request: Headers, response: Headers) -> Any:
    before = _SecurityHeadersBefore(
        CORSMiddleware(
            _endpoint(response),
            allow_origins=list(origins),
            allow_methods=list(ALLOWED_METHODS),
            allow_headers=list(ALLOWED_HEADERS),
            expose_headers=list(EXPOSED_HEADERS),
        )
    )
    now = BrowserPolicy(_endpoint(response), allowed_origins=origins)
    return _answer(before, method, request), _answer(now, method, request)


def _normal(messages: list[Message]) -> list[Any]:
    """The messages, each response start's headers in a fixed order."""
    return [
        {**m, "headers": sorted(m["headers"])} if m["type"] == "http.response.start" else m
        for m in messages
    ]


origins = st.sampled_from([[], [ALLOWED], [ALLOWED, "https://b.example"], ["*"]])
request_origin = st.sampled_from(
    [None, ALLOWED, "https://evil.example", "null", "https://app.moviera.example:8443"]
)
request_extra = st.lists(
    st.sampled_from([
        (b"access-control-request-method", b"POST"),
        (b"access-control-request-method", b"DELETE"),
        (b"access-control-request-headers", b"authorization,content-type"),
        (b"access-control-request-headers", b"x-custom"),
        (b"content-type", b"application/json"),
        (b"origin", b"https://second.example"),
    ]),
    max_size=4,
)  # fmt: skip
response_headers = st.lists(
    st.sampled_from([
        (b"content-type", b"application/json"),
        (b"vary", b"Accept"),
        (b"vary", b"Accept-Encoding"),
        (b"content-security-policy", b"default-src 'self'"),
        (b"x-frame-options", b"SAMEORIGIN"),
        (b"access-control-allow-origin", b"https://set.example"),
        (b"x-request-id", b"abc"),
    ]),
    max_size=4,
)  # fmt: skip


@given(
    origins,
    st.sampled_from(["GET", "POST", "OPTIONS", "HEAD"]),
    request_origin,
    request_extra,
    response_headers,
)
def test_answers_as_cors_middleware_inside_the_security_headers(
    allowed: list[str],
    method: str,
    origin: str | None,
    extra: Headers,
    response: Headers,
) -> None:
    request = ([] if origin is None else [(b"origin", origin.encode())]) + extra

    before, now = _both(allowed, method, request, response)

    assert _normal(now) == _normal(before)


def test_an_allowed_origin_is_named_and_every_answer_varies_by_origin() -> None:
    answer = _both([ALLOWED], "POST", [(b"origin", ALLOWED.encode())], [])[1]
    headers = answer[0]["headers"]
    assert (b"access-control-allow-origin", ALLOWED.encode()) in headers
    assert (b"access-control-expose-headers", b"X-Request-ID") in headers
    assert (b"vary", b"Origin") in headers

    foreign = _both([ALLOWED], "POST", [(b"origin", b"https://evil.example")], [])[1]
    assert b"access-control-allow-origin" not in dict(foreign[0]["headers"])
    assert (b"vary", b"Origin") in foreign[0]["headers"]
