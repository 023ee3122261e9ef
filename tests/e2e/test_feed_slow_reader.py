"""A subscriber that stops reading its socket is closed as too slow; nobody else waits for it.

The server below is ``safe-future serve``'s uvicorn set-up with smaller buffers (a 1 KiB
high-water mark, a 4 KiB kernel send buffer, a half-second stall), so a few dozen events fill
what a stalled peer can hold. The stalled peer is a raw socket with a tiny receive buffer that
subscribes and then never reads again, while events are appended.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.frames import Frame, Opcode

from service.app import create_app
from service.config import Settings
from service.serving import (
    TOO_SLOW_CLOSE_CODE,
    TOO_SLOW_REASON,
    GuardedWebSocketProtocol,
)
from tests.conftest import Database, TokenFactory
from tests.e2e.conftest import LiveServer, served
from tests.e2e.test_feed_ws_auth import WAIT, feed_socket, next_event, subscribe
from tests.e2e.test_lifecycle import open_case, step

STALLED_QUERY = """
subscription Stalled($after: String) {
  caseEvents(after: $after) { cursor caseId version eventType occurredAt recordedAt data }
}
"""


class _SmallBuffers(GuardedWebSocketProtocol):
    write_high_water_bytes = 1024
    write_stall_seconds = 0.5

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        super().connection_made(transport)


@pytest.fixture(scope="module")
async def small_buffers_server(settings: Settings, database: Database) -> AsyncIterator[LiveServer]:
    application = create_app(settings, database.app_url)
    async with served(application, ws=_SmallBuffers) as port:
        yield LiveServer(application, port)


def _frame(message: dict[str, Any]) -> bytes:
    return Frame(Opcode.TEXT, json.dumps(message).encode()).serialize(mask=True)


async def _stalled_subscriber(port: int, token: str, after: str) -> socket.socket:
    """A subscribed socket with a tiny receive buffer that the test then stops reading."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    await loop.sock_sendall(
        sock,
        (
            f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode(),
    )
    received = b""
    async with asyncio.timeout(WAIT):
        while b"\r\n\r\n" not in received:
            received += await loop.sock_recv(sock, 4096)
        assert received.startswith(b"HTTP/1.1 101"), received
        await loop.sock_sendall(
            sock,
            _frame({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}),
        )
        while b"connection_ack" not in received:
            received += await loop.sock_recv(sock, 4096)
    await loop.sock_sendall(
        sock,
        _frame(
            {
                "id": "stalled",
                "type": "subscribe",
                "payload": {"query": STALLED_QUERY, "variables": {"after": after}},
            }
        ),
    )
    return sock


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """The server's (unmasked) frames in ``data``, which must hold whole frames only."""
    frames, offset = [], 0
    while offset < len(data):
        opcode, length = data[offset] & 0x0F, data[offset + 1] & 0x7F
        offset += 2
        if length == 126:
            (length,) = struct.unpack("!H", data[offset : offset + 2])
            offset += 2
        elif length == 127:
            (length,) = struct.unpack("!Q", data[offset : offset + 8])
            offset += 8
        assert offset + length <= len(data), "a frame was cut off"
        frames.append((opcode, data[offset : offset + length]))
        offset += length
    return frames


def _close_frame(data: bytes) -> tuple[int, str] | None:
    """The code and reason of the close frame among the server's frames, if one came."""
    for opcode, payload in server_frames(data):
        if opcode == Opcode.CLOSE:
            (code,) = struct.unpack("!H", payload[:2])
            return code, payload[2:].decode()
    return None


async def _until(predicate: Any, seconds: float = WAIT) -> None:
    """Poll a server-side condition (the hub has no event to wait on for it)."""
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


@dataclass
class StalledBesideHealthy:
    """A healthy subscriber of ``watched`` and a stalled peer, after events were appended
    until the server closed the stalled one as too slow."""

    client: Any
    watched: dict[str, Any]
    healthy: ClientConnection
    stalled: socket.socket

    async def stalled_received(self) -> bytes:
        """All the stalled peer was sent, read now, until the server ended the connection."""
        loop = asyncio.get_running_loop()
        data = b""
        async with asyncio.timeout(WAIT):
            while chunk := await loop.sock_recv(self.stalled, 65536):
                data += chunk
        return data


@contextlib.asynccontextmanager
async def stalled_beside_healthy(
    server: LiveServer, as_org: Any, make_token: TokenFactory
) -> AsyncIterator[StalledBesideHealthy]:
    hub = server.app.state.feed
    token = make_token("moviera", "caseworker")
    client = as_org("moviera")
    watched = (await open_case(client))["case"]
    async with feed_socket(server, token) as healthy:
        await subscribe(healthy, "healthy", case_id=watched["id"])
        _, opening = await next_event(healthy)
        stalled = await _stalled_subscriber(server.port, token, opening["cursor"])
        try:
            await _until(lambda: hub.subscriber_count == 2)  # both are live
            # Events keep coming; the stalled peer reads none of them.
            for _ in range(200):
                await open_case(client, pseudonym="Slow reader")
                if hub.subscriber_count < 2:
                    break
            await _until(lambda: hub.subscriber_count == 1)
            yield StalledBesideHealthy(client, watched, healthy, stalled)
        finally:
            stalled.close()


async def test_a_subscriber_that_stops_reading_is_closed_as_too_slow_and_others_keep_receiving(
    small_buffers_server: LiveServer, as_org: Any, make_token: TokenFactory
) -> None:
    async with stalled_beside_healthy(small_buffers_server, as_org, make_token) as peers:
        # The other subscriber still gets its events, in order.
        watched = peers.watched
        moved = await step(
            peers.client, "assessRisk", watched, assessedOn="2026-01-20", level="LOW"
        )
        _, event = await next_event(peers.healthy)
        assert (event["caseId"], event["version"]) == (watched["id"], moved["version"])

        # Reading again, the stalled peer finds the reason after what was pending, and the
        # server ends the connection.
        data = await peers.stalled_received()
        assert _close_frame(data) == (TOO_SLOW_CLOSE_CODE, TOO_SLOW_REASON)
