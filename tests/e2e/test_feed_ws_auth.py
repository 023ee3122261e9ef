"""Who may open the event feed over a WebSocket.

The token travels in ``connection_init``. Without one, or with one the service cannot verify
(garbage, expired, signed by another key, meant for another audience), the server closes the
socket with 4401 before anything else happens. A valid token of a role that may not read case
events is let in, but its ``caseEvents`` subscription ends with a ``FORBIDDEN`` error. Older
clients speaking the legacy ``graphql-ws`` protocol get the same rules.

The small client below speaks both protocols over a raw ``websockets`` connection; the other
feed tests use it too. Every receive has a timeout, so no test can hang.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from service.auth import issue_token
from service.config import Settings
from service.schema.ids import from_global_id
from tests.conftest import TokenFactory
from tests.e2e.conftest import LiveServer
from tests.e2e.test_lifecycle import open_case, step

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
WAIT = 15.0  # generous: another transaction anywhere on the server delays the feed

EVENT_FIELDS = "cursor caseId version eventType occurredAt recordedAt data personal"
SUBSCRIBE = f"""
subscription Feed($after: String, $caseId: ID, $eventTypes: [String!]) {{
  caseEvents(after: $after, caseId: $caseId, eventTypes: $eventTypes) {{ {EVENT_FIELDS} }}
}}
"""
PAGE = f"""
query Page($after: String, $first: Int!, $caseId: ID, $eventTypes: [String!]) {{
  caseEvents(after: $after, first: $first, caseId: $caseId, eventTypes: $eventTypes) {{
    edges {{ cursor node {{ {EVENT_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""


# --- a minimal WebSocket GraphQL client, shared by the feed tests --------------------------


async def receive(ws: ClientConnection, seconds: float = WAIT) -> dict[str, Any]:
    """The next protocol message, or ``TimeoutError`` after ``seconds``."""
    async with asyncio.timeout(seconds):
        raw = await ws.recv()
    message: dict[str, Any] = json.loads(raw)
    return message


async def until_closed(
    ws: ClientConnection, seconds: float = WAIT
) -> tuple[list[dict[str, Any]], int | None]:
    """Every message until the server closes the socket, and the close code it sent."""
    messages: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(seconds):
            for _ in range(100):
                messages.append(json.loads(await ws.recv()))
    except ConnectionClosed as closed:
        return messages, closed.rcvd.code if closed.rcvd is not None else None
    raise AssertionError(f"the server kept the socket open: {messages}")


async def close_code(ws: ClientConnection, seconds: float = WAIT) -> int | None:
    """Wait until the server closes the socket; the close code it sent (messages ignored)."""
    return (await until_closed(ws, seconds))[1]


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


def init_message(token: str | None) -> dict[str, Any]:
    payload = {} if token is None else {"Authorization": f"Bearer {token}"}
    return {"type": "connection_init", "payload": payload}


@asynccontextmanager
async def feed_socket(
    live_server: LiveServer, token: str, protocol: str = TRANSPORT_WS
) -> AsyncIterator[ClientConnection]:
    """A socket that has been acknowledged with ``token``."""
    async with websockets.connect(
        live_server.ws_url, subprotocols=[protocol], open_timeout=WAIT, close_timeout=2
    ) as ws:
        assert ws.subprotocol == protocol
        await send(ws, init_message(token))
        ack = await receive(ws)
        assert ack["type"] == "connection_ack", ack
        yield ws


async def subscribe(
    ws: ClientConnection,
    op_id: str,
    *,
    after: str | None = None,
    case_id: str | None = None,
    event_types: list[str] | None = None,
    query: str = SUBSCRIBE,
) -> None:
    variables = {"after": after, "caseId": case_id, "eventTypes": event_types}
    await send(
        ws,
        {
            "id": op_id,
            "type": "subscribe",
            "payload": {"query": query, "variables": variables},
        },
    )


async def next_event(ws: ClientConnection, seconds: float = WAIT) -> tuple[str, dict[str, Any]]:
    """The operation id and ``caseEvents`` value of the next ``next`` message."""
    message = await receive(ws, seconds)
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    event: dict[str, Any] = message["payload"]["data"]["caseEvents"]
    return message["id"], event


async def events_of(
    ws: ClientConnection, count: int, seconds: float = WAIT
) -> list[dict[str, Any]]:
    """The next ``count`` events, whichever operation they belong to."""
    return [(await next_event(ws, seconds))[1] for _ in range(count)]


def operation_errors(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The GraphQL errors that end an operation: an ``error`` message or a ``next`` with errors."""
    if message["type"] == "error":
        errors: list[dict[str, Any]] = message["payload"]
        return errors
    assert message["type"] == "next", message
    assert message["payload"].get("data") is None, message
    found: list[dict[str, Any]] = message["payload"]["errors"]
    return found


def case_uuid(global_id: str) -> uuid.UUID:
    return from_global_id("ReturnCase", global_id)


# --- tokens the service must refuse ----------------------------------------------------------


def _signed(settings: Settings, key: bytes | None = None, **overrides: Any) -> str:
    claims: dict[str, Any] = {
        "issuer": settings.jwt_issuer,
        "audience": settings.jwt_audience,
        "subject": "user-of-moviera",
        "organisation": "moviera",
        "roles": ["caseworker"],
        **overrides,
    }
    return issue_token(key or settings.jwt_private_key_file.read_bytes(), **claims)


def _other_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


BAD_TOKENS: dict[str, Callable[[Settings], str]] = {
    "garbage": lambda s: "not-a-jwt",
    "expired": lambda s: _signed(
        s,
        now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
        lifetime=dt.timedelta(hours=1),
    ),
    "signed-by-another-key": lambda s: _signed(s, key=_other_key()),
    "another-audience": lambda s: _signed(s, audience="some-other-service"),
    "unknown-organisation": lambda s: _signed(s, organisation="no-such-shelter"),
}


# --- graphql-transport-ws ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "init",
    [
        {"type": "connection_init"},
        {"type": "connection_init", "payload": {}},
        {"type": "connection_init", "payload": {"Authorization": ""}},
        {"type": "connection_init", "payload": {"Authorization": "Bearer "}},
        {"type": "connection_init", "payload": {"Authorization": "Basic dXNlcjpwYXNz"}},
    ],
    ids=["no-payload", "empty-payload", "empty-header", "empty-bearer", "basic-credentials"],
)
async def test_connection_init_without_a_bearer_token_closes_the_socket_with_4401(
    live_server: LiveServer, init: dict[str, Any]
) -> None:
    async with websockets.connect(live_server.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        await send(ws, init)
        assert await close_code(ws) == 4401


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
async def test_connection_init_with_a_token_the_service_cannot_verify_closes_with_4401(
    live_server: LiveServer, settings: Settings, kind: str
) -> None:
    token = BAD_TOKENS[kind](settings)
    async with websockets.connect(live_server.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        await send(ws, init_message(token))
        assert await close_code(ws) == 4401


async def test_subscribing_before_connection_init_closes_with_4401(
    live_server: LiveServer,
) -> None:
    async with websockets.connect(live_server.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        await subscribe(ws, "1")
        assert await close_code(ws) == 4401


async def test_a_refused_socket_received_no_event_before_it_was_closed(
    live_server: LiveServer, settings: Settings
) -> None:
    """Subscribe right after a bad ``connection_init``: the close comes, no data does."""
    async with websockets.connect(live_server.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        await send(ws, init_message(BAD_TOKENS["signed-by-another-key"](settings)))
        await subscribe(ws, "1")
        messages, code = await until_closed(ws)
        assert code == 4401
        assert messages == []


@pytest.mark.parametrize(
    ("org", "role"),
    [
        ("comensha", "comensha-analyst"),
        ("comensha", "social-map-editor"),
        ("moviera", "integrator"),  # an integrator role without any granted scope
    ],
)
async def test_a_valid_token_without_feed_access_connects_but_its_subscription_is_forbidden(
    live_server: LiveServer, make_token: TokenFactory, org: str, role: str
) -> None:
    async with feed_socket(live_server, make_token(org, role)) as ws:
        await subscribe(ws, "feed")
        message = await receive(ws)
        assert message["id"] == "feed"
        errors = operation_errors(message)
        assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
        if message["type"] == "next":
            assert (await receive(ws)) == {"id": "feed", "type": "complete"}
        # The connection itself stays usable: a ping is still answered.
        await send(ws, {"type": "ping"})
        assert (await receive(ws))["type"] == "pong"


# --- legacy graphql-ws ------------------------------------------------------------------------


async def _legacy_receive(ws: ClientConnection) -> dict[str, Any]:
    """The next legacy message that is not a keep-alive."""
    for _ in range(50):
        message = await receive(ws)
        if message["type"] != "ka":
            return message
    raise AssertionError("only keep-alives arrived")


async def test_the_legacy_graphql_ws_protocol_delivers_case_events_to_a_valid_token(
    as_org: Any, live_server: LiveServer, make_token: TokenFactory
) -> None:
    client = as_org("moviera")
    case = (await open_case(client, pseudonym="Legacy Protocol"))["case"]
    async with feed_socket(live_server, make_token("moviera"), LEGACY_WS) as ws:
        await send(
            ws,
            {
                "id": "legacy",
                "type": "start",
                "payload": {"query": SUBSCRIBE, "variables": {"caseId": case["id"]}},
            },
        )
        replayed = await _legacy_receive(ws)
        assert (replayed["type"], replayed["id"]) == ("data", "legacy"), replayed
        opened = replayed["payload"]["data"]["caseEvents"]
        assert (opened["caseId"], opened["version"]) == (case["id"], 1)

        await step(client, "recordReturnConversation", case, heldOn="2026-01-10", wish="UNDECIDED")
        live = await _legacy_receive(ws)
        assert live["type"] == "data", live
        event = live["payload"]["data"]["caseEvents"]
        assert (event["version"], event["eventType"]) == (2, "ReturnConversationRecorded")

        await send(ws, {"id": "legacy", "type": "stop"})
        assert await _legacy_receive(ws) == {"type": "complete", "id": "legacy"}


@pytest.mark.parametrize("token_kind", ["missing", "signed-by-another-key"])
async def test_the_legacy_graphql_ws_protocol_refuses_a_missing_or_invalid_token(
    live_server: LiveServer, settings: Settings, token_kind: str
) -> None:
    token = None if token_kind == "missing" else BAD_TOKENS[token_kind](settings)
    async with websockets.connect(live_server.ws_url, subprotocols=[LEGACY_WS]) as ws:
        assert ws.subprotocol == LEGACY_WS
        await send(ws, init_message(token))
        await send(
            ws, {"id": "legacy", "type": "start", "payload": {"query": SUBSCRIBE, "variables": {}}}
        )
        seen, _ = await until_closed(ws)
        types = [m["type"] for m in seen if m["type"] != "ka"]
        assert "connection_ack" not in types
        assert "data" not in types
        assert types in ([], ["connection_error"]), seen
