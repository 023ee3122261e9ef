"""Many feed subscribers from several client processes, each a lean WebSocket client.

One Python process cannot hold 10,000 ``websockets`` client connections cheaply, and the time
it spends decoding 10,000 messages would be measured as the server's. So the subscribers are
spread over worker processes (``PER_WORKER`` each, started with ``spawn``, on ``uvloop`` as
the service runs); each worker speaks just enough WebSocket over plain non-blocking sockets:
the opening handshake, masked client frames (``websockets.frames``), ``graphql-transport-ws``
(``connection_init``, ``subscribe``, answering pings), and for every ``next`` message it
records two arrival times under the event's ``version`` without decoding the JSON:

* ``received``: when the message reached the subscriber's socket, the kernel's receive
  timestamp of its segment (``SO_TIMESTAMPNS``, read with ``recvmsg``). A read's stamp is
  that of the last segment it reads (a segment that arrives while an earlier one still waits
  unread is merged into it and gives it its stamp). So when the same read also brings part of
  a later frame (the server's keep-alive ping, every 20 s per connection), the stamp is that
  frame's, and the message's own arrival is unknown: such stamps are kept apart (``later``,
  with the kinds of frame that came after in ``later_frames``);
* ``arrivals``: when the worker's own Python got to it (``time.perf_counter`` as it reads).

Both are on ``CLOCK_MONOTONIC`` (the kernel's stamp is on the real-time clock and is moved
onto the monotonic one by the offset between the two read at the same moment), one clock for
every process of the machine. The second also holds the worker's own scheduling: with
thousands of subscribers in a few processes on a small machine, a worker that is still reading
the sockets before a socket stamps that socket's message late, although the message was
there. The bench process asks each worker for the times of one version over a pipe.

A worker can also hold its reads (``ClientPool.hold``): it stops watching its sockets until
the next ``wait_for`` has waited ``release_after`` seconds. The kernel still receives and
stamps every message meanwhile, so ``received`` is unchanged; only the workers' own reading
no longer takes the machine's cores while the service fans an event out. (A ping that
reaches a held socket after the message is what moves a message into ``later``.)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import multiprocessing
import os
import re
import socket
import struct
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from websockets.frames import Frame, Opcode

PER_WORKER = 1000
OPEN_PARALLEL = 50
_VERSION = re.compile(rb'"version": ?(\d+)')
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; not named in every Python
_ANCILLARY = socket.CMSG_SPACE(16)  # one struct timespec
_TIMESPEC = struct.Struct("@qq")
_FRAME_NAMES = {opcode.value: opcode.name for opcode in Opcode}


def _frame(data: bytes, opcode: Opcode = Opcode.TEXT) -> bytes:
    return Frame(opcode, data).serialize(mask=True)


def take_frames(buffer: bytearray) -> Iterator[tuple[int, bytes, int | None]]:
    """Take each whole server frame from the front of ``buffer``: its opcode, its payload, and
    the opcode of what follows it in ``buffer`` (``None`` when nothing does). A frame read
    last is stamped with its own segment's arrival; one followed by part of a later frame is
    stamped with that frame's (see the module's doc)."""
    while len(buffer) >= 2:
        length = buffer[1] & 0x7F
        start = 2
        if length == 126:
            if len(buffer) < 4:
                return
            length, start = int.from_bytes(buffer[2:4], "big"), 4
        elif length == 127:
            if len(buffer) < 10:
                return
            length, start = int.from_bytes(buffer[2:10], "big"), 10
        if len(buffer) < start + length:
            return
        opcode = buffer[0] & 0x0F
        payload = bytes(buffer[start : start + length])
        del buffer[: start + length]
        yield opcode, payload, buffer[0] & 0x0F if buffer else None


class _Subscriber:
    """One WebSocket subscribed to ``caseEvents`` on a non-blocking socket; arrivals go to its
    worker."""

    def __init__(self, worker: _Worker, sock: socket.socket) -> None:
        self.worker = worker
        self.sock = sock
        self.buffer = bytearray()
        self.upgraded = False
        self.closed = False
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        key = base64.b64encode(os.urandom(16)).decode()
        target = worker.target
        self._write(
            (
                f"GET /graphql HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
            ).encode()
        )

    def _write(self, data: bytes) -> None:
        # A few hundred bytes into an empty send buffer: the kernel takes them whole.
        self.sock.sendall(data)

    def _send(self, message: dict[str, Any]) -> None:
        self._write(_frame(json.dumps(message).encode()))

    def readable(self) -> None:
        """The socket has data: read it with the kernel's receive timestamp."""
        arrived = time.perf_counter()
        try:
            data, ancillary, _flags, _address = self.sock.recvmsg(65536, _ANCILLARY)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancillary = b"", []
        if not data:
            self.lost()
            return
        received = arrived
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                seconds, nanoseconds = _TIMESPEC.unpack_from(value)
                # Real-time clock -> the monotonic clock every process reads.
                received = seconds + nanoseconds * 1e-9 - (time.time() - time.perf_counter())
        self.data_received(data, arrived, received)

    def lost(self) -> None:
        if self.closed:
            return
        self.closed = True
        asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.sock.close()
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError("closed while subscribing"))
        elif not self.worker.closing:
            self.worker.errors.append("connection lost")

    def data_received(self, data: bytes, arrived: float, received: float) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            del self.buffer[: end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self.subscribed.set_exception(ConnectionError(head[:80].decode("latin-1")))
                return
            self.upgraded = True
            self._send(
                {
                    "type": "connection_init",
                    "payload": {"Authorization": f"Bearer {self.worker.target.token}"},
                }
            )
        for opcode, payload, after in take_frames(self.buffer):
            if opcode == Opcode.TEXT:
                self._text(payload, arrived, received, after)
            elif opcode == Opcode.PING:
                self._write(_frame(payload, Opcode.PONG))
            elif opcode == Opcode.CLOSE:
                self.worker.errors.append(f"closed by the server: {payload[:80]!r}")

    def _text(self, payload: bytes, arrived: float, received: float, after: int | None) -> None:
        if b'"next"' in payload and b'"errors"' not in payload:
            match = self.worker.target.match
            if match is not None and match not in payload:
                return  # another case's event: not timed
            found = _VERSION.search(payload)
            if found is not None:
                self.worker.arrived(int(found.group(1)), arrived, received, after)
                return
        if b'"connection_ack"' in payload:
            self._send(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": self.worker.target.query,
                        "variables": {"after": self.worker.target.after},
                    },
                }
            )
            if not self.subscribed.done():
                self.subscribed.set_result(None)
            return
        self.worker.errors.append(payload[:300].decode("utf-8", "replace"))


