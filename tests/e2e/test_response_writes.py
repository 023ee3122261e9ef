"""What reaches the socket, served by uvicorn as ``safe-future serve`` serves: a whole
response (head and body) in one write, a streamed one whole and in order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest

from service.app import create_app
from service.config import Settings
from service.graphiql import STATIC_DIR
from service.serving import GuardedHttpProtocol
from tests.conftest import Database
from tests.e2e.conftest import served


class _Recording:
    """A connection's transport that notes every write before passing it on."""

    def __init__(self, transport: Any, writes: list[bytes]) -> None:
        self._transport = transport
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _WritesRecorded(GuardedHttpProtocol):
    recorded: ClassVar[list[list[bytes]]] = []

    def connection_made(self, transport: Any) -> None:
        writes: list[bytes] = []
        self.recorded.append(writes)
        super().connection_made(_Recording(transport, writes))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
async def recorded_server(settings: Settings, database: Database) -> AsyncIterator[int]:
    async with served(create_app(settings, database.app_url), http=_WritesRecorded) as port:
        yield port


async def _exchange(port: int, request: bytes) -> tuple[bytes, list[bytes]]:
    """Everything the server answered on a connection of its own, and its writes."""
    before = len(_WritesRecorded.recorded)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    async with asyncio.timeout(15):
        answer = await reader.read()
    writer.close()
    (writes,) = _WritesRecorded.recorded[before:]
    return answer, writes


async def test_a_graphql_answer_leaves_in_one_write(recorded_server: int) -> None:
    body = json.dumps({"query": "{ __typename }"}).encode()
    answer, writes = await _exchange(
        recorded_server,
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
    )
    assert answer.startswith(b"HTTP/1.1 401"), answer[:100]  # no token: the gate answers
    assert writes == [answer]


async def test_an_interim_continue_comes_before_the_body_is_sent(recorded_server: int) -> None:
    body = json.dumps({"query": "{ __typename }"}).encode()
    before = len(_WritesRecorded.recorded)
    reader, writer = await asyncio.open_connection("127.0.0.1", recorded_server)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\n"
        b"Authorization: Bearer x\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    await writer.drain()
    async with asyncio.timeout(15):
        interim = await reader.readuntil(b"\r\n\r\n")
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(body)
    await writer.drain()
    async with asyncio.timeout(15):
        answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 401"), answer[:100]
    (writes,) = _WritesRecorded.recorded[before:]
    assert writes == [interim, answer]


async def test_a_streamed_file_arrives_whole(recorded_server: int) -> None:
    expected = (STATIC_DIR / "vendor" / "graphiql.min.js").read_bytes()
    answer, writes = await _exchange(
        recorded_server,
        b"GET /graphiql/vendor/graphiql.min.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Accept-Encoding: identity\r\n\r\n",
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:100]
    assert body == expected
    assert b"".join(writes) == answer
    assert len(writes) > 1  # its parts as they were read, the head with the first or alone
