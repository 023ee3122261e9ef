"""How the API is served: uvicorn with limits and timeouts a hostile client cannot outlast.

* HTTP/1.1 through httptools (llhttp), with a limit of our own on header size, which
  llhttp does not have: a request's head (its target and header lines) may take at most
  ``MAX_HEADER_BYTES``, measured as it is parsed, and an unfinished head is cut off once the
  bytes received for it pass that (an 8 MB ``Authorization`` header is refused with 400 after
  the first 16 KiB and at most one read beyond, never buffered in full);
* a connection has ``REQUEST_READ_SECONDS`` to deliver a whole request, headers and body,
  from the moment it opens or its previous response ends; idle or half-sent connections
  (slowloris) are closed after that. Between requests, keep-alive lasts ``KEEP_ALIVE_SECONDS``;
* WebSocket messages are limited to ``MAX_WS_MESSAGE_BYTES`` and not compressed;
* a WebSocket peer that stops reading is closed with **4429** ``SUBSCRIBER_TOO_SLOW``: when
  what the server has for it stays above the write buffer's high-water mark
  (``WS_WRITE_HIGH_WATER_BYTES``) for ``WS_WRITE_STALL_SECONDS``, or more than
  ``WS_MAX_PENDING_BYTES`` wait to be written. Nothing more is queued for it; the close frame
  follows what is pending, and the connection is cut ``WS_CLOSE_GRACE_SECONDS`` later if the
  peer reads nothing. (Without this it would hang until the ping timeout, with no reason.)
  The feed's fan-out writes shared messages straight to the socket through the ASGI scope
  extension ``DIRECT_TEXT_EXTENSION`` while the socket is writable (``DirectSocket``); within
  ``writes_together`` those writes are gathered and made at its end, from two threads when
  there are many (``FanOutWrites``);
* uvicorn's own access log is off: the request gate writes one without query strings;
* a response's head leaves with the first part of its body, in one write (``_HeadWithBody``).

A reverse proxy in front should still apply its own, stricter timeouts (docs/security.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import struct
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

MAX_HEADER_BYTES = 16 * 1024
REQUEST_READ_SECONDS = 20.0
KEEP_ALIVE_SECONDS = 5
MAX_WS_MESSAGE_BYTES = 1024 * 1024
WS_WRITE_HIGH_WATER_BYTES = 64 * 1024
WS_WRITE_STALL_SECONDS = 10.0
WS_MAX_PENDING_BYTES = 1024 * 1024
WS_CLOSE_GRACE_SECONDS = 10.0
TOO_SLOW_CLOSE_CODE = 4429
TOO_SLOW_REASON = "SUBSCRIBER_TOO_SLOW"
# ASGI scope extension: ``scope["extensions"][DIRECT_TEXT_EXTENSION].send(data) -> bool``
# writes one text message (UTF-8 bytes) now, or returns False when the socket cannot take it
# now (the object is the connection's ``DirectSocket``).
DIRECT_TEXT_EXTENSION = "safe_future.websocket.direct_text"
# Sockets written in one fan-out from which a second thread writes beside the loop's.
FAN_OUT_THREAD_FROM = 64
# Sockets a writing thread takes at a time (``FanOutWrites``).
WRITE_RUN = 32


class HeadTooLarge(Exception):
    """A request's head passed ``MAX_HEADER_BYTES`` (raised inside the parser's callback)."""


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on a request's header bytes and a deadline
    for reading each whole request."""

    request_read_seconds = REQUEST_READ_SECONDS
    max_header_bytes = MAX_HEADER_BYTES

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._read_deadline: asyncio.TimerHandle | None = None
        self._in_headers = True  # the next bytes belong to a request's head
        self._head_bytes = 0
        self._unanswered = 0  # whole requests received and not yet answered
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
        if not self._unanswered and not self.transport.is_closing():
            self.transport.close()  # idle, or a request still arriving

    def data_received(self, data: bytes) -> None:
        # Until its head is complete, every byte a request sends belongs to its head; the
        # parser keeps an unfinished header's bytes, so the count stops it after one read.
        if self._in_headers:
            self._head_bytes += len(data)
        super().data_received(data)
        if (
            self._in_headers
            and self._head_bytes > self.max_header_bytes
            and not self.transport.is_closing()
        ):
            self.send_400_response("Request header fields too large.")

    def on_message_begin(self) -> None:
        self._head_size = 0  # the request line's target and the header lines, as parsed
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # A head that came whole within one read is measured here: past the limit, parsing
        # stops, and the parser's error is answered with 400.
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self.max_header_bytes:
            raise HeadTooLarge(self._head_size)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        cycle = self.cycle
        super().on_headers_complete()
        if self.cycle is not None and self.cycle is not cycle:  # a new request's cycle
            self.cycle.transport = _HeadWithBody(self.transport, self.loop)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        if self.cycle is not None and not self.cycle.response_complete:
            self._unanswered += 1
        self._in_headers = True
        self._head_bytes = 0
        if self._unanswered:
            self._disarm()  # the whole request is in
        # else it was answered before its body was in (413), and the deadline armed then
        # runs on for the next request
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self._unanswered = max(0, self._unanswered - 1)
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


