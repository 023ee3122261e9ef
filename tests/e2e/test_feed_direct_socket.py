"""The feed's way past the ASGI send (``DIRECT_TEXT_EXTENSION``, ``serving.DirectSocket``),
through a real uvicorn server and a real client: it writes a message only while the protocol
could, and otherwise answers False, which sends the feed's event through the subscriber's
queue instead."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from service import serving
from tests.e2e.conftest import served

WAIT = 5.0


@dataclass
class _Opened:
    send_now: Callable[[bytes], bool]
    before_accept: bool
    protocol: serving.GuardedWebSocketProtocol


def _refuses(opened: _Opened) -> None:
    """The direct write says no, at once and within a gathering."""
    assert opened.send_now(b'{"n":"now"}') is False
    with serving.writes_together():
        assert opened.send_now(b'{"n":"gathered"}') is False


class _Endpoint:
    """Accepts one socket, hands its direct write to the test, and closes it when the client
    asks ("close")."""

    def __init__(self) -> None:
        self.opened: asyncio.Queue[_Opened] = asyncio.Queue()
        self.closed = asyncio.Event()
        self.after_close: list[bool] = []  # what the direct write said right after the close

    async def serve(self, websocket: WebSocket) -> None:
        writer = websocket.scope["extensions"][serving.DIRECT_TEXT_EXTENSION]
        send_now = writer.send
        before_accept = send_now(b"too early")
        await websocket.accept()
        await self.opened.put(_Opened(send_now, before_accept, writer.protocol))
        with contextlib.suppress(WebSocketDisconnect):
            while await websocket.receive_text() != "close":
                pass
            await websocket.close(4000)
            # Before the loop runs anything else: the peer has not answered the close yet.
            self.after_close.append(send_now(b"after the close"))
            with serving.writes_together():
                self.after_close.append(send_now(b"after the close"))
        self.closed.set()


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[_Endpoint, int]]:
    handler = _Endpoint()
    app = Starlette(routes=[WebSocketRoute("/ws", handler.serve)])
    async with served(app) as port:
        yield handler, port


async def test_a_socket_takes_direct_messages_once_open_and_in_a_gathering_at_its_end(
    endpoint: tuple[_Endpoint, int],
) -> None:
    handler, port = endpoint
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as client:
        opened = await asyncio.wait_for(handler.opened.get(), WAIT)
        assert opened.before_accept is False  # no handshake yet: nothing goes out
        assert opened.send_now(b'{"n":1}') is True
        assert await asyncio.wait_for(client.recv(), WAIT) == '{"n":1}'
        with serving.writes_together():
            assert opened.send_now(b'{"n":2}') is True
            assert opened.send_now(b'{"n":3}') is True
            with pytest.raises(TimeoutError):  # gathered: written at the gathering's end
                await asyncio.wait_for(client.recv(), 0.2)  # (cancelling recv loses nothing)
        assert await asyncio.wait_for(client.recv(), WAIT) == '{"n":2}'
        assert await asyncio.wait_for(client.recv(), WAIT) == '{"n":3}'


async def test_a_socket_whose_close_was_sent_takes_no_direct_message(
    endpoint: tuple[_Endpoint, int],
) -> None:
    handler, port = endpoint
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as client:
        opened = await asyncio.wait_for(handler.opened.get(), WAIT)
        await client.send("close")
        await asyncio.wait_for(handler.closed.wait(), WAIT)
        assert handler.after_close == [False, False]
        assert opened.send_now(b'{"n":1}') is False
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(client.recv(), WAIT)
        assert closed.value.rcvd is not None  # the close frame came next: nothing before it
        assert closed.value.rcvd.code == 4000


async def test_a_socket_whose_transport_is_closing_takes_no_direct_message(
    endpoint: tuple[_Endpoint, int],
) -> None:
    handler, port = endpoint
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as client:
        opened = await asyncio.wait_for(handler.opened.get(), WAIT)
        opened.protocol.transport.close()  # as uvicorn does when the peer's close frame arrives
        _refuses(opened)  # no close sent, not yet disconnected
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(client.recv(), WAIT)  # and nothing came before the end


async def test_a_socket_whose_peer_closed_takes_no_direct_message(
    endpoint: tuple[_Endpoint, int],
) -> None:
    handler, port = endpoint
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws"):
        opened = await asyncio.wait_for(handler.opened.get(), WAIT)
    # The client's close waited for the server's answer: the server has seen the close frame.
    _refuses(opened)
    await asyncio.wait_for(handler.closed.wait(), WAIT)
    _refuses(opened)


async def test_a_socket_with_writing_paused_takes_no_direct_message_until_it_resumes(
    endpoint: tuple[_Endpoint, int],
) -> None:
    handler, port = endpoint
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as client:
        opened = await asyncio.wait_for(handler.opened.get(), WAIT)
        opened.protocol.pause_writing()  # as the transport does past its high-water mark
        try:
            _refuses(opened)
        finally:
            opened.protocol.resume_writing()
        assert opened.send_now(b'{"n":2}') is True
        assert await asyncio.wait_for(client.recv(), WAIT) == '{"n":2}'
