"""Security headers on every HTTP response.

* ``X-Content-Type-Options: nosniff``: a browser never guesses a script or page out of JSON;
* ``Referrer-Policy: no-referrer``: no URL of this service leaks to another site;
* ``Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`` where the response
  sets no policy of its own (the API answers data, never a document that loads anything; the
  GraphiQL page sets a stricter one of its own, with ``frame-ancestors 'none'`` too), and
  ``X-Frame-Options: DENY`` for browsers that predate ``frame-ancestors``.

A header the application already set is left as it is.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
)


class SecurityHeaders:
    """Adds the headers above to each HTTP response that lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}
                headers.extend(h for h in DEFAULT_HEADERS if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