class _HeadWithBody:
    """The transport as one request's response cycle writes to it.

    uvicorn writes a response's head (status line and headers) and then each part of its
    body, one write (one system call) each. Here the head waits for the first body part and
    both go out in one write: for the API's responses, which come whole, one system call
    instead of two. A head that no body follows in the same turn of the loop (a streamed
    export, or a peer not reading) goes out on its own at the end of that turn. An interim
    response (``100 Continue``) is written at once: the client waits for it to send its body.
    """

    __slots__ = ("_head", "_loop", "_started", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None
        self._started = False

    def write(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head + data)
        elif self._started or data.startswith(b"HTTP/1.1 1"):
            self._transport.write(data)
        else:
            self._started = True
            self._head = data
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        head, self._head = self._head, None
        if head is not None and not self._transport.is_closing():
            self._transport.write(head)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self.flush()
        self._transport.close()


def _text_frame_header(length: int) -> bytes:
    """RFC 6455 5.2: FIN and opcode 1, no mask, then the payload length."""
    if length < 126:
        return bytes((0x81, length))
    if length < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, length)
    return struct.pack("!BBQ", 0x81, 127, length)


class _LastFrame:
    """The frame of the last message written straight to a socket: the feed's fan-out writes
    one message object to every subscriber that shares it, so it is framed once."""

    data: bytes | None = None
    frame: bytes = b""

    @classmethod
    def of(cls, data: bytes) -> bytes:
        if data is not cls.data:  # holding ``data`` keeps its identity from being reused
            cls.frame = _text_frame_header(len(data)) + data
            cls.data = data
        return cls.frame


