"""Fault: PostgreSQL terminates every backend of the service role, several times, under load.

Several clients step their own cases over real HTTP (uvicorn on loopback) while a subscriber
follows those cases over a WebSocket, and the owner runs ``pg_terminate_backend`` on every
connection of the service role: pooled connections, the feed's LISTEN connection, the report
projection's. A client retries a failed command with the same idempotency key; the subscriber
resubscribes from its last cursor whenever a subscription ends, and also ends subscriptions and
drops its socket on purpose now and then, so that resuming itself runs during the faults.

The scenario runs once per module (``terminate_run``); each test checks one promise:

* requests succeed or fail cleanly: never a 5xx, always an ``extensions.code``, no internals;
* every acknowledged mutation is in the log at its acknowledged version, exactly once, and in
  the read models; no case is half-applied (checked in the database and through the API);
* the subscriber receives every event of those cases exactly once, in version order per case,
  on per-case subscriptions and on one shelter-wide subscription;
* a subscription that the fault ends tells the client so with an ``extensions.code`` and
  without internals (DESIGN §9), like any other error.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import TokenFactory
from tests.e2e.conftest import LiveServer
from tests.e2e.faults_support import (
    TERMINATE_SERVICE_BACKENDS,
    CaseFacts,
    FeedFollower,
    Outcome,
    Writer,
    ack_problems,
    case_uuid,
    consistency_problems,
    contract_problems,
    delivery_problems,
    expected_feed,
    log_facts,
    opening_cursor,
    read_case,
)

TENANT = "humanitas-pmw"
WRITERS = 6
STEPS = 24  # changes per writer after opening its case
TERMINATIONS = 6
ACKS_BETWEEN_TERMINATIONS = 8
CHURN_EVERY = 8  # events between two subscriptions or sockets the subscriber ends itself

log = logging.getLogger(__name__)


class _InternalErrors(logging.Handler):
    """Collects the exception types behind the service's INTERNAL errors (for the report)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(f"{record.name}: {getattr(record, 'error_type', record.getMessage())}")


@dataclass
class TerminateRun:
    writers: list[Writer]
    marker: Writer
    follower: FeedFollower
    feeds: dict[str, tuple[str | None, str | None]]
    case_ids: list[str]
    terminated: list[int]
    facts: dict[Any, CaseFacts]
    api_views: dict[str, Any] = field(default_factory=dict)
    reads: list[Outcome] = field(default_factory=list)  # reading the cases back afterwards
    internal_errors: list[str] = field(default_factory=list)

    @property
    def outcomes(self) -> list[Outcome]:
        return [o for w in [self.marker, *self.writers] for o in w.outcomes] + self.reads


async def _terminate(admin_engine: AsyncEngine) -> int:
    async with admin_engine.connect() as conn:
        killed = int(await conn.scalar(TERMINATE_SERVICE_BACKENDS) or 0)
        await conn.commit()
    return killed


async def _acks_reach(
    writers: list[Writer], load: list[asyncio.Task[None]], total: int, seconds: float
) -> None:
    """Until the writers hold ``total`` acknowledgements (or have all finished)."""
    for _ in range(int(seconds / 0.01)):
        if sum(len(w.acks) for w in writers) >= total or all(t.done() for t in load):
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"the writers did not reach {total} acknowledgements in {seconds} s")


@pytest.fixture(scope="module")
async def terminate_run(
    live_server: LiveServer, make_token: TokenFactory, admin_engine: AsyncEngine
) -> TerminateRun:
    internal = _InternalErrors()
    logging.getLogger("service").addHandler(internal)
    token = make_token(TENANT)
    try:
        async with httpx.AsyncClient(base_url=live_server.http_url) as http:
            run = await _scenario(live_server, token, admin_engine, http)
        run.internal_errors = internal.seen
    finally:
        logging.getLogger("service").removeHandler(internal)
    failures = [o for o in run.outcomes if not o.ok]
    log.warning(
        "terminate: %d backends terminated in %d rounds; %d requests, %d failed %s; "
        "service errors %s; %d acks; subscriber: %d connections, %d subscriptions, "
        "%d churns, %d ends by the server",
        sum(run.terminated),
        len(run.terminated),
        len(run.outcomes),
        len(failures),
        sorted({f"{o.codes or o.transport_error}" for o in failures}),
        sorted(set(run.internal_errors)),
        sum(len(w.acks) for w in run.writers),
        run.follower.connections,
        run.follower.subscriptions,
        run.follower.churns,
        len(run.follower.ends),
    )
    return run


