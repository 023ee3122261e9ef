"""What the fan-out reads of a socket (``serving.DirectSocket``) follows the protocol's flags:
it may write a message past the transport only while the handshake is done, no close was sent,
the peer is connected and writing is not paused."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import uvicorn
from hypothesis import given
from hypothesis import strategies as st
from uvicorn.server import ServerState

from service.serving import GuardedWebSocketProtocol

FLAGS = ("handshake_complete", "close_sent", "disconnected", "paused")


async def _app(scope: Any, receive: Any, send: Any) -> None:
    """Never called: the protocol is not connected."""


@contextlib.contextmanager
def _protocol() -> Iterator[GuardedWebSocketProtocol]:
    """A protocol as uvicorn makes one for a new connection (never connected here)."""
    config = uvicorn.Config(_app, ws=GuardedWebSocketProtocol)
    config.load()
    loop = asyncio.new_event_loop()  # the protocol keeps one; nothing runs on it
    try:
        yield GuardedWebSocketProtocol(
            config=config, server_state=ServerState(), app_state={}, _loop=loop
        )
    finally:
        loop.close()


def _set(protocol: GuardedWebSocketProtocol, flag: str, value: bool) -> None:
    if flag != "paused":
        setattr(protocol, flag, value)  # as uvicorn sets them
    elif value:
        protocol._direct.paused = True  # as pause_writing does, without a transport
        protocol._direct.judge()
    else:
        protocol._direct.paused = False
        protocol._direct.judge()


def test_a_new_protocol_is_not_ready_for_direct_messages() -> None:
    with _protocol() as protocol:
        assert not protocol.handshake_complete
        assert not protocol.close_sent
        assert not protocol.disconnected
        assert not protocol._direct.ready


@given(st.lists(st.tuples(st.sampled_from(FLAGS), st.booleans()), max_size=12))
def test_ready_is_the_protocols_flags_as_last_set(changes: list[tuple[str, bool]]) -> None:
    state = dict.fromkeys(FLAGS, False)
    with _protocol() as protocol:
        for flag, value in changes:
            _set(protocol, flag, value)
            state[flag] = value
            # uvicorn reads back what it set
            assert protocol.handshake_complete is state["handshake_complete"]
            assert protocol.close_sent is state["close_sent"]
            assert protocol.disconnected is state["disconnected"]
            assert protocol._direct.ready is (
                state["handshake_complete"]
                and not state["close_sent"]
                and not state["disconnected"]
                and not state["paused"]
            )