class DirectSocket:
    """What a fan-out reads of each subscriber's socket, kept in one small object.

    A fan-out to 10,000 subscribers asks 10,000 sockets whether each can take a message now;
    the protocol's own attributes lie spread over its large instance dictionary, and reading
    them was most of the fan-out's Python. So the protocol's flags that decide it
    (``handshake_complete``, ``close_sent``, ``disconnected``, writing paused) write through
    to this object (``GuardedWebSocketProtocol``'s properties), which keeps their verdict in
    ``ready``, beside the socket's descriptor and its transport.

    The connection's own state (``conn.state``) needs no look here: every way out of OPEN
    (a close frame received or sent, a protocol error, the server's shutdown) sets
    ``close_sent`` or closes the transport in the same call, before the loop runs anything
    else. The protocol's ``send_text_now``, for the queue's path, checks it all the same.
    """

    __slots__ = (
        "close_sent",
        "disconnected",
        "fd",
        "gathered",
        "gathered_at",
        "handshake_complete",
        "paused",
        "protocol",
        "ready",
        "transport",
    )

    def __init__(self, protocol: GuardedWebSocketProtocol) -> None:
        self.protocol = protocol
        self.transport: asyncio.Transport | None = None
        # The socket a fan-out may write to past the transport: a plain one, framed plainly
        # (no TLS, whose bytes the transport would have to encrypt; no extension).
        self.fd: int | None = None
        self.handshake_complete = False
        self.close_sent = False
        self.disconnected = False
        self.paused = False
        self.ready = False
        # The fan-out that last gathered a message for this socket, and where (``FanOutWrites``).
        self.gathered: FanOutWrites | None = None
        self.gathered_at = 0

    def judge(self) -> None:
        self.ready = self.handshake_complete and not (
            self.close_sent or self.disconnected or self.paused
        )

    def send(self, data: bytes) -> bool:
        """Write one text message (UTF-8 bytes) at once; False when the socket cannot take
        it now. Within ``writes_together``, a socket with nothing pending in its transport is
        gathered and written at its end."""
        if not self.ready:
            return False
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        fan_out = _FAN_OUT.get()
        if fan_out is not None and self.fd is not None and transport.get_write_buffer_size() == 0:
            fan_out.add(self, _LastFrame.frame if data is _LastFrame.data else _LastFrame.of(data))
            return True
        return self.protocol.send_text_now(data)


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol that closes a peer which stops reading, and lets the feed
    write a message without an ASGI round trip (``DirectSocket``)."""

    write_high_water_bytes = WS_WRITE_HIGH_WATER_BYTES
    write_stall_seconds = WS_WRITE_STALL_SECONDS
    max_pending_bytes = WS_MAX_PENDING_BYTES
    close_grace_seconds = WS_CLOSE_GRACE_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._direct = DirectSocket(self)  # before uvicorn sets the flags it holds
        super().__init__(*args, **kwargs)

    # uvicorn's flags, kept in ``DirectSocket`` for the fan-out (its docstring says why).
    @property
    def handshake_complete(self) -> bool:
        return self._direct.handshake_complete

    @handshake_complete.setter
    def handshake_complete(self, value: bool) -> None:
        direct = self._direct
        direct.handshake_complete = value
        conn = getattr(self, "conn", None)
        if value and conn is not None and conn.extensions:
            direct.fd = None  # frames with an extension are the connection's to make
        direct.judge()

    @property
    def close_sent(self) -> bool:
        return self._direct.close_sent

    @close_sent.setter
    def close_sent(self, value: bool) -> None:
        self._direct.close_sent = value
        self._direct.judge()

    @property
    def disconnected(self) -> bool:
        return self._direct.disconnected

    @disconnected.setter
    def disconnected(self, value: bool) -> None:
        self._direct.disconnected = value
        self._direct.judge()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._stall: asyncio.TimerHandle | None = None
        self.transport.set_write_buffer_limits(high=self.write_high_water_bytes)
        sock = transport.get_extra_info("socket")
        plain = transport.get_extra_info("ssl_object") is None
        direct = self._direct
        direct.transport = self.transport
        direct.fd = sock.fileno() if sock is not None and plain else None

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][DIRECT_TEXT_EXTENSION] = self._direct

    def send_text_now(self, data: bytes) -> bool:
        """Write one text message through the transport at once; False when the socket
        cannot take it now."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.transport.is_closing()
            or self.conn.state is not State.OPEN
        ):
            return False
        if self.conn.extensions:
            self.conn.send_text(data)
            self.transport.write(b"".join(self.conn.data_to_send()))
        else:  # one unmasked, unfragmented text frame, as the protocol object would write it
            # Past the high-water mark the transport calls pause_writing, which checks the bound.
            self.transport.write(_LastFrame.of(data))
        return True

    def _check_pending(self) -> None:
        if self.transport.get_write_buffer_size() > self.max_pending_bytes:
            self.too_slow()

    def pause_writing(self) -> None:
        self._direct.paused = True
        self._direct.judge()
        super().pause_writing()
        if self._stall is None:
            self._stall = self.loop.call_later(self.write_stall_seconds, self.too_slow)
        self._check_pending()

    def resume_writing(self) -> None:
        self._direct.paused = False
        self._direct.judge()
        super().resume_writing()
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def too_slow(self) -> None:
        """Close with 4429 SUBSCRIBER_TOO_SLOW: the app sees a disconnect and ends its
        subscriptions; the peer gets the close frame after what is pending, if it reads."""
        self._stall = None
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return
        self.stop_keepalive()
        self.queue.put_nowait(
            {"type": "websocket.disconnect", "code": TOO_SLOW_CLOSE_CODE, "reason": TOO_SLOW_REASON}
        )
        self.conn.send_close(TOO_SLOW_CLOSE_CODE, TOO_SLOW_REASON)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.transport.close()  # once what is pending is written
        self.close_timer = self.loop.call_later(self.close_grace_seconds, self.transport.abort)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        super().connection_lost(exc)


