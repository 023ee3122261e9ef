"""A shelter's event feed holds its own events only, whatever a subscriber asks for.

Blijf Groep subscribes and pages while Moviera writes. Whatever filter Blijf Groep sends (none,
Moviera's case id, event types, both) and whichever cursor it passes (even one taken from
Moviera's feed), it receives Blijf Groep's events and nothing of Moviera's: no case id, no
value, not even an empty event.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.events.cursor import FeedPosition
from tests.conftest import TokenFactory
from tests.e2e.conftest import GraphQLClient, LiveServer
from tests.e2e.test_feed_resume import first_cursor, visible
from tests.e2e.test_feed_ws_auth import PAGE, case_uuid, feed_socket, receive, subscribe
from tests.e2e.test_lifecycle import open_case, step

TYPES = ["ReturnCaseOpened", "ReturnConversationRecorded", "RiskAssessed"]


async def owners(admin_engine: AsyncEngine, case_ids: set[str]) -> dict[str, str]:
    """The shelter whose log holds each case's events, looked up as the database owner."""
    streams = [case_uuid(c) for c in case_ids]
    found: dict[str, str] = {}
    async with admin_engine.begin() as conn:
        tenants = (await conn.execute(text("SELECT id, slug FROM tenants"))).all()
        for tenant_id, slug in tenants:
            # Under forced row-level security even the owner sees one tenant at a time.
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
            )
            rows = await conn.execute(
                text(
                    "SELECT DISTINCT stream_id FROM events "
                    "WHERE tenant_id = :t AND stream_id = ANY(:s)"
                ),
                {"t": tenant_id, "s": streams},
            )
            for (stream_id,) in rows:
                found[str(stream_id)] = slug
    return {c: found.get(str(case_uuid(c)), "?") for c in case_ids}


async def all_pages(client: GraphQLClient, **variables: Any) -> tuple[list[dict[str, Any]], str]:
    """Every edge of the feed (bounded), and the raw text of every response."""
    edges: list[dict[str, Any]] = []
    raw: list[str] = []
    after = variables.pop("after", None)
    for _ in range(400):
        response = await client.post(PAGE, {"first": 50, "after": after, **variables})
        assert response.status_code == 200, response.text
        raw.append(response.text)
        body = response.json()
        assert "errors" not in body, body
        connection = body["data"]["caseEvents"]
        edges.extend(connection["edges"])
        if not connection["pageInfo"]["hasNextPage"]:
            return edges, "\n".join(raw)
        after = connection["pageInfo"]["endCursor"]
    raise AssertionError("the feed did not end within 400 pages")


async def _moviera_case(moviera: GraphQLClient, secret: str) -> dict[str, Any]:
    case = (
        await open_case(
            moviera, pseudonym=secret, fullName=f"{secret} Fullname", notes=f"{secret} notes"
        )
    )["case"]
    return await step(
        moviera, "recordReturnConversation", case, heldOn="2026-01-10", wish="UNDECIDED",
        notes=f"{secret} conversation",
    )  # fmt: skip


