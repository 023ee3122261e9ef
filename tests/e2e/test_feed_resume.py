"""Resuming the case-event feed: no event lost, none repeated, whatever the disconnects.

An integrator keeps the cursor of the last event it received. However its connection ends
(a clean close, a dropped TCP connection, or its own ``complete`` of one subscription), it
subscribes again with that cursor and receives exactly what follows. The HTTP query
``caseEvents(after, first)`` serves the same events with cursors of the same kind, so a cursor
taken from one resumes the other.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from tests.conftest import TokenFactory
from tests.e2e.conftest import GraphQLClient, LiveServer, codes
from tests.e2e.test_feed_ws_auth import (
    PAGE,
    TRANSPORT_WS,
    WAIT,
    feed_socket,
    init_message,
    next_event,
    receive,
    send,
    subscribe,
)
from tests.e2e.test_lifecycle import open_case, step

SEED = 20260405
CASES = 3
EVENTS = 150  # in all, across the cases, opening events included
RISK = "RiskAssessed"

Event = tuple[str, int, str]  # (caseId, version, eventType)


async def write(client: GraphQLClient, case: dict[str, Any], kind: str, day: int) -> dict[str, Any]:
    """One more event on ``case`` through the GraphQL API; the case with its new version."""
    on = f"2026-02-{day % 28 + 1:02d}"
    if kind == RISK:
        return await step(client, "assessRisk", case, assessedOn=on, level="LOW")
    return await step(client, "recordReturnConversation", case, heldOn=on, wish="UNDECIDED")


async def page(client: GraphQLClient, **variables: Any) -> dict[str, Any]:
    body = await client.execute(PAGE, {"first": 50, **variables})
    assert "errors" not in body, body
    connection: dict[str, Any] = body["data"]["caseEvents"]
    return connection


async def visible(client: GraphQLClient, case_id: str, count: int) -> list[dict[str, Any]]:
    """A case's first ``count`` feed edges over HTTP, once the feed shows that many.

    The feed shows an event only when every transaction that began before it has ended, on
    the whole database server; another transaction still running there can hold a fresh event
    back for a moment. Polls (bounded) instead of assuming it is there at once.
    """
    async with asyncio.timeout(WAIT):
        for _ in range(1000):
            edges: list[dict[str, Any]] = (await page(client, caseId=case_id))["edges"]
            if len(edges) >= count:
                return edges[:count]
            await asyncio.sleep(0.01)
    raise AssertionError(f"the feed did not show {count} events of {case_id}")


async def first_cursor(client: GraphQLClient, case_id: str) -> str:
    """The cursor of a case's opening event, over HTTP."""
    cursor: str = (await visible(client, case_id, 1))[0]["cursor"]
    return cursor


class Subscriber:
    """Subscribes to several feeds at once, drops its connection at random, and resumes.

    Each logical subscription keeps the cursor of the last event it received. Every
    (re)subscription uses a fresh operation id, so a message still in flight for an operation
    the client has given up is recognised and ignored, as a real client would.
    """

    def __init__(
        self,
        live_server: LiveServer,
        token: str,
        feeds: dict[str, dict[str, Any]],
        mine: set[str],
        rng: random.Random,
    ) -> None:
        self.live_server = live_server
        self.token = token
        self.feeds = feeds  # logical name -> subscription variables other than `after`
        self.mine = mine
        self.rng = rng
        self.cursors: dict[str, str | None] = {
            name: v.pop("after", None) for name, v in feeds.items()
        }
        self.received: dict[str, list[Event]] = {name: [] for name in feeds}
        self.connections = 0
        self.resubscriptions = 0
        self._serial = 0
        self._live: dict[str, str] = {}  # operation id -> logical name

    async def _subscribe(self, ws: ClientConnection, name: str) -> None:
        self._serial += 1
        op_id = f"{name}#{self._serial}"
        self._live[op_id] = name
        await subscribe(ws, op_id, after=self.cursors[name], **self.feeds[name])

    async def run(self, expected: dict[str, int]) -> None:
        def done() -> bool:
            return all(len(self.received[n]) >= expected[n] for n in self.feeds)

        async with asyncio.timeout(90):
            while not done():
                self.connections += 1
                assert self.connections <= 300, "far more reconnections than planned"
                async with websockets.connect(
                    self.live_server.ws_url, subprotocols=[TRANSPORT_WS], close_timeout=1
                ) as ws:
                    await send(ws, init_message(self.token))
                    assert (await receive(ws))["type"] == "connection_ack"
                    self._live.clear()
                    for name in self.feeds:
                        await self._subscribe(ws, name)
                    await self._receive_some(ws, self.rng.randint(0, 30), done)
                    if self.rng.random() < 0.5:
                        ws.transport.abort()  # no close handshake: the server just loses us

    async def _receive_some(self, ws: ClientConnection, budget: int, done: Any) -> None:
        for _ in range(budget):
            if done():
                return
            op_id, event = await next_event(ws)
            name = self._live.get(op_id)
            if name is None:
                continue  # in flight for an operation this client completed: ignored
            if event["caseId"] in self.mine:
                self.received[name].append((event["caseId"], event["version"], event["eventType"]))
            self.cursors[name] = event["cursor"]
            if self.rng.random() < 0.05:  # give up one subscription and take it up again
                self.resubscriptions += 1
                del self._live[op_id]
                await send(ws, {"id": op_id, "type": "complete"})
                await self._subscribe(ws, name)


