"""A response's head leaves with the first part of its body, in one write; nothing waits for a
body that does not come at once."""

from __future__ import annotations

import asyncio

from service.serving import _HeadWithBody

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class _Recorded:
    """The transport's side of the holder: what reaches the socket, write by write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


def _holder() -> tuple[_HeadWithBody, _Recorded]:
    socket = _Recorded()
    return _HeadWithBody(socket, asyncio.get_running_loop()), socket  # type: ignore[arg-type]


async def test_a_whole_response_is_one_write() -> None:
    holder, socket = _holder()
    holder.write(HEAD)
    assert socket.writes == []
    holder.write(b"{}")
    assert socket.writes == [HEAD + b"{}"]
    await asyncio.sleep(0)  # the end of the turn adds nothing
    assert socket.writes == [HEAD + b"{}"]


async def test_a_head_without_a_body_at_once_leaves_at_the_end_of_the_turn() -> None:
    holder, socket = _holder()
    holder.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    await asyncio.sleep(0)
    assert socket.writes == [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"]
    holder.write(b"2\r\n[]\r\n")
    holder.write(b"0\r\n\r\n")
    assert socket.writes[1:] == [b"2\r\n[]\r\n", b"0\r\n\r\n"]


async def test_an_interim_continue_is_written_at_once_and_the_head_still_waits() -> None:
    holder, socket = _holder()
    holder.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert socket.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    holder.write(HEAD)
    holder.write(b"{}")
    assert socket.writes == [b"HTTP/1.1 100 Continue\r\n\r\n", HEAD + b"{}"]


async def test_closing_writes_a_held_head_first() -> None:
    holder, socket = _holder()
    holder.write(HEAD)
    holder.close()
    assert (socket.writes, socket.closed) == ([HEAD], True)
    await asyncio.sleep(0)
    assert socket.writes == [HEAD]  # not twice


async def test_a_head_held_for_a_connection_closed_meanwhile_is_dropped() -> None:
    holder, socket = _holder()
    holder.write(HEAD)
    socket.closed = True  # the peer went away
    await asyncio.sleep(0)
    assert socket.writes == []
