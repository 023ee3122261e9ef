"""The floor under scenario 4 at 10,000: one uvloop process writing one small WebSocket frame
to each of N loopback sockets, with nothing else to do.

    .venv/bin/python -m bench.fanout_floor [--subscribers 10000] [--rounds 5]
        [--threads 1] [--clients woken|polling] [--order joined|shuffled]

Client processes (1,000 sockets each, as the bench's) hold the sockets and stamp each
frame's arrival with the kernel's receive timestamp (``SO_TIMESTAMPNS``). Per round it prints
the server's wall-clock and CPU time for the writes and the p50 / p99 arrival after the first
write. ``--threads 2`` writes half of the sockets from a second thread (``os.write`` releases
the GIL); ``--clients polling`` makes the clients look at their sockets every 10 ms instead of
sleeping until one has data (so the server's writes wake nobody); ``--order shuffled`` writes
in random order instead of the order the sockets connected. Not a scenario of ``make bench``:
it answers what one process can do at best on this machine (``docs/performance.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import resource
import select
import socket
import struct
import threading
import time
from multiprocessing.connection import Connection

PER_CLIENT = 1000
FRAME = bytes((0x81, 126)) + (300).to_bytes(2, "big") + b"x" * 300
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def _client(port: int, count: int, pipe: Connection, polling: bool) -> None:
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.setblocking(False)
        socks.append(s)
    by_fd = {s.fileno(): s for s in socks}
    poller = select.epoll()
    for fd in by_fd:
        poller.register(fd, select.EPOLLIN)
    poller.register(pipe.fileno(), select.EPOLLIN)
    pipe.send("ready")
    stamps: list[float] = []
    while True:
        if polling:
            time.sleep(0.01)
        for fd, _ in poller.poll(0 if polling else -1):
            if fd == pipe.fileno():
                if pipe.recv() != "get":
                    return
                time.sleep(0.3)
                if polling:  # every frame is in by now
                    _read(poller.poll(0), by_fd, stamps)
                pipe.send(stamps)
                stamps = []
                break
            _read([(fd, 0)], by_fd, stamps)


def _read(ready: list[tuple[int, int]], by_fd: dict[int, socket.socket], out: list[float]) -> None:
    for fd, _ in ready:
        sock = by_fd.get(fd)
        if sock is None:
            continue
        _data, ancillary, _flags, _address = sock.recvmsg(4096, socket.CMSG_SPACE(16))
        for _level, kind, value in ancillary:
            if kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = struct.unpack_from("@qq", value)
                out.append(seconds + nanoseconds * 1e-9)


async def _serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    transports: list[asyncio.Transport] = []
    all_connected = asyncio.Event()

    class Accept(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            transports.append(transport)  # type: ignore[arg-type]
            if len(transports) >= args.subscribers:
                all_connected.set()

    server = await loop.create_server(Accept, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    context = multiprocessing.get_context("spawn")
    pipes = []
    for start in range(0, args.subscribers, PER_CLIENT):
        mine, theirs = context.Pipe()
        count = min(PER_CLIENT, args.subscribers - start)
        polling = args.clients == "polling"
        context.Process(target=_client, args=(port, count, theirs, polling), daemon=True).start()
        pipes.append(mine)
    for pipe in pipes:
        await asyncio.to_thread(pipe.recv)
    await all_connected.wait()
    if args.order == "shuffled":
        random.shuffle(transports)
    fds = [t.get_extra_info("socket").fileno() for t in transports]
    for _ in range(args.rounds):
        await asyncio.sleep(0.3)
        started, cpu = time.time(), time.process_time()
        if args.threads == 1:
            for transport in transports:
                transport.write(FRAME)
        else:
            shares = [fds[i :: args.threads] for i in range(args.threads)]

            def write(share: list[int]) -> None:
                for fd in share:
                    os.write(fd, FRAME)

            helpers = [threading.Thread(target=write, args=(s,)) for s in shares[1:]]
            for helper in helpers:
                helper.start()
            write(shares[0])
            for helper in helpers:
                helper.join()
        wall, cpu = time.time() - started, time.process_time() - cpu
        for pipe in pipes:
            pipe.send("get")
        stamps: list[float] = []
        for pipe in pipes:
            stamps += await asyncio.to_thread(pipe.recv)
        arrived = sorted(t - started for t in stamps)
        p50 = arrived[len(arrived) // 2] if arrived else float("nan")
        p99 = arrived[min(len(arrived) - 1, int(len(arrived) * 0.99))] if arrived else p50
        print(
            f"writes: wall {wall * 1e3:.1f} ms, cpu {cpu * 1e3:.1f} ms; arrival p50 "
            f"{p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms ({len(arrived)} frames)",
            flush=True,
        )
    for pipe in pipes:
        pipe.send("stop")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clients", choices=("woken", "polling"), default="woken")
    parser.add_argument("--order", choices=("joined", "shuffled"), default="joined")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 32768 if hard == resource.RLIM_INFINITY else min(32768, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve(args))


if __name__ == "__main__":
    main()