async def test_resubscribing_with_the_last_cursor_misses_and_repeats_nothing(
    as_org: Any, live_server: LiveServer, make_token: TokenFactory
) -> None:
    client = as_org("moviera")
    plan_rng = random.Random(SEED)
    cases = [(await open_case(client, pseudonym=f"Resume {i}"))["case"] for i in range(CASES)]
    ids = [c["id"] for c in cases]
    plan = [
        (plan_rng.randrange(CASES), plan_rng.choice([RISK, "ReturnConversationRecorded"]))
        for _ in range(EVENTS - CASES)
    ]
    written: list[Event] = [(c["id"], 1, "ReturnCaseOpened") for c in cases]

    async def writer() -> None:
        pause = random.Random(SEED + 1)
        for day, (index, kind) in enumerate(plan):
            cases[index] = await write(client, cases[index], kind, day)
            written.append((ids[index], cases[index]["version"], kind))
            await asyncio.sleep(pause.choice([0, 0, 0, 0.002, 0.01]))

    feeds: dict[str, dict[str, Any]] = {f"case-{i}": {"case_id": ids[i]} for i in range(CASES)}
    # One feed across the cases, by event type, starting after the first case's opening.
    feeds["risk"] = {"event_types": [RISK], "after": await first_cursor(client, ids[0])}
    subscriber = Subscriber(
        live_server, make_token("moviera"), feeds, set(ids), random.Random(SEED + 2)
    )
    expected = {f"case-{i}": 1 + sum(1 for c, _ in plan if c == i) for i in range(CASES)}
    expected["risk"] = sum(1 for _, kind in plan if kind == RISK)

    writing = asyncio.create_task(writer())
    try:
        await subscriber.run(expected)
    finally:
        async with asyncio.timeout(WAIT):
            await writing
    assert len(written) == EVENTS

    for i, case_id in enumerate(ids):
        assert subscriber.received[f"case-{i}"] == [e for e in written if e[0] == case_id]
    assert subscriber.received["risk"] == [e for e in written if e[2] == RISK]
    # The drops really happened, in every way planned.
    assert subscriber.connections >= 5
    assert subscriber.resubscriptions >= 1

    # Each final cursor stands after the last event: nothing further, over HTTP either.
    for name, variables in feeds.items():
        rest = await page(
            client,
            after=subscriber.cursors[name],
            caseId=variables.get("case_id"),
            eventTypes=variables.get("event_types"),
        )
        assert rest["edges"] == []
        assert rest["pageInfo"]["hasNextPage"] is False


