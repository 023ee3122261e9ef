"""One event, many subscribers: each gets the shape it selected, behind its own operation id.

The feed builds an event's message once per distinct selection (with the variables the
selection uses) and scope, and sends the same bytes to every subscriber sharing it; these
tests hold that sharing never mixes shapes, ids or protocols up.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import TokenFactory
from tests.e2e.conftest import LiveServer
from tests.e2e.test_feed_ws_auth import (
    LEGACY_WS,
    feed_socket,
    receive,
    send,
    subscribe,
)
from tests.e2e.test_lifecycle import open_case, step
from tests.e2e.test_privacy_access_log import read_log
from tests.e2e.test_privacy_erasure import Person, open_personal_case

PLAIN = "subscription($caseId: ID) { caseEvents(caseId: $caseId) { cursor version eventType } }"
CONDITIONAL = """
subscription($caseId: ID, $withType: Boolean!) {
  e: caseEvents(caseId: $caseId) { v: version eventType @include(if: $withType) }
}
"""
FRAGMENT = """
subscription($caseId: ID) { caseEvents(caseId: $caseId) { ...Parts } }
fragment Parts on CaseEvent { cursor caseId }
"""


async def _by_operation(ws: Any, count: int) -> dict[str, list[dict[str, Any]]]:
    """The next ``count`` ``next`` payloads' data, by operation id."""
    seen: dict[str, list[dict[str, Any]]] = {}
    for _ in range(count):
        message = await receive(ws)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        seen.setdefault(message["id"], []).append(message["payload"]["data"])
    return seen


async def test_subscribers_sharing_an_event_each_get_their_own_selection_and_operation_id(
    as_org: Any, live_server: LiveServer, make_token: TokenFactory
) -> None:
    client = as_org("moviera")
    case = (await open_case(client, pseudonym="Broadcast Shapes"))["case"]
    token = make_token("moviera")
    async with feed_socket(live_server, token) as first, feed_socket(live_server, token) as other:
        await subscribe(first, "plain", case_id=case["id"], query=PLAIN)
        for op_id, with_type in (("without-type", False), ("with-type", True)):
            await send(
                first,
                {
                    "id": op_id,
                    "type": "subscribe",
                    "payload": {
                        "query": CONDITIONAL,
                        "variables": {"caseId": case["id"], "withType": with_type},
                    },
                },
            )
        await subscribe(first, "fragment", case_id=case["id"], query=FRAGMENT)
        await subscribe(other, "plain-too", case_id=case["id"], query=PLAIN)
        replayed = await _by_operation(first, 4)
        (again,) = (await _by_operation(other, 1))["plain-too"]

        moved = await step(
            client, "recordReturnConversation", case, heldOn="2026-01-10", wish="UNDECIDED"
        )
        live = await _by_operation(first, 4)
        (live_too,) = (await _by_operation(other, 1))["plain-too"]

    for version, seen, shared in ((1, replayed, again), (moved["version"], live, live_too)):
        (plain,) = seen["plain"]
        event_type = plain["caseEvents"]["eventType"]
        assert plain["caseEvents"]["version"] == version
        assert shared == plain  # the same event reads the same, cursor included
        assert seen["without-type"] == [{"e": {"v": version}}]
        assert seen["with-type"] == [{"e": {"v": version, "eventType": event_type}}]
        assert seen["fragment"] == [
            {"caseEvents": {"cursor": plain["caseEvents"]["cursor"], "caseId": case["id"]}}
        ]
    assert live["plain"][0]["caseEvents"]["eventType"] == "ReturnConversationRecorded"


async def test_a_legacy_and_a_current_protocol_subscriber_get_the_same_event_in_their_framing(
    as_org: Any, live_server: LiveServer, make_token: TokenFactory
) -> None:
    client = as_org("moviera")
    case = (await open_case(client, pseudonym="Broadcast Protocols"))["case"]
    token = make_token("moviera")
    async with (
        feed_socket(live_server, token) as current,
        feed_socket(live_server, token, LEGACY_WS) as legacy,
    ):
        await subscribe(current, "current", case_id=case["id"], query=PLAIN)
        await send(
            legacy,
            {
                "id": "legacy",
                "type": "start",
                "payload": {"query": PLAIN, "variables": {"caseId": case["id"]}},
            },
        )
        for ws in (current, legacy):  # the replayed opening
            while (await receive(ws))["type"] == "ka":
                pass
        await step(client, "recordReturnConversation", case, heldOn="2026-01-10", wish="UNDECIDED")
        got_current = await receive(current)
        got_legacy = await receive(legacy)
        while got_legacy["type"] == "ka":
            got_legacy = await receive(legacy)
    assert (got_current["type"], got_current["id"]) == ("next", "current")
    assert (got_legacy["type"], got_legacy["id"]) == ("data", "legacy")
    assert got_current["payload"] == got_legacy["payload"]
    assert got_current["payload"]["data"]["caseEvents"]["version"] == 2


async def test_personal_parts_are_opened_and_recorded_only_for_a_subscription_selecting_them(
    as_org: Any, live_server: LiveServer, make_token: TokenFactory
) -> None:
    org = "blijf-groep"
    reader, admin = as_org(org), as_org(org, "tenant-admin")
    person = Person.make()
    case = await open_personal_case(reader, person, "id version")
    token = make_token(org)
    with_personal = "subscription($caseId: ID) { caseEvents(caseId: $caseId) { personal } }"
    without = "subscription($caseId: ID) { caseEvents(caseId: $caseId) { version } }"
    async with feed_socket(live_server, token) as ws:
        await subscribe(ws, "without", case_id=case["id"], query=without)
        (plain,) = (await _by_operation(ws, 1))["without"]
        await subscribe(ws, "with", case_id=case["id"], query=with_personal)
        (opened,) = (await _by_operation(ws, 1))["with"]
    assert plain == {"caseEvents": {"version": 1}}
    assert opened["caseEvents"]["personal"]["full_name"] == person.full_name
    # One read, the subscription's that selected the personal part.
    (record,) = await read_log(admin, caseId=case["id"])
    assert record["fields"] == ["date_of_birth", "full_name", "notes"]


async def test_a_shared_selection_is_kept_while_its_subscriptions_are_open_and_dropped_after(
    as_org: Any, live_server: LiveServer, make_token: TokenFactory
) -> None:
    client = as_org("moviera")
    case = (await open_case(client, pseudonym="Broadcast Shape Lifetime"))["case"]
    token = make_token("moviera")
    shapes = live_server.app.state.feed.shapes
    before = len(shapes)
    # A selection no other test uses, by two subscriptions on two sockets.
    query = "subscription($caseId: ID) { lifetime: caseEvents(caseId: $caseId) { version } }"
    async with feed_socket(live_server, token) as first, feed_socket(live_server, token) as other:
        await subscribe(first, "one", case_id=case["id"], query=query)
        await subscribe(other, "two", case_id=case["id"], query=query)
        assert (await _by_operation(first, 1))["one"] == [{"lifetime": {"version": 1}}]
        assert (await _by_operation(other, 1))["two"] == [{"lifetime": {"version": 1}}]
        assert len(shapes) == before + 1  # one shape for both
    for _ in range(200):  # the server ends the operations once the sockets are gone
        if len(shapes) == before:
            break
        await asyncio.sleep(0.02)
    assert len(shapes) == before
