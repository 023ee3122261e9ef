"""A minimal HTTP/1.1 keep-alive client on asyncio streams: the load generator's own cost.

The bench process shares two cores with the server and PostgreSQL, so its client must cost
as little as possible per request: no connection pool, no header objects, one ``write`` per
request and a ``Content-Length`` (or chunked) body read. One connection per simulated client.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class HttpError(Exception):
    pass


class Connection:
    def __init__(self, port: int, headers: dict[str, str] | None = None) -> None:
        self.port = port
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _ensure(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self._reader, self._writer

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        reader, writer = await self._ensure()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{self.headers}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        writer.write(head.encode() + body)
        status_line = await reader.readline()
        if not status_line:
            self.close()
            raise HttpError("connection closed by the server")
        status = int(status_line.split(b" ", 2)[1])
        length = -1
        chunked = False
        close = False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                length = int(value)
            elif lname == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif lname == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await reader.readline()
                    break
                parts.append(await reader.readexactly(size))
                await reader.readline()
            data = b"".join(parts)
        elif length >= 0:
            data = await reader.readexactly(length)
        else:
            data = await reader.read()
            close = True
        if close:
            self.close()
        return status, data

    async def post_json(self, path: str, payload: Any) -> tuple[int, Any]:
        status, data = await self.request("POST", path, json.dumps(payload).encode())
        return status, json.loads(data) if data else None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


class GraphQL:
    """GraphQL over HTTP with one bearer token on one keep-alive connection."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = Connection(port, {"Authorization": f"Bearer {token}"})

    async def raw(self, query: str, variables: dict[str, Any]) -> tuple[int, bytes]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        return await self.conn.request("POST", "/graphql", body)

    async def execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        status, data = await self.raw(query, variables)
        result: dict[str, Any] = json.loads(data)
        if status != 200 or result.get("errors"):
            raise HttpError(f"HTTP {status}: {data[:400]!r}")
        return result

    def close(self) -> None:
        self.conn.close()
