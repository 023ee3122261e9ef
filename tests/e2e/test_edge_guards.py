"""The server's edges: slow and oversized requests, /metrics, and production's error messages."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.config import Settings
from service.serving import MAX_HEADER_BYTES, GuardedHttpProtocol
from tests.conftest import Database, TokenFactory
from tests.e2e.conftest import LiveServer, codes, served
from tests.e2e.test_guards import production  # noqa: F401  (a fixture)

METRICS_TOKEN = "metrics-" + "k" * 32


class _QuickDeadline(GuardedHttpProtocol):
    request_read_seconds = 0.5


@pytest.fixture(scope="module")
async def quick_server(settings: Settings, database: Database) -> AsyncIterator[int]:
    """The app served with a short request deadline; its port."""
    async with served(create_app(settings, database.app_url), http=_QuickDeadline) as port:
        yield port


async def _closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """What the server sent before closing the connection (a hang is a failure)."""
    async with asyncio.timeout(15):
        return await reader.read()


@pytest.mark.parametrize(
    "sent",
    [b"", b"POST /graphql HTTP/1.1\r\nHost: x\r\n", b"POST /graphql HTTP/1.1\r\nHost: x\r\n"
     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\""],
    ids=["idle", "half-sent-headers", "half-sent-body"],
)  # fmt: skip
async def test_idle_and_half_sent_connections_are_closed_by_the_server(
    quick_server: int, sent: bytes
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", quick_server)
    writer.write(sent)
    await writer.drain()
    assert await _closed_by_server(reader) == b""
    writer.close()


async def test_a_connection_delivering_its_request_in_time_is_answered(quick_server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", quick_server)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await writer.drain()
    assert (await _closed_by_server(reader)).startswith(b"HTTP/1.1 200")
    writer.close()


async def test_an_oversized_authorization_header_is_refused_before_it_is_read(
    live_server: LiveServer,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", live_server.port)
    writer.write(b"POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ")
    writer.write(b"a" * 64 * 1024)  # of 8 MB the client would go on sending
    await writer.drain()
    answer = await _closed_by_server(reader)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
    writer.close()


async def test_a_head_trickled_past_the_limit_is_refused(live_server: LiveServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", live_server.port)
    writer.write(b"POST /graphql HTTP/1.1\r\nHost: x\r\n")
    sent, n = 0, 0
    while sent <= MAX_HEADER_BYTES:  # 1 KiB header lines in separate reads, to just past it
        line = b"X-Pad-%d: %s\r\n" % (n, b"p" * 1024)
        writer.write(line)
        await writer.drain()
        sent, n = sent + len(line), n + 1
        await asyncio.sleep(0.01)
    answer = await _closed_by_server(reader)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
    writer.close()


async def test_a_head_past_the_limit_in_one_read_is_refused(live_server: LiveServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", live_server.port)
    pad = b"".join(b"X-Pad-%d: %s\r\n" % (n, b"p" * 1024) for n in range(20))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + pad + b"\r\n")  # whole, 20 KiB
    await writer.drain()
    answer = await _closed_by_server(reader)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
    writer.close()


async def test_a_body_larger_than_the_head_limit_sent_with_its_head_is_read(
    live_server: LiveServer,
) -> None:
    body = json.dumps({"query": "{ me { subject } }", "extensions": {"pad": "x" * 40_000}})
    reader, writer = await asyncio.open_connection("127.0.0.1", live_server.port)
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    writer.write(head + body[:30_000].encode())  # the head and 30 KiB of body in one read
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.write(body[30_000:].encode())
    await writer.drain()
    answer = await _closed_by_server(reader)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:100]  # the app read it: no token
    assert b"UNAUTHENTICATED" in answer
    writer.close()


async def test_pipelined_requests_are_each_answered(live_server: LiveServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", live_server.port)
    writer.write(
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    await writer.drain()
    answer = await _closed_by_server(reader)
    assert answer.count(b"HTTP/1.1 200") == 2, answer[:300]
    writer.close()


async def test_a_connection_answered_before_its_body_came_must_send_the_next_in_time(
    quick_server: int, settings: Settings
) -> None:
    size = settings.max_body_bytes + 1
    reader, writer = await asyncio.open_connection("127.0.0.1", quick_server)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % size
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)
    assert head.startswith(b"HTTP/1.1 413"), head[:100]
    writer.write(b"x" * size)  # the body it declared, then nothing more
    await writer.drain()
    await _closed_by_server(reader)
    writer.close()


async def test_a_long_bearer_token_is_refused_without_verifying_it(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/graphql", json={"query": "{ me { subject } }"},
        headers={"Authorization": "Bearer " + "a" * 10_000},
    )  # fmt: skip
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.fixture(scope="module")
async def metered(settings: Settings, database: Database) -> AsyncIterator[Any]:
    """Clients of an app whose /metrics needs a token: one on loopback, one from elsewhere."""
    app = create_app(dataclasses.replace(settings, metrics_token=METRICS_TOKEN), database.app_url)
    async with app.router.lifespan_context(app):
        local = httpx.ASGITransport(app=app)
        remote = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
        async with (
            httpx.AsyncClient(transport=local, base_url="http://testserver") as near,
            httpx.AsyncClient(transport=remote, base_url="http://testserver") as far,
        ):
            yield near, far


async def test_metrics_need_the_configured_token(metered: Any) -> None:
    near, far = metered
    assert (await near.get("/metrics")).status_code == 401
    wrong = {"Authorization": "Bearer " + "x" * 40}
    assert (await far.get("/metrics", headers=wrong)).status_code == 401
    right = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    assert (await far.get("/metrics", headers=right)).status_code == 200


async def test_without_a_token_metrics_answer_loopback_only(
    settings: Settings, database: Database
) -> None:
    app = create_app(settings, database.app_url)
    async with app.router.lifespan_context(app):
        remote = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
        async with httpx.AsyncClient(transport=remote, base_url="http://testserver") as far:
            assert (await far.get("/metrics")).status_code == 401


async def test_unknown_root_fields_share_one_metrics_label(
    http: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    headers = {"Authorization": f"Bearer {make_token('moviera')}"}
    for i in range(40):
        await http.post("/graphql", json={"query": f"{{ bogusField{i} }}"}, headers=headers)
    text = (await http.get("/metrics")).text
    assert "bogusField" not in text
    assert 'operation="query:unknown"' in text


async def test_production_suggests_no_field_names(
    production: httpx.AsyncClient,  # noqa: F811
    make_token: TokenFactory,
) -> None:
    headers = {"Authorization": f"Bearer {make_token('moviera')}"}
    for query in ("{ returnCase { idd } }", "{ returnCasez { id } }", "{ me { subjct } }"):
        body = (await production.post("/graphql", json={"query": query}, headers=headers)).json()
        assert codes(body), body
        assert set(codes(body)) == {"BAD_USER_INPUT"}, body
        assert all("Did you mean" not in e["message"] for e in body["errors"]), body


async def test_development_still_suggests_field_names(
    http: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    headers = {"Authorization": f"Bearer {make_token('moviera')}"}
    body = (
        await http.post("/graphql", json={"query": "{ me { subjct } }"}, headers=headers)
    ).json()
    assert "Did you mean 'subject'?" in body["errors"][0]["message"]


_PHASES = "INTAKE, ORIENTATION, PREPARATION, DEPARTED, FOLLOW_UP, CLOSED"
# An unknown enum value in a literal, in a variable, and a string where an enum belongs; the
# value sent looks like a person's name and must never come back.
_ENUM_REFUSALS: list[tuple[str, dict[str, Any] | None]] = [
    ("{ returnCases(filter: {phases: [AnaPopescu]}) { pageInfo { hasNextPage } } }", None),
    (
        "query($p: [Phase!]) { returnCases(filter: {phases: $p}) { pageInfo { hasNextPage } } }",
        {"p": ["AnaPopescu"]},
    ),
    ('{ returnCases(filter: {phases: ["AnaPopescu"]}) { pageInfo { hasNextPage } } }', None),
]


@pytest.mark.parametrize(
    ("query", "variables"), _ENUM_REFUSALS, ids=["literal", "variable", "string"]
)
async def test_development_names_an_enums_valid_values_never_the_value_sent(
    http: httpx.AsyncClient, make_token: TokenFactory, query: str, variables: dict[str, Any] | None
) -> None:
    headers = {"Authorization": f"Bearer {make_token('moviera')}"}
    body = (
        await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    ).json()
    assert codes(body) == ["BAD_USER_INPUT"], body
    message = body["errors"][0]["message"]
    assert "'Phase'" in message, message
    assert f"Valid values: {_PHASES}." in message, message
    assert "AnaPopescu" not in str(body), body


@pytest.mark.parametrize(
    ("query", "variables"), _ENUM_REFUSALS, ids=["literal", "variable", "string"]
)
async def test_production_names_the_enum_but_lists_no_values(
    production: httpx.AsyncClient,  # noqa: F811
    make_token: TokenFactory,
    query: str,
    variables: dict[str, Any] | None,
) -> None:
    headers = {"Authorization": f"Bearer {make_token('moviera')}"}
    body = (
        await production.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    ).json()
    assert codes(body) == ["BAD_USER_INPUT"], body
    message = body["errors"][0]["message"]
    assert "'Phase'" in message, message
    assert "Valid values" not in message, message
    assert "INTAKE" not in message, message
    assert "AnaPopescu" not in str(body), body
