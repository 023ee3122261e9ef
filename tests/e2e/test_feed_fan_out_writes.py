"""The fan-out's gathered writes (``serving.FanOutWrites``): from two threads, every subscriber
still gets every event once and in order, and a socket that takes only part of a message gets
the rest through its transport, its stream intact.

``FAN_OUT_THREAD_FROM`` is lowered so that one or a few sockets take the two-thread path, the
threads take one socket at a time (``WRITE_RUN``), and the second thread takes the first one,
so both write; a spy on the writes shows that path (and a partial write) was taken, so these
tests cannot pass without it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from websockets.frames import Opcode

from service import serving
from tests.conftest import TokenFactory
from tests.e2e.conftest import LiveServer
from tests.e2e.test_feed_slow_reader import (
    _until,
    server_frames,
    small_buffers_server,  # noqa: F401  (a fixture)
    stalled_beside_healthy,
)
from tests.e2e.test_feed_ws_auth import feed_socket, next_event, receive, subscribe
from tests.e2e.test_lifecycle import open_case, step


def _in_second_thread() -> bool:
    return threading.current_thread().name.startswith("fan-out-writes")


class _SecondThreadFirst(serving._Runs):
    """Runs handed out as ``FanOutWrites`` does, except that when two threads write, the
    loop's thread takes its first run only after the second thread has taken one: what
    either thread writes no longer depends on which of them woke first."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.second_took = threading.Event()

    def take(self) -> range:
        if _in_second_thread():
            run = super().take()
            self.second_took.set()
            return run
        if self.count >= serving.FAN_OUT_THREAD_FROM:
            assert self.second_took.wait(5)
        return super().take()


class _WritesSeen:
    """Which threads wrote past the transports, and whether a socket took only part."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, thread_from: int = 2) -> None:
        self.threads: set[str] = set()
        self.unwritten = 0
        write = serving._write_past_transports

        def seen(socks: list[Any], datas: list[bytes], run: range) -> list[Any]:
            if run:
                self.threads.add(threading.current_thread().name)
            left = write(socks, datas, run)
            self.unwritten += len(left)
            return left

        monkeypatch.setattr(serving, "_write_past_transports", seen)
        monkeypatch.setattr(serving, "_Runs", _SecondThreadFirst)
        monkeypatch.setattr(serving, "FAN_OUT_THREAD_FROM", thread_from)
        monkeypatch.setattr(serving, "WRITE_RUN", 1)

    @property
    def second_thread_wrote(self) -> bool:
        return any(name.startswith("fan-out-writes") for name in self.threads)

    @property
    def both_threads_wrote(self) -> bool:
        return self.second_thread_wrote and any(
            not name.startswith("fan-out-writes") for name in self.threads
        )


async def test_every_subscription_gets_every_event_once_and_in_order_when_two_threads_write(
    live_server: LiveServer,
    as_org: Any,
    make_token: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writes = _WritesSeen(monkeypatch)
    hub = live_server.app.state.feed
    token = make_token("moviera", "caseworker")
    client = as_org("moviera")
    case = (await open_case(client))["case"]
    async with (
        feed_socket(live_server, token) as first,
        feed_socket(live_server, token) as second,
        feed_socket(live_server, token) as both,
    ):
        before = hub.subscriber_count
        for ws, op in ((first, "a"), (second, "a"), (both, "a"), (both, "b")):
            await subscribe(ws, op, case_id=case["id"])
        await _until(lambda: hub.subscriber_count == before + 4)
        versions = [case["version"]]
        for day in range(10, 16):
            case = await step(client, "assessRisk", case, assessedOn=f"2026-01-{day}", level="LOW")
            versions.append(case["version"])

        for ws in (first, second):
            got = [(await next_event(ws))[1]["version"] for _ in versions]
            assert got == versions
        by_operation: dict[str, list[int]] = {"a": [], "b": []}
        for _ in range(2 * len(versions)):
            op, event = await next_event(both)
            by_operation[op].append(event["version"])
        assert by_operation == {"a": versions, "b": versions}
        for ws in (first, second, both):  # and nothing more
            with pytest.raises(TimeoutError):
                await receive(ws, 0.3)
    assert writes.both_threads_wrote


async def test_a_socket_that_takes_part_of_a_message_gets_the_rest_in_order(
    small_buffers_server: LiveServer,  # noqa: F811
    as_org: Any,
    make_token: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # From one socket on: the stalled peer's messages (its own case's events) go to the
    # second thread even when it is the only socket written.
    writes = _WritesSeen(monkeypatch, thread_from=1)
    async with stalled_beside_healthy(small_buffers_server, as_org, make_token) as peers:
        data = await peers.stalled_received()
    frames = server_frames(data)
    assert frames[-1][0] == Opcode.CLOSE
    messages = [json.loads(payload) for opcode, payload in frames if opcode == Opcode.TEXT]
    cursors = [
        m["payload"]["data"]["caseEvents"]["cursor"] for m in messages if m["type"] == "next"
    ]
    assert len(cursors) == len(set(cursors)) > 1  # whole messages, none twice
    assert writes.unwritten  # a partial write happened
    assert writes.second_thread_wrote


class _Transport:
    """What a gathered socket's transport is asked for: whether it closes, and the rest."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        self.written.append(data)


