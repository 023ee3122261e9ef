"""How the API is served: uvicorn with limits and timeouts a hostile client cannot outlast.

* HTTP/1.1 through h11 (not httptools, which has no limit on header size): a request's
  headers may take at most ``MAX_HEADER_BYTES`` (an 8 MB ``Authorization`` header is refused
  with 400 after the first 16 KiB, never buffered in full);
* a connection has ``REQUEST_READ_SECONDS`` to deliver a whole request, headers and body,
  from the moment it opens or its previous response ends; idle or half-sent connections
  (slowloris) are closed after that. Between requests, keep-alive lasts ``KEEP_ALIVE_SECONDS``;
* WebSocket messages are limited to ``MAX_WS_MESSAGE_BYTES`` and not compressed;
* uvicorn's own access log is off: the request gate writes one without query strings.

A reverse proxy in front should still apply its own, stricter timeouts (docs/security.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEADER_BYTES = 16 * 1024
REQUEST_READ_SECONDS = 20.0
KEEP_ALIVE_SECONDS = 5
MAX_WS_MESSAGE_BYTES = 1024 * 1024


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for reading each whole request."""

    request_read_seconds = REQUEST_READ_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._read_deadline: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._read_deadline = self.loop.call_later(self.request_read_seconds, self._too_slow)

    def _disarm(self) -> None:
        deadline = getattr(self, "_read_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._read_deadline = None

    def _too_slow(self) -> None:
        self._read_deadline = None
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._disarm()  # the whole request is in

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._disarm()
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def server_config(app: ASGIApp, host: str, port: int, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration ``safe-future serve`` (and the tests' live server) use."""
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "http": GuardedH11Protocol,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "ws": "websockets-sansio",
        "ws_max_size": MAX_WS_MESSAGE_BYTES,
        # Compressing every event once per subscriber costs more CPU than the bytes it saves.
        "ws_per_message_deflate": False,
        "log_config": None,
        "access_log": False,  # the request gate writes its own, without query strings
        "server_header": False,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)
