"""The request gate in front of the API: request ids, body limit, bearer auth, access log.

* every request gets an id (``X-Request-ID``), put in the log context with the organisation;
* a body larger than the limit is refused with 413 before anything parses it;
* an HTTP GraphQL request without a valid bearer token is HTTP 401 (GraphiQL's own page,
  a browser's GET asking for HTML without a query, needs none);
* one access-log line per request: method, path (never the query string, which can carry
  variables), status, duration, request id, organisation.
"""

from __future__ import annotations

import logging
import time
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.auth import Principal, TokenVerifier, bearer_token
from service.errors import Unauthenticated
from service.observability import organisation_var, request_id_var

access_log = logging.getLogger("service.access")
# No identity provider issues a token this long; a longer header is refused unread by the
# verifier (the server's own header limit stops far longer ones before they are buffered).
MAX_AUTHORIZATION_CHARS = 8192


def _error(status: int, code: str, message: str, request_id: str) -> JSONResponse:
    headers = {"X-Request-ID": request_id}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="safe-future"'
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        headers=headers,
    )


def _too_large(path: str, protect: tuple[str, ...], request_id: str) -> JSONResponse:
    """413 in the format of the endpoint asked: GraphQL's, or OAuth's for the token endpoint."""
    if path in protect:
        return _error(413, "BAD_USER_INPUT", "the request body is too large", request_id)
    return JSONResponse(
        {"error": "invalid_request", "error_description": "the request body is too large"},
        status_code=413,
        headers={"X-Request-ID": request_id, "Cache-Control": "no-store"},
    )


class RequestGate:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, protect: tuple[str, ...]) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.protect = protect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        request_id_var.set(request_id)
        organisation_var.set(None)
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self._handle(scope, receive, send_logged, request_id)
        finally:
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )

    async def _handle(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        request = Request(scope)
        declared = request.headers.get("content-length")
        valid = declared is None or (declared.isascii() and declared.isdigit())
        if not valid or (declared is not None and int(declared) > self.max_body_bytes):
            await _too_large(scope["path"], self.protect, request_id)(scope, receive, send)
            return
        body, complete = await self._read_body(receive)
        if not complete:
            await _too_large(scope["path"], self.protect, request_id)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if scope["path"] in self.protect and not self._wants_ide(request):
            if len(request.headers.getlist("authorization")) > 1:
                await _error(400, "BAD_USER_INPUT", "send one Authorization header", request_id)(
                    scope, replay, send
                )
                return
            header = request.headers.get("authorization") or ""
            token = bearer_token(header) if len(header) <= MAX_AUTHORIZATION_CHARS else None
            if token is None:
                await _error(401, "UNAUTHENTICATED", "a bearer token is required", request_id)(
                    scope, replay, send
                )
                return
            verifier: TokenVerifier = scope["app"].state.verifier
            try:
                principal: Principal = await verifier.verify(token)
            except Unauthenticated as exc:
                await _error(401, "UNAUTHENTICATED", exc.message, request_id)(scope, replay, send)
                return
            scope["state"]["principal"] = principal
            organisation_var.set(principal.organisation.slug)
        await self.app(scope, replay, send)

    async def _read_body(self, receive: Receive) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), True
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"", False
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), True

    @staticmethod
    def _wants_ide(request: Request) -> bool:
        return (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
        )