class _Socket:
    """A socket as ``FanOutWrites`` sees it (``DirectSocket``): its descriptor, its transport
    and where a fan-out gathered it."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.transport = _Transport()
        self.gathered: object = None
        self.gathered_at = 0


@contextlib.contextmanager
def _fanned_out(count: int) -> Iterator[tuple[list[socket.socket], list[Any]]]:
    """``count`` socket pairs, and one fan-out that writes ``event <i>`` to the i-th: yields
    the receiving ends, and the sockets as the fan-out saw them."""
    pairs = [socket.socketpair() for _ in range(count)]
    try:
        protocols: list[Any] = [_Socket(ours.fileno()) for ours, _ in pairs]
        with serving.writes_together():
            fan_out = serving._FAN_OUT.get()
            assert fan_out is not None
            for i, protocol in enumerate(protocols):
                fan_out.add(protocol, b"event %d" % i)
        yield [theirs for _, theirs in pairs], protocols
    finally:
        for ours, theirs in pairs:
            ours.close()
            theirs.close()


def test_writes_gathered_within_another_gathering_wait_for_its_end_and_keep_their_order() -> None:
    ours, theirs = socket.socketpair()
    try:
        protocol: Any = _Socket(ours.fileno())
        with serving.writes_together():
            fan_out = serving._FAN_OUT.get()
            assert fan_out is not None
            fan_out.add(protocol, b"first ")
            with serving.writes_together():
                inner = serving._FAN_OUT.get()
                assert inner is fan_out  # the outermost gathering writes
                inner.add(protocol, b"second")
            theirs.setblocking(False)
            with pytest.raises(BlockingIOError):
                theirs.recv(100)  # nothing written yet
        theirs.setblocking(True)
        assert theirs.recv(100) == b"first second"
        assert protocol.transport.written == []
    finally:
        ours.close()
        theirs.close()


def test_each_gathering_writes_a_socket_what_was_gathered_for_it_there_once() -> None:
    ours, theirs = socket.socketpair()
    try:
        protocol: Any = _Socket(ours.fileno())
        for message in (b"first ", b"second ", b"third"):
            with serving.writes_together():
                fan_out = serving._FAN_OUT.get()
                assert fan_out is not None
                fan_out.add(protocol, message)
            assert theirs.recv(100) == message  # written at the end of its own gathering
        assert protocol.transport.written == []
    finally:
        ours.close()
        theirs.close()


def test_without_a_second_thread_to_be_had_the_loops_thread_writes_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stopped = ThreadPoolExecutor(1)
    stopped.shutdown()  # as at the interpreter's exit: submit() refuses
    monkeypatch.setattr(serving, "_second_thread", lambda: stopped)
    monkeypatch.setattr(serving, "FAN_OUT_THREAD_FROM", 2)
    with _fanned_out(3) as (received, _):
        assert [theirs.recv(100) for theirs in received] == [b"event 0", b"event 1", b"event 2"]


def test_two_threads_taking_runs_write_each_socket_its_bytes_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(serving, "WRITE_RUN", 3)
    writers: dict[int, str] = {}
    write = serving._write_past_transports

    def seen(socks: list[Any], datas: list[bytes], run: range) -> list[Any]:
        for index in run:
            assert index not in writers
            writers[index] = threading.current_thread().name
        return write(socks, datas, run)

    monkeypatch.setattr(serving, "_write_past_transports", seen)
    with _fanned_out(3 * serving.FAN_OUT_THREAD_FROM) as (received, protocols):
        assert sorted(writers) == list(range(len(received)))
        for i, theirs in enumerate(received):
            theirs.setblocking(False)
            assert theirs.recv(100) == b"event %d" % i
            with pytest.raises(BlockingIOError):
                theirs.recv(100)  # nothing more
        assert all(p.transport.written == [] for p in protocols)