async def test_another_shelters_subscription_never_receives_moviera_events_whatever_its_filter(
    as_org: Any, live_server: LiveServer, make_token: TokenFactory, admin_engine: AsyncEngine
) -> None:
    moviera, blijf = as_org("moviera"), as_org("blijf-groep")
    secret = f"Isolation{uuid.uuid4().hex[:10]}"
    m_case = await _moviera_case(moviera, secret)  # in the log before anyone subscribes
    b_case = (await open_case(blijf, pseudonym="Blijf Own"))["case"]
    filters: dict[str, dict[str, Any]] = {
        "none": {},
        "moviera-case": {"case_id": m_case["id"]},
        "types": {"event_types": TYPES},
        "moviera-case-and-types": {"case_id": m_case["id"], "event_types": TYPES},
        "own-case": {"case_id": b_case["id"]},
    }
    messages: list[dict[str, Any]] = []
    async with feed_socket(live_server, make_token("blijf-groep")) as ws:
        for name, variables in filters.items():
            await subscribe(ws, name, **variables)
        # Moviera writes while Blijf Groep listens, then Blijf Groep writes a marker.
        await step(moviera, "assessRisk", m_case, assessedOn="2026-01-11", level="LOW")
        m_other = (await open_case(moviera, pseudonym=secret, fullName=f"{secret} Other"))["case"]
        b_case = await step(blijf, "assessRisk", b_case, assessedOn="2026-01-12", level="LOW")
        marker = (b_case["id"], b_case["version"])

        got_marker: set[str] = set()
        async with asyncio.timeout(30):
            while got_marker != {"none", "types", "own-case"}:
                message = await receive(ws)
                messages.append(message)
                event = message["payload"]["data"]["caseEvents"]
                if (event["caseId"], event["version"]) == marker:
                    got_marker.add(message["id"])
        try:  # anything trailing would have come right behind the marker
            for _ in range(100):
                messages.append(await receive(ws, 0.3))
        except TimeoutError:
            pass

    assert all(m["type"] == "next" and "errors" not in m["payload"] for m in messages)
    by_operation: dict[str, list[dict[str, Any]]] = {name: [] for name in filters}
    for m in messages:
        by_operation[m["id"]].append(m["payload"]["data"]["caseEvents"])
    assert by_operation["moviera-case"] == []
    assert by_operation["moviera-case-and-types"] == []
    assert [(e["version"], e["eventType"]) for e in by_operation["own-case"]] == [
        (1, "ReturnCaseOpened"),
        (2, "RiskAssessed"),
    ]
    raw = json.dumps(messages)
    assert secret not in raw
    assert m_case["id"] not in raw
    assert m_other["id"] not in raw
    received = {e["caseId"] for events in by_operation.values() for e in events}
    assert set((await owners(admin_engine, received)).values()) == {"blijf-groep"}


async def test_another_shelters_http_paging_never_returns_moviera_events(
    as_org: Any, admin_engine: AsyncEngine
) -> None:
    moviera, blijf = as_org("moviera"), as_org("blijf-groep")
    secret = f"Isolation{uuid.uuid4().hex[:10]}"
    m_case = await _moviera_case(moviera, secret)
    own = (await open_case(blijf, pseudonym="Blijf Paging"))["case"]

    # The same query does find the case for its own shelter.
    mine = await visible(moviera, m_case["id"], 2)
    assert [e["node"]["version"] for e in mine] == [1, 2]
    await visible(blijf, own["id"], 1)  # written last: every event before it is visible too

    received: set[str] = set()
    for variables in (
        {},
        {"caseId": m_case["id"]},
        {"eventTypes": TYPES},
        {"caseId": m_case["id"], "eventTypes": TYPES},
    ):
        edges, raw = await all_pages(blijf, **variables)
        assert secret not in raw
        assert m_case["id"] not in raw
        if "caseId" in variables:
            assert edges == []
        else:
            assert own["id"] in {e["node"]["caseId"] for e in edges}
        received |= {e["node"]["caseId"] for e in edges}
    assert set((await owners(admin_engine, received)).values()) == {"blijf-groep"}


async def test_a_moviera_cursor_is_refused_to_blijf_groep_over_http_and_websocket(
    as_org: Any, live_server: LiveServer, make_token: TokenFactory
) -> None:
    """Accepting it would reveal where moviera's event sits in blijf-groep's feed order."""
    moviera, blijf = as_org("moviera"), as_org("blijf-groep")
    m_case = (await open_case(moviera, pseudonym="Cursor Owner"))["case"]
    moviera_cursor = await first_cursor(moviera, m_case["id"])
    own = (await open_case(blijf, pseudonym="Blijf Own"))["case"]
    await visible(blijf, own["id"], 1)

    refused = await blijf.execute(PAGE, {"first": 5, "after": moviera_cursor})
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["BAD_USER_INPUT"]
    assert refused["data"] is None
    still_moviera = await moviera.execute(PAGE, {"first": 5, "after": moviera_cursor})
    assert "errors" not in still_moviera, still_moviera

    async with feed_socket(live_server, make_token("blijf-groep")) as ws:
        await subscribe(ws, "feed", after=moviera_cursor)
        message = await receive(ws)
    assert message["id"] == "feed"
    assert message["type"] in ("error", "next"), message
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]


async def test_a_sealed_cursor_beyond_bigint_is_bad_input_not_internal(
    as_org: Any, live_server: LiveServer
) -> None:
    moviera = as_org("moviera")
    tenant = live_server.app.state.deps.tenants["moviera"].id
    sealer = live_server.app.state.cursors
    for position in (FeedPosition(2**64 - 1, 1), FeedPosition(1, 2**63)):
        body = await moviera.execute(PAGE, {"first": 1, "after": sealer.seal(position, tenant)})
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