@dataclass(frozen=True)
class _Target:
    """Where a worker's subscribers connect, as whom, and what they subscribe to; with
    ``match``, only messages holding those bytes are timed."""

    host: str
    port: int
    token: str
    after: str
    query: str
    match: bytes | None


class _Worker:
    def __init__(self, target: _Target, count: int) -> None:
        self.target = target
        self.count = count
        self.subscribers: list[_Subscriber] = []
        self.arrivals: dict[int, list[float]] = defaultdict(list)
        self.received: dict[int, list[float]] = defaultdict(list)
        self.later: dict[int, list[float]] = defaultdict(list)
        self.later_frames: Counter[str] = Counter()
        self.waiting: dict[int, asyncio.Event] = {}
        self.errors: list[str] = []
        self.closing = False
        self.held = False

    def hold(self) -> None:
        """Stop reading the sockets until ``release``."""
        loop = asyncio.get_running_loop()
        for sub in self.subscribers:
            if not sub.closed:
                loop.remove_reader(sub.sock.fileno())
        self.held = True

    def release(self) -> None:
        loop = asyncio.get_running_loop()
        for sub in self.subscribers:
            if not sub.closed:
                loop.add_reader(sub.sock.fileno(), sub.readable)
        self.held = False

    def arrived(self, version: int, at: float, received: float, after: int | None) -> None:
        got = self.arrivals[version]
        got.append(at)
        if after is None:
            self.received[version].append(received)
        else:
            self.later[version].append(received)
            self.later_frames[_FRAME_NAMES.get(after, "other")] += 1
        if len(got) >= len(self.subscribers) and version in self.waiting:
            self.waiting[version].set()

    async def _one(self) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            await loop.sock_connect(sock, (self.target.host, self.target.port))
        except BaseException:
            sock.close()
            raise
        sub = _Subscriber(self, sock)
        loop.add_reader(sock.fileno(), sub.readable)
        try:
            await asyncio.wait_for(sub.subscribed, 120)
        except BaseException:
            sub.lost()
            raise
        self.subscribers.append(sub)

    async def open(self) -> tuple[int, list[str]]:
        failures: list[str] = []
        for start in range(0, self.count, OPEN_PARALLEL):
            batch = min(OPEN_PARALLEL, self.count - start)
            done = await asyncio.gather(
                *(self._one() for _ in range(batch)), return_exceptions=True
            )
            failures += [repr(e)[:200] for e in done if isinstance(e, BaseException)]
        return len(self.subscribers), failures[:3]

    async def wait(
        self, version: int, seconds: float
    ) -> tuple[list[float], list[float], list[float]]:
        """When ``version`` reached each subscriber: read by this worker, stamped by the
        kernel, and stamped with a later frame's arrival (the message's own is unknown)."""
        event = self.waiting.setdefault(version, asyncio.Event())
        if len(self.arrivals[version]) < len(self.subscribers):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), seconds)
        return (
            list(self.arrivals.pop(version, [])),
            list(self.received.pop(version, [])),
            list(self.later.pop(version, [])),
        )

    def close(self) -> None:
        self.closing = True
        for sub in self.subscribers:
            sub.lost()


