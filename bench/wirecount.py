"""Statements per request, counted on the wire between a server and PostgreSQL.

The embedded server has no ``pg_stat_statements`` and the service runs in another process,
so statements cannot be counted inside it. Instead a server under count connects to
PostgreSQL through this proxy (a Unix socket in a folder of its own), which forwards every
byte unchanged and reads the frontend messages as it goes: each simple ``Query`` and each
extended-protocol ``Execute`` is one statement; ``Parse`` and ``Bind`` map an ``Execute``
back to its SQL text, so every statement is counted under its text, including those
asyncpg runs from its statement cache, the pool's pre-ping and ``BEGIN``/``COMMIT``.
``pg_stat_database`` / ``pg_stat_user_tables`` were the alternative; their counters count
transactions or table scans rather than statements, and reach the shared view only when a
backend flushes them (up to 10 s later when idle).

Only the server under count goes through the proxy: the throughput runs connect directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import struct
import tempfile
from collections import Counter
from pathlib import Path

_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104
_SPACE = re.compile(r"\s+")


def kind_of(sql: str) -> str:
    """A short, stable name for a statement: its verb and the tables it names."""
    text = _SPACE.sub(" ", sql.strip().rstrip(";")).strip()
    if not text:
        return "ping (;)"
    head = text.split(" ", 1)[0].upper()
    if head in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
        return head
    if "set_config" in text:
        return "SELECT set_config(app.tenant_id)"
    tables = sorted(set(re.findall(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+([a-z_]+)", text, re.I)))
    return f"{head} {', '.join(tables) if tables else text[:60]}"


class StatementCounter:
    """A counting proxy in front of a PostgreSQL Unix socket (or host and port)."""

    def __init__(self, upstream_dir: str | None, host: str | None = None, port: int = 5432):
        self.upstream_dir = upstream_dir
        self.host = host
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="sf-bench-wire-"))
        self.counts: Counter[str] = Counter()
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def socket_dir(self) -> str:
        return str(self.folder)

    async def start(self) -> None:
        path = self.folder / f".s.PGSQL.{self.port}"
        self._server = await asyncio.start_unix_server(self._serve, path=str(path))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            (self.folder / f".s.PGSQL.{self.port}").unlink()
            self.folder.rmdir()

    def snapshot(self) -> Counter[str]:
        return Counter(self.counts)

    async def _upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.upstream_dir is not None:
            return await asyncio.open_unix_connection(f"{self.upstream_dir}/.s.PGSQL.{self.port}")
        return await asyncio.open_connection(self.host, self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        up_reader, up_writer = await self._upstream()
        back = asyncio.get_running_loop().create_task(self._pipe(up_reader, writer))
        try:
            await self._frontend(reader, up_writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            back.cancel()
            up_writer.close()
            writer.close()
            self._tasks.discard(task)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        dst.close()

    async def _frontend(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        # Untyped start-up packets first: SSL or GSS requests (answered 'N' by the server,
        # then the client sends its start-up message), a start-up or a cancel request.
        while True:
            head = await src.readexactly(4)
            (length,) = struct.unpack("!I", head)
            body = await src.readexactly(length - 4)
            dst.write(head + body)
            code = struct.unpack("!I", body[:4])[0]
            if code not in (_SSL_REQUEST, _GSS_REQUEST):
                break
        statements: dict[bytes, str] = {}
        portals: dict[bytes, str] = {}
        while True:
            head = await src.readexactly(5)
            kind = head[:1]
            (length,) = struct.unpack("!I", head[1:])
            body = await src.readexactly(length - 4)
            dst.write(head + body)
            if kind == b"Q":
                self.counts[kind_of(body[:-1].decode(errors="replace"))] += 1
            elif kind == b"P":
                name, _, rest = body.partition(b"\0")
                statements[name] = rest.partition(b"\0")[0].decode(errors="replace")
            elif kind == b"B":
                portal, _, rest = body.partition(b"\0")
                portals[portal] = statements.get(rest.partition(b"\0")[0], "?")
            elif kind == b"E":
                portal = body.partition(b"\0")[0]
                self.counts[kind_of(portals.get(portal, "?"))] += 1
            elif kind == b"X":
                await dst.drain()
                return
            await dst.drain()


def per_request(before: Counter[str], after: Counter[str], requests: int) -> dict[str, float]:
    """Statements per request by kind between two snapshots."""
    delta = after - before
    return {k: round(n / requests, 2) for k, n in sorted(delta.items())}
