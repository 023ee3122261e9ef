"""What every HTTP response tells a browser: security headers and cross-origin access (CORS).

Security headers, on every response that lacks them:

* ``X-Content-Type-Options: nosniff``: a browser never guesses a script or page out of JSON;
* ``Referrer-Policy: no-referrer``: no URL of this service leaks to another site;
* ``Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`` where the response
  sets no policy of its own (the API answers data, never a document that loads anything; the
  GraphiQL page sets a stricter one of its own, with ``frame-ancestors 'none'`` too), and
  ``X-Frame-Options: DENY`` for browsers that predate ``frame-ancestors``.

A header the application already set is left as it is.

Cross-origin access, for the origins configured (``SAFE_FUTURE_ALLOWED_ORIGINS``; ``*`` for
any), as Starlette's ``CORSMiddleware`` answers them with ``GET`` and ``POST``, the
``Authorization`` and ``Content-Type`` headers and ``X-Request-ID`` exposed, no credentials:

* a preflight (``OPTIONS`` from an ``Origin`` with ``Access-Control-Request-Method``) is
  answered by ``CORSMiddleware`` itself, before the request gate asks for a token;
* any other response from a request with an ``Origin`` exposes ``X-Request-ID``, and names the
  origin in ``Access-Control-Allow-Origin`` when it is allowed (``*`` when any is); every
  response adds ``Origin`` to ``Vary``, so a cache never serves one origin's answer to another.

Both are one layer that reads the raw header lists once (the request's for ``Origin``, the
response's when it starts), where two middlewares each built header objects per request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
)
ALLOWED_METHODS = ("GET", "POST")
ALLOWED_HEADERS = ("Authorization", "Content-Type")
EXPOSED_HEADERS = ("X-Request-ID",)

_ALLOW_ORIGIN = b"access-control-allow-origin"
_EXPOSE = (b"access-control-expose-headers", ", ".join(EXPOSED_HEADERS).encode("latin-1"))
_VARY = b"vary"


def _origin(scope: Scope) -> bytes | None:
    """The request's first ``Origin`` header (ASGI header names are lowercase)."""
    for name, value in scope["headers"]:
        if name == b"origin":
            return bytes(value)
    return None


def _is_preflight(scope: Scope) -> bool:
    return scope["method"] == "OPTIONS" and any(
        name == b"access-control-request-method" for name, _ in scope["headers"]
    )


def with_security_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` and each security header they lack."""
    out = list(headers)
    present = {name.lower() for name, _ in out}
    out.extend(h for h in SECURITY_HEADERS if h[0] not in present)
    return out


class BrowserPolicy:
    """The security and CORS headers above, as the outermost middleware."""

    def __init__(self, app: ASGIApp, *, allowed_origins: Sequence[str]) -> None:
        self.app = app
        self._any_origin = "*" in allowed_origins
        self._origins = frozenset(o.encode("latin-1") for o in allowed_origins)
        self._preflight = CORSMiddleware(
            app,
            allow_origins=list(allowed_origins),
            allow_methods=list(ALLOWED_METHODS),
            allow_headers=list(ALLOWED_HEADERS),
            expose_headers=list(EXPOSED_HEADERS),
        )

    def _cors(self, origin: bytes | None) -> list[tuple[bytes, bytes]]:
        """The CORS headers of a response (not a preflight's) to a request from ``origin``."""
        if origin is None:
            return []
        if self._any_origin:
            return [_EXPOSE, (_ALLOW_ORIGIN, b"*")]
        if origin in self._origins:
            return [_EXPOSE, (_ALLOW_ORIGIN, origin)]
        return [_EXPOSE]

    def headers(
        self, headers: Iterable[tuple[bytes, bytes]], origin: bytes | None
    ) -> list[tuple[bytes, bytes]]:
        """A response's ``headers`` with the security headers it lacks and the CORS headers
        for ``origin``: those replace any the response set, and ``Vary`` gains ``Origin``."""
        out = with_security_headers(headers)
        cors = self._cors(origin)
        replaced = {name for name, _ in cors}
        replaced.add(_VARY)
        vary = [value for name, value in out if name.lower() == _VARY]
        out = [h for h in out if h[0].lower() not in replaced]
        out.extend(cors)
        out.append((_VARY, b", ".join([*vary, b"Origin"])))
        return out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = _origin(scope)
        preflight = origin is not None and _is_preflight(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                message = {
                    **message,
                    "headers": with_security_headers(headers)
                    if preflight
                    else self.headers(headers, origin),
                }
            await send(message)

        if preflight:
            response = self._preflight.preflight_response(request_headers=Headers(scope=scope))
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