async def test_http_pages_and_the_subscription_serve_the_same_events_and_cursors(
    as_org: Any, live_server: LiveServer, make_token: TokenFactory
) -> None:
    client = as_org("moviera")
    case = (await open_case(client, pseudonym="Cursor Exchange"))["case"]
    for day in range(11):
        case = await write(client, case, RISK if day % 3 == 0 else "Conversation", day)
    assert case["version"] == 12
    await visible(client, case["id"], 12)

    # Paging over HTTP, five at a time, from the start of the case.
    pages = [await page(client, caseId=case["id"], first=5)]
    for _ in range(5):
        if not pages[-1]["pageInfo"]["hasNextPage"]:
            break
        pages.append(
            await page(client, caseId=case["id"], first=5, after=pages[-1]["pageInfo"]["endCursor"])
        )
    assert [len(p["edges"]) for p in pages] == [5, 5, 2]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]
    edges = [edge for p in pages for edge in p["edges"]]
    assert all(edge["cursor"] == edge["node"]["cursor"] for edge in edges)
    assert all(p["pageInfo"]["endCursor"] == p["edges"][-1]["cursor"] for p in pages)
    over_http = [edge["node"] for edge in edges]
    assert [e["version"] for e in over_http] == list(range(1, 13))

    # Past the end: nothing, and the cursor to continue from is the one given.
    end = pages[-1]["pageInfo"]["endCursor"]
    beyond = await page(client, caseId=case["id"], after=end)
    assert beyond == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": end}}

    def comparable(event: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in event.items() if k != "cursor"}  # cursors are sealed afresh

    async with feed_socket(live_server, make_token("moviera")) as ws:
        # An HTTP cursor resumes the subscription right after its event.
        await subscribe(ws, "ws", case_id=case["id"], after=over_http[3]["cursor"])
        over_ws = [await _event_of(ws, "ws") for _ in range(8)]
        assert [comparable(e) for e in over_ws] == [comparable(e) for e in over_http[4:]]

        # A subscription cursor resumes HTTP paging right after its event.
        rest = await page(client, caseId=case["id"], after=over_ws[4]["cursor"])
        assert [comparable(e["node"]) for e in rest["edges"]] == [
            comparable(e) for e in over_http[9:]
        ]

        # Live from here: the next event reaches the subscription, and HTTP from its cursor.
        case = await write(client, case, "Conversation", 20)
        live = await _event_of(ws, "ws")
        assert live["version"] == 13
        after_last = await page(client, caseId=case["id"], after=over_ws[-1]["cursor"])
        assert [comparable(e["node"]) for e in after_last["edges"]] == [comparable(live)]
        after_live = await page(client, caseId=case["id"], after=live["cursor"])
        assert after_live["edges"] == []


async def _event_of(ws: ClientConnection, op_id: str) -> dict[str, Any]:
    """The next event of operation ``op_id``; messages of other operations are skipped."""
    for _ in range(20):
        got_id, event = await next_event(ws)
        if got_id == op_id:
            return event
    raise AssertionError(f"no event for {op_id}")


async def test_a_cursor_that_was_not_issued_by_the_feed_is_refused(
    as_org: Any, live_server: LiveServer, make_token: TokenFactory
) -> None:
    client = as_org("moviera")
    case = (await open_case(client, pseudonym="Tampered Cursor"))["case"]
    genuine = await first_cursor(client, case["id"])
    tampered = genuine[:-2] + ("AA" if genuine[-2:] != "AA" else "BB")
    for bad in (tampered, "bm90LWEtY3Vyc29y", "", "%%%"):
        body = await client.execute(PAGE, {"first": 5, "after": bad})
        assert codes(body) == ["BAD_USER_INPUT"], (bad, body)
    async with feed_socket(live_server, make_token("moviera")) as ws:
        await subscribe(ws, "bad", after=tampered)
        message = await receive(ws)
        assert message["payload"]["data"] is None
        assert [e["extensions"]["code"] for e in message["payload"]["errors"]] == ["BAD_USER_INPUT"]
        assert await receive(ws) == {"id": "bad", "type": "complete"}


async def test_page_sizes_and_event_types_outside_the_feed_are_refused(as_org: Any) -> None:
    client = as_org("moviera")
    for variables in (
        {"first": 0},
        {"first": 51},  # the tests' maximum page size is 50
        {"first": 5, "eventTypes": ["NoSuchEvent"]},
        {"first": 5, "eventTypes": []},
    ):
        body = await client.execute(PAGE, variables)
        assert codes(body) == ["BAD_USER_INPUT"], (variables, body)
        assert body["data"] is None