async def _scenario(
    live_server: LiveServer, token: str, admin_engine: AsyncEngine, http: httpx.AsyncClient
) -> TerminateRun:
    # The shelter-wide subscription starts after a marker case's opening event: every case
    # opened after it, and each of its events, must follow on it.
    marker = Writer(http, token, "marker")
    await marker.open()
    assert marker.case_id is not None, marker.outcomes
    after = await opening_cursor(http, token, marker.case_id)
    writers = [Writer(http, token, f"w{i}") for i in range(WRITERS)]
    for writer in writers:
        await writer.open(f"Fault Client {writer.name}")
        assert writer.case_id is not None, writer.outcomes
    case_ids = [w.case_id for w in writers if w.case_id is not None]

    feeds: dict[str, tuple[str | None, str | None]] = {
        f"case-{i}": (case_id, None) for i, case_id in enumerate(case_ids)
    }
    feeds["shelter"] = (None, after)
    follower = FeedFollower(lambda: live_server.ws_url, token, feeds, churn_every=CHURN_EVERY)
    targets: dict[str, int] = {}

    def caught_up() -> bool:
        if not targets:
            return False
        for name, events in follower.received.items():
            wanted = {c: v for c, v in targets.items() if name == "shelter" or c == feeds[name][0]}
            for case_id, version in wanted.items():
                if max((e.version for e in events if e.case_id == case_id), default=0) < version:
                    return False
        return True

    following = asyncio.create_task(follower.run(caught_up, seconds=90))
    load = [asyncio.create_task(w.run(STEPS)) for w in writers]
    terminated: list[int] = []
    try:
        start = sum(len(w.acks) for w in writers)
        for round_ in range(1, TERMINATIONS + 1):
            await _acks_reach(writers, load, start + round_ * ACKS_BETWEEN_TERMINATIONS, 20)
            terminated.append(await _terminate(admin_engine))
        async with asyncio.timeout(60):
            await asyncio.gather(*load)
        facts = await log_facts(admin_engine, map(case_uuid, [marker.case_id, *case_ids]))
        targets.update({c: len(facts[case_uuid(c)].events) for c in case_ids})
        await following
    finally:
        for task in [*load, following]:
            task.cancel()

    run = TerminateRun(writers, marker, follower, feeds, case_ids, terminated, facts)
    for case_id in case_ids:
        run.api_views[case_id], reads = await read_case(http, token, case_id)
        run.reads += reads
    assert sum(terminated) >= TERMINATIONS, f"the fault never hit: {terminated}"
    return run


async def test_every_request_succeeds_or_fails_cleanly(terminate_run: TerminateRun) -> None:
    outcomes = terminate_run.outcomes
    assert not [o for o in outcomes if (o.status or 0) >= 500], "no HTTP 5xx"
    assert not [o for o in outcomes if o.status is None], "every request gets an answer"
    assert not contract_problems(outcomes)
    assert not [w.gave_up for w in terminate_run.writers if w.gave_up], "retries succeed"
    acks = [a for w in terminate_run.writers for a in w.acks]
    assert len(acks) == WRITERS * (STEPS + 1), "every command is acknowledged in the end"


async def test_acknowledged_mutations_are_in_the_log_and_read_models(
    terminate_run: TerminateRun,
) -> None:
    acks = [a for w in [terminate_run.marker, *terminate_run.writers] for a in w.acks]
    facts = terminate_run.facts
    assert not ack_problems(acks, facts)
    assert not consistency_problems(facts)
    for case_id, view in terminate_run.api_views.items():
        events = facts[case_uuid(case_id)].events
        assert view["version"] == len(events)
        timeline = [(t["version"], t["eventType"]) for t in view["timeline"]]
        assert timeline == [(v, t) for v, t, _ in events]


async def test_subscriber_gets_every_event_once_in_order(terminate_run: TerminateRun) -> None:
    expected = expected_feed(terminate_run.facts, terminate_run.case_ids)
    problems: list[str] = []
    for name, events in terminate_run.follower.received.items():
        case_id = terminate_run.feeds[name][0]
        wanted = expected if case_id is None else {case_id: expected[case_id]}
        problems += [f"{name}: {p}" for p in delivery_problems(events, wanted)]
        if case_id is not None:
            problems += [f"{name}: {e}" for e in events if e.case_id != case_id]
    assert not problems, "\n".join(problems)


async def test_subscription_ended_by_the_fault_reports_a_code_and_no_internals(
    terminate_run: TerminateRun,
) -> None:
    problems = terminate_run.follower.problems
    assert not problems, "\n".join(problems[:10])