class FanOutWrites:
    """The direct writes of one fan-out, gathered while it runs and made at its end.

    The fan-out writes one small message to each of many sockets, each write a system call
    that takes the loop's thread for some microseconds. Gathered, the writes are made after
    the fan-out's Python work, and from ``FAN_OUT_THREAD_FROM`` sockets on, from two threads
    (``os.write`` releases the interpreter lock during the call): the loop's thread and a
    second one take the sockets in runs of ``WRITE_RUN`` from one shared count
    (``_Runs``), so the thread whose core is less disturbed takes more, and both end
    together. Meanwhile nothing else runs on the loop, so no other write reaches these sockets
    in between.

    Only sockets whose transports held nothing unwritten are gathered (a socket with bytes
    pending is written through its transport, after them, as before), and each socket is
    gathered once: a second message for it (two subscriptions on one connection) is appended
    to the first, so its messages keep their order and one thread writes them. What a socket
    does not take at once (its kernel buffer full, or an error) is handed to its transport
    after both threads are done: nothing was written past it, so the order holds, and the
    transport buffers, pauses, reports a broken connection or closes a slow reader as it does
    for any write.
    """

    __slots__ = ("_datas", "_socks")

    def __init__(self) -> None:
        # The sockets and their bytes as two lists (no pair allocated per socket: a fan-out
        # to 10,000 would otherwise bring a young collection into the middle of its writes).
        # A socket notes where it was gathered (``gathered``, ``gathered_at``): a second
        # message for it in the same fan-out joins the first without a lookup.
        self._socks: list[DirectSocket] = []
        self._datas: list[bytes] = []

    def add(self, sock: DirectSocket, data: bytes) -> None:
        if sock.gathered is self:
            self._datas[sock.gathered_at] += data
        else:
            sock.gathered = self
            sock.gathered_at = len(self._socks)
            self._socks.append(sock)
            self._datas.append(data)

    def write(self) -> None:
        socks, datas = self._socks, self._datas
        self._socks, self._datas = [], []
        runs = _Runs(len(socks))
        unwritten: list[tuple[DirectSocket, bytes]] = []
        if len(socks) >= FAN_OUT_THREAD_FROM:
            try:
                other = _second_thread().submit(_write_runs, socks, datas, runs)
            except RuntimeError:  # the interpreter is shutting down: this thread writes all
                pass
            else:
                unwritten = _write_runs(socks, datas, runs)
                unwritten += other.result()
        unwritten += _write_runs(socks, datas, runs)  # all, or nothing left
        for sock, rest in unwritten:
            transport = sock.transport
            if transport is not None and not transport.is_closing():
                transport.write(rest)


class _Runs:
    """Hands out the next run of ``WRITE_RUN`` sockets of a fan-out to whichever thread asks,
    each run once."""

    __slots__ = ("_lock", "_next", "count")

    def __init__(self, count: int) -> None:
        self.count = count
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> range:
        """The next run (empty once every socket was handed out)."""
        with self._lock:
            start = self._next
            end = self._next = min(start + WRITE_RUN, self.count)
        return range(start, end)


def _write_runs(
    socks: list[DirectSocket], datas: list[bytes], runs: _Runs
) -> list[tuple[DirectSocket, bytes]]:
    """Take runs until none is left and write each socket's bytes with one system call;
    returns what each did not take."""
    unwritten = []
    while run := runs.take():
        unwritten += _write_past_transports(socks, datas, run)
    return unwritten


def _write_past_transports(
    socks: list[DirectSocket], datas: list[bytes], run: range
) -> list[tuple[DirectSocket, bytes]]:
    """Write the bytes of the sockets in ``run``, one system call each; returns what each did
    not take."""
    unwritten = []
    for index in run:
        sock = socks[index]
        data = datas[index]
        fd = sock.fd
        try:
            sent = 0 if fd is None else os.write(fd, data)
        except OSError:  # its buffer is full, or the connection broke: the transport decides
            sent = 0
        if sent < len(data):
            unwritten.append((sock, data[sent:]))
    return unwritten


_FAN_OUT: contextvars.ContextVar[FanOutWrites | None] = contextvars.ContextVar(
    "fan_out", default=None
)
_threads: list[ThreadPoolExecutor] = []


def _second_thread() -> ThreadPoolExecutor:
    """The fan-outs' second writer, started by the first fan-out that needs it."""
    if not _threads:
        _threads.append(ThreadPoolExecutor(1, thread_name_prefix="fan-out-writes"))
    return _threads[0]


@contextlib.contextmanager
def writes_together() -> Iterator[None]:
    """The feed's direct writes made within (no ``await`` in between) are gathered and made
    at its end (``FanOutWrites``); nested, the outermost one writes."""
    if _FAN_OUT.get() is not None:
        yield
        return
    fan_out = FanOutWrites()
    token = _FAN_OUT.set(fan_out)
    try:
        yield
    finally:
        _FAN_OUT.reset(token)
        fan_out.write()


def server_config(app: ASGIApp, host: str, port: int, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration ``safe-future serve`` (and the tests' live server) use."""
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "http": GuardedHttpProtocol,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "ws": GuardedWebSocketProtocol,
        "ws_max_size": MAX_WS_MESSAGE_BYTES,
        # Compressing every event once per subscriber costs more CPU than the bytes it saves.
        "ws_per_message_deflate": False,
        "log_config": None,
        "access_log": False,  # the request gate writes its own, without query strings
        "server_header": False,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)
