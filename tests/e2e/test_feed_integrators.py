"""Integrators: credentials a tenant admin hands out, tokens for them, and what they may read.

A tenant admin creates an integrator client for its shelter with scopes; the secret is shown
once and never again. The client exchanges its credentials at ``/oauth/token`` (OAuth 2
client credentials) for a short-lived bearer token and subscribes to its shelter's case
events. Without ``personal-data:read`` no name, date of birth or free-text note reaches it.
Revoking the client ends its open subscription within seconds and its credentials and tokens
stop working. A real external client, ``gql`` over ``graphql-transport-ws``, subscribes,
disconnects and resumes without losing or repeating an event.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
import websockets
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.config import Settings
from service.schema.ids import from_global_id
from tests.e2e.conftest import GraphQLClient, LiveServer, codes
from tests.e2e.test_auth import ME
from tests.e2e.test_feed_ws_auth import (
    PAGE,
    SUBSCRIBE,
    WAIT,
    close_code,
    feed_socket,
    init_message,
    next_event,
    operation_errors,
    receive,
    subscribe,
    until_closed,
)
from tests.e2e.test_lifecycle import open_case, step

CREATE = """
mutation Create($input: CreateIntegratorClientInput!) {
  createIntegratorClient(input: $input) {
    clientSecret
    client { clientId name scopes createdAt createdBy revokedAt }
  }
}
"""
REVOKE = """
mutation Revoke($clientId: String!) {
  revokeIntegratorClient(input: {clientId: $clientId}) { client { clientId revokedAt } }
}
"""
LIST = "{ integratorClients { clientId name scopes createdAt createdBy revokedAt } }"


@dataclass(frozen=True)
class Credentials:
    client_id: str
    secret: str


async def create_client(
    admin: GraphQLClient, *scopes: str, name: str = "Registration"
) -> Credentials:
    body = await admin.execute(CREATE, {"input": {"name": name, "scopes": list(scopes)}})
    assert "errors" not in body, body
    created = body["data"]["createIntegratorClient"]
    return Credentials(created["client"]["clientId"], created["clientSecret"])


async def request_token(
    http: httpx.AsyncClient, data: dict[str, str], **kwargs: Any
) -> httpx.Response:
    return await http.post("/oauth/token", data=data, **kwargs)


async def token_for(http: httpx.AsyncClient, credentials: Credentials) -> str:
    response = await request_token(
        http,
        {
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.secret,
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def basic(client_id: str, secret: str) -> dict[str, str]:
    pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def grant(credentials: Credentials) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": credentials.client_id,
        "client_secret": credentials.secret,
    }


# --- managing clients ---------------------------------------------------------------------------


async def test_a_tenant_admin_creates_a_client_whose_secret_is_shown_once_and_stored_hashed(
    as_org: Any, admin_engine: AsyncEngine
) -> None:
    admin = as_org("moviera", "tenant-admin")
    body = await admin.execute(
        CREATE, {"input": {"name": "Moviera registration", "scopes": ["EVENTS_READ"]}}
    )
    assert "errors" not in body, body
    created = body["data"]["createIntegratorClient"]
    secret, client = created["clientSecret"], created["client"]
    assert len(secret) >= 32
    assert client["clientId"].startswith("moviera.")
    assert (client["name"], client["scopes"], client["revokedAt"]) == (
        "Moviera registration",
        ["EVENTS_READ"],
        None,
    )
    assert client["createdBy"] == "user-of-moviera"

    listing = await admin.post(LIST)
    assert listing.status_code == 200
    listed = [
        c
        for c in listing.json()["data"]["integratorClients"]
        if c["clientId"] == client["clientId"]
    ]
    assert listed == [client]
    assert secret not in listing.text

    # No field of the API can show it again.
    again = await admin.execute("{ integratorClients { clientId clientSecret } }")
    assert codes(again) == ["BAD_USER_INPUT"]

    # The database keeps a digest, not the secret.
    async with admin_engine.connect() as conn:
        row = await conn.scalar(
            text("SELECT row_to_json(c)::text FROM integrator_clients c WHERE client_id = :c"),
            {"c": client["clientId"]},
        )
    assert row is not None
    assert secret not in row


async def test_only_a_tenant_admin_manages_integrator_clients(as_org: Any) -> None:
    caseworker = as_org("moviera", "caseworker")
    body = await caseworker.execute(
        CREATE, {"input": {"name": "Not allowed", "scopes": ["EVENTS_READ"]}}
    )
    assert codes(body) == ["FORBIDDEN"]
    assert codes(await caseworker.execute(LIST)) == ["FORBIDDEN"]

    existing = await create_client(as_org("moviera", "tenant-admin"), "EVENTS_READ")
    assert codes(await caseworker.execute(REVOKE, {"clientId": existing.client_id})) == [
        "FORBIDDEN"
    ]


async def test_another_shelters_admin_neither_sees_nor_revokes_moviera_clients(
    as_org: Any, http: httpx.AsyncClient
) -> None:
    credentials = await create_client(as_org("moviera", "tenant-admin"), "EVENTS_READ")
    other = as_org("blijf-groep", "tenant-admin")
    listed = (await other.execute(LIST))["data"]["integratorClients"]
    assert credentials.client_id not in {c["clientId"] for c in listed}
    assert codes(await other.execute(REVOKE, {"clientId": credentials.client_id})) == ["NOT_FOUND"]
    assert (await request_token(http, grant(credentials))).status_code == 200  # still active


@pytest.mark.parametrize(
    ("scopes", "rule"),
    [([], "empty"), (["PERSONAL_DATA_READ"], "personal data without events")],
)
async def test_a_client_needs_the_events_read_scope(
    as_org: Any, scopes: list[str], rule: str
) -> None:
    body = await as_org("moviera", "tenant-admin").execute(
        CREATE, {"input": {"name": rule, "scopes": scopes}}
    )
    assert codes(body) == ["BAD_USER_INPUT"]


# --- the token endpoint -------------------------------------------------------------------------


async def test_client_credentials_are_exchanged_for_a_short_lived_bearer_token(
    as_org: Any, http: httpx.AsyncClient, settings: Settings
) -> None:
    credentials = await create_client(as_org("moviera", "tenant-admin"), "EVENTS_READ")
    by_form = await request_token(http, grant(credentials))
    by_basic = await request_token(
        http,
        {"grant_type": "client_credentials"},
        headers=basic(credentials.client_id, credentials.secret),
    )
    for response in (by_form, by_basic):
        assert response.status_code == 200, response.text
        assert "no-store" in response.headers["cache-control"]
        issued = response.json()
        assert issued["token_type"] == "Bearer"
        assert issued["scope"] == "events:read"
        assert issued["expires_in"] == settings.integrator_token_seconds
        assert 0 < issued["expires_in"] <= 3600
        claims = jwt.decode(issued["access_token"], options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == issued["expires_in"]
        assert (claims["org"], claims["roles"], claims["client_id"]) == (
            "moviera",
            ["integrator"],
            credentials.client_id,
        )
        # The token reads its shelter's feed.
        integrator = GraphQLClient(http, issued["access_token"])
        body = await integrator.execute(PAGE, {"first": 1})
        assert "errors" not in body, body


async def test_wrong_credentials_are_refused_as_invalid_client(
    as_org: Any, http: httpx.AsyncClient
) -> None:
    credentials = await create_client(as_org("moviera", "tenant-admin"), "EVENTS_READ")
    wrong = Credentials(credentials.client_id, credentials.secret[:-1] + "x")
    unknown = Credentials("moviera.no-such-client", credentials.secret)
    other_shelter = Credentials(
        "blijf-groep." + credentials.client_id.partition(".")[2], credentials.secret
    )
    attempts = [
        await request_token(http, grant(wrong)),
        await request_token(http, grant(unknown)),
        await request_token(http, grant(other_shelter)),
        await request_token(http, {"grant_type": "client_credentials"}),
        await request_token(
            http,
            {"grant_type": "client_credentials"},
            headers=basic(wrong.client_id, wrong.secret),
        ),
    ]
    for response in attempts:
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"
        assert "access_token" not in response.text


@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "CLIENT_CREDENTIALS"])
async def test_any_grant_but_client_credentials_is_an_unsupported_grant_type(
    as_org: Any, http: httpx.AsyncClient, grant_type: str
) -> None:
    credentials = await create_client(as_org("moviera", "tenant-admin"), "EVENTS_READ")
    response = await request_token(http, {**grant(credentials), "grant_type": grant_type})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("grant_type", [None, ""])
async def test_a_missing_grant_type_is_an_invalid_request(
    as_org: Any, http: httpx.AsyncClient, grant_type: str | None
) -> None:
    credentials = await create_client(as_org("moviera", "tenant-admin"), "EVENTS_READ")
    data = {k: v for k, v in grant(credentials).items() if k != "grant_type"}
    if grant_type is not None:
        data["grant_type"] = grant_type
    response = await request_token(http, data)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_basic_and_form_credentials_together_are_an_invalid_request(
    as_org: Any, http: httpx.AsyncClient
) -> None:
    credentials = await create_client(as_org("moviera", "tenant-admin"), "EVENTS_READ")
    response = await request_token(
        http, grant(credentials), headers=basic(credentials.client_id, credentials.secret)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "access_token" not in response.text


@pytest.mark.parametrize("size", [5000, 4 * 1024 * 1024])
async def test_a_token_request_too_large_is_413_in_oauths_format(
    http: httpx.AsyncClient, size: int
) -> None:
    response = await request_token(
        http, {"grant_type": "client_credentials", "client_id": "x" * size, "client_secret": "y"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"
    assert "errors" not in response.json()


async def test_repeated_wrong_secrets_lock_the_client_out_even_for_the_right_secret(
    as_org: Any, http: httpx.AsyncClient
) -> None:
    credentials = await create_client(as_org("moviera", "tenant-admin"), "EVENTS_READ")
    wrong = Credentials(credentials.client_id, credentials.secret[:-2] + "xx")
    statuses = [(await request_token(http, grant(wrong))).status_code for _ in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    right = await request_token(http, grant(credentials))
    assert right.status_code == 429
    assert right.json()["error"] == "invalid_client"
    assert int(right.headers["retry-after"]) > 0
    assert "access_token" not in right.text
    # Another client of the same shelter is not locked out by it.
    other = await create_client(as_org("moviera", "tenant-admin"), "EVENTS_READ")
    assert (await request_token(http, grant(other))).status_code == 200


async def test_a_client_cannot_obtain_a_scope_it_was_not_granted(
    as_org: Any, http: httpx.AsyncClient
) -> None:
    credentials = await create_client(as_org("moviera", "tenant-admin"), "EVENTS_READ")
    response = await request_token(
        http, {**grant(credentials), "scope": "events:read personal-data:read"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


# --- scopes and redaction ------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonalCase:
    id: str
    full_name: str
    date_of_birth: str
    notes: tuple[str, ...]


async def personal_case(as_org: Any) -> PersonalCase:
    """A case whose personal values are unique strings that can be searched for anywhere."""
    client = as_org("moviera")
    tag = uuid.uuid4().hex[:10]
    full_name, opening_note, talk_note = f"Zofia Q{tag}", f"opening-note-{tag}", f"talk-note-{tag}"
    case = (
        await open_case(
            client, pseudonym=f"P{tag}", fullName=full_name, dateOfBirth="1987-11-23",
            birthYear=1987, notes=opening_note,
        )
    )["case"]  # fmt: skip
    await step(
        client, "recordReturnConversation", case, heldOn="2026-01-10", wish="UNDECIDED",
        notes=talk_note,
    )  # fmt: skip
    return PersonalCase(case["id"], full_name, "1987-11-23", (opening_note, talk_note))


async def _two_events_over_ws(
    live_server: LiveServer, token: str, case_id: str
) -> list[dict[str, Any]]:
    async with feed_socket(live_server, token) as ws:
        await subscribe(ws, "feed", case_id=case_id)
        return [await receive(ws) for _ in range(2)]


async def test_without_the_personal_data_scope_no_personal_value_reaches_the_integrator(
    as_org: Any, http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    case = await personal_case(as_org)
    admin = as_org("moviera", "tenant-admin")
    plain = await create_client(admin, "EVENTS_READ")
    # A client granted both scopes that asks for a token with events:read only.
    narrowed = await create_client(admin, "EVENTS_READ", "PERSONAL_DATA_READ")
    narrowed_response = await request_token(http, {**grant(narrowed), "scope": "events:read"})
    assert narrowed_response.status_code == 200
    tokens = [await token_for(http, plain), narrowed_response.json()["access_token"]]
    secrets = [case.full_name, case.date_of_birth, *case.notes]

    for token in tokens:
        messages = await _two_events_over_ws(live_server, token, case.id)
        events = [m["payload"]["data"]["caseEvents"] for m in messages]
        assert [(e["version"], e["eventType"]) for e in events] == [
            (1, "ReturnCaseOpened"),
            (2, "ReturnConversationRecorded"),
        ]
        assert [e["personal"] for e in events] == [None, None]
        assert events[0]["data"]["pseudonym"].startswith("P")  # the rest of the facts is there
        raw = json.dumps(messages)
        for value in secrets:
            assert value not in raw

        over_http = await GraphQLClient(http, token).post(PAGE, {"first": 5, "caseId": case.id})
        assert over_http.status_code == 200
        edges = over_http.json()["data"]["caseEvents"]["edges"]
        assert [e["node"]["personal"] for e in edges] == [None, None]
        for value in secrets:
            assert value not in over_http.text


async def test_with_the_personal_data_scope_the_personal_part_is_delivered(
    as_org: Any, http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    case = await personal_case(as_org)
    credentials = await create_client(
        as_org("moviera", "tenant-admin"), "EVENTS_READ", "PERSONAL_DATA_READ"
    )
    issued = await request_token(http, grant(credentials))
    assert issued.json()["scope"] == "events:read personal-data:read"
    messages = await _two_events_over_ws(live_server, issued.json()["access_token"], case.id)
    opened, talk = (m["payload"]["data"]["caseEvents"] for m in messages)
    assert opened["personal"] == {
        "full_name": case.full_name,
        "date_of_birth": case.date_of_birth,
        "notes": case.notes[0],
    }
    assert talk["personal"] == {"notes": case.notes[1]}
    assert case.full_name not in json.dumps(opened["data"])  # kept apart from the other facts
    # Each delivery that showed personal fields is in the shelter's access log.
    async with live_server.app.state.deps.engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"),
            {"t": str(live_server.app.state.deps.tenants["moviera"].id)},
        )
        logged = (
            await conn.execute(
                text(
                    "SELECT actor, fields FROM personal_data_access_log WHERE case_id = :c "
                    "ORDER BY accessed_at"
                ),
                {"c": from_global_id("ReturnCase", case.id)},
            )
        ).all()
    assert [(a, sorted(f)) for a, f in logged] == [
        (credentials.client_id, ["date_of_birth", "full_name", "notes"]),
        (credentials.client_id, ["notes"]),
    ]


# --- revocation ---------------------------------------------------------------------------------


async def test_revoking_a_client_closes_its_open_subscription_and_its_credentials_and_tokens(
    as_org: Any, http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    admin, caseworker = as_org("moviera", "tenant-admin"), as_org("moviera")
    revoked = await create_client(admin, "EVENTS_READ", name="Revoked")
    kept = await create_client(admin, "EVENTS_READ", name="Kept")
    revoked_token, kept_token = await token_for(http, revoked), await token_for(http, kept)
    case = (await open_case(caseworker, pseudonym="Revocation"))["case"]

    async with (
        feed_socket(live_server, revoked_token) as doomed,
        feed_socket(live_server, kept_token) as other,
    ):
        for ws in (doomed, other):
            await subscribe(ws, "feed", case_id=case["id"])
            assert (await next_event(ws))[1]["version"] == 1  # replayed from the log
        # An event written after that arrives live: both subscriptions have joined the fan-out.
        case = await step(
            caseworker, "recordReturnConversation", case, heldOn="2026-01-10", wish="UNDECIDED"
        )
        for ws in (doomed, other):
            assert (await next_event(ws))[1]["version"] == 2

        body = await admin.execute(REVOKE, {"clientId": revoked.client_id})
        assert body["data"]["revokeIntegratorClient"]["client"]["revokedAt"] is not None

        ending = await receive(doomed, seconds=5)  # closed within five seconds
        assert ending["id"] == "feed"
        errors = operation_errors(ending)
        assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
        assert errors[0]["extensions"]["reason"] == "CREDENTIALS_REVOKED"
        if ending["type"] == "next":
            assert await receive(doomed, seconds=5) == {"id": "feed", "type": "complete"}

        # Another client of the same shelter is untouched.
        case = await step(
            caseworker, "recordReturnConversation", case, heldOn="2026-01-11", wish="UNDECIDED"
        )
        assert (await next_event(other))[1]["version"] == 3

        # The revoked one's socket is closed, with the documented close code.
        _, code = await until_closed(doomed, seconds=5)
        assert code == 4403

    # Refused everywhere: a new socket, the token endpoint, and HTTP (even `me`).
    async with websockets.connect(
        live_server.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=WAIT
    ) as fresh:
        await fresh.send(json.dumps(init_message(revoked_token)))
        assert await close_code(fresh) == 4401
    refused = await request_token(http, grant(revoked))
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    for query, variables in ((PAGE, {"first": 1}), (ME, {})):
        over_http = await GraphQLClient(http, revoked_token).post(query, variables)
        assert over_http.status_code == 401, over_http.text
        assert codes(over_http.json()) == ["UNAUTHENTICATED"]
    kept_me = await GraphQLClient(http, kept_token).execute(ME)
    assert "errors" not in kept_me, kept_me
    # Revoking twice keeps the first revocation.
    first = body["data"]["revokeIntegratorClient"]["client"]["revokedAt"]
    twice = await admin.execute(REVOKE, {"clientId": revoked.client_id})
    assert twice["data"]["revokeIntegratorClient"]["client"]["revokedAt"] == first


# --- a real external client ---------------------------------------------------------------------


GQL_SUBSCRIBE = GraphQLRequest(SUBSCRIBE)


async def _gql_events(
    live_server: LiveServer, token: str, case_id: str, after: str | None, count: int
) -> list[dict[str, Any]]:
    """``count`` events received by the ``gql`` client, then it disconnects."""
    transport = WebsocketsTransport(
        url=live_server.ws_url,
        init_payload={"Authorization": f"Bearer {token}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        connect_timeout=WAIT,
        close_timeout=2,
        ack_timeout=WAIT,
    )
    received: list[dict[str, Any]] = []
    async with asyncio.timeout(30), Client(transport=transport) as session:
        request = GraphQLRequest(GQL_SUBSCRIBE, variable_values={"caseId": case_id, "after": after})
        async for result in session.subscribe(request):
            received.append(result["caseEvents"])
            if len(received) == count:
                break
    return received


async def test_the_gql_client_subscribes_receives_and_resumes_without_loss_or_repeat(
    as_org: Any, http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    """The issue's "done when": every event while connected, then everything written between."""
    caseworker = as_org("moviera")
    credentials = await create_client(as_org("moviera", "tenant-admin"), "EVENTS_READ", name="gql")
    token = await token_for(http, credentials)
    case = (await open_case(caseworker, pseudonym="External Client"))["case"]

    async def write(count: int) -> None:
        nonlocal case
        for day in range(count):
            case = await step(
                caseworker, "recordReturnConversation", case, heldOn=f"2026-03-{day + 1:02d}",
                wish="UNDECIDED",
            )  # fmt: skip

    # Connected: the opening from the log, then five written while it listens.
    writing = asyncio.create_task(write(5))
    try:
        first = await _gql_events(live_server, token, case["id"], None, 6)
    finally:
        async with asyncio.timeout(WAIT):
            await writing
    assert [e["version"] for e in first] == [1, 2, 3, 4, 5, 6]

    # Disconnected: four more are written; resuming from the last cursor yields exactly them.
    await write(4)
    rest = await _gql_events(live_server, token, case["id"], first[-1]["cursor"], 4)
    assert [e["version"] for e in rest] == [7, 8, 9, 10]
    assert all(e["personal"] is None for e in first + rest)