async def _serve(pipe: Connection, worker: _Worker) -> None:
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
    loop.add_reader(pipe.fileno(), lambda: commands.put_nowait(pipe.recv()))
    while True:
        command = await commands.get()
        if command[0] == "open":
            pipe.send(("opened", *(await worker.open())))
        elif command[0] == "hold":
            worker.hold()
            pipe.send(("held",))
        elif command[0] == "wait":
            if worker.held:
                await asyncio.sleep(command[3])
                worker.release()
            arrivals, received, later = await worker.wait(command[1], command[2])
            frames = dict(worker.later_frames)
            worker.later_frames.clear()
            pipe.send(("arrived", arrivals, worker.errors[:3], received, later, frames))
        elif command[0] == "close":
            worker.close()
            await asyncio.sleep(0.5)
            pipe.send(("closed",))
            return


def _worker_main(pipe: Connection, target: _Target, count: int) -> None:
    import uvloop  # as the service runs: the clients' own overhead stays small

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve(pipe, _Worker(target, count)))


class ClientPool:
    """``count`` subscribers over ``ceil(count / PER_WORKER)`` worker processes; with
    ``match``, only messages holding those bytes (e.g. one case's quoted global id) are timed."""

    def __init__(
        self, port: int, token: str, after: str, query: str, match: bytes | None = None
    ) -> None:
        self.target = _Target("127.0.0.1", port, token, after, query, match)
        self.pipes: list[Connection] = []
        self.processes: list[Any] = []
        # By version: when each subscriber's worker read the message, and when it reached the
        # subscriber's socket (the kernel's receive timestamp; see the module's doc).
        self.arrivals: dict[int, list[float]] = defaultdict(list)
        self.received: dict[int, list[float]] = defaultdict(list)
        # By version: the kernel's stamps of reads in which a later frame (a keep-alive ping)
        # came after the message; and how many such reads there were, by that frame's kind.
        self.later: dict[int, list[float]] = defaultdict(list)
        self.later_frames: dict[int, Counter[str]] = defaultdict(Counter)
        self.errors: list[str] = []
        self.expected = 0

    async def _ask(self, pipe: Connection, command: tuple[Any, ...]) -> Any:
        pipe.send(command)
        return await asyncio.to_thread(pipe.recv)

    async def open(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        workers = max(1, math.ceil(count / PER_WORKER))
        for index in range(workers):
            share = count // workers + (1 if index < count % workers else 0)
            mine, theirs = context.Pipe()
            process = context.Process(
                target=_worker_main,
                args=(theirs, self.target, share),
                daemon=True,
            )
            process.start()
            self.pipes.append(mine)
            self.processes.append(process)
        replies = await asyncio.gather(*(self._ask(p, ("open",)) for p in self.pipes))
        self.expected = sum(r[1] for r in replies)
        for reply in replies:
            self.errors += reply[2]
        if self.expected < count:
            raise RuntimeError(
                f"feed: only {self.expected} of {count} subscribers connected: {self.errors[:3]}"
            )

    async def hold(self) -> None:
        """Every worker stops reading until the next ``wait_for`` releases it."""
        await asyncio.gather(*(self._ask(p, ("hold",)) for p in self.pipes))

    async def wait_for(self, version: int, seconds: float, release_after: float = 0.0) -> bool:
        """Wait for ``version`` at every subscriber (held workers first wait
        ``release_after`` seconds, then read)."""
        replies = await asyncio.gather(
            *(self._ask(p, ("wait", version, seconds, release_after)) for p in self.pipes)
        )
        for reply in replies:
            self.arrivals[version] += reply[1]
            self.received[version] += reply[3]
            self.later[version] += reply[4]
            self.later_frames[version].update(reply[5])
            self.errors += [e for e in reply[2] if e not in self.errors][:3]
        return len(self.arrivals[version]) >= self.expected

    async def close(self) -> None:
        await asyncio.gather(
            *(self._ask(p, ("close",)) for p in self.pipes), return_exceptions=True
        )
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.terminate()
