"""Fault: graceful shutdown on SIGTERM, with a subscriber and requests in flight.

Two ``safe-future serve`` processes, A and B, share the database. A subscriber follows some
cases on A; requests to A are in flight (their bodies are still arriving, so the server has
begun them and cannot have finished them) when A gets SIGTERM. Then:

* A stops accepting connections, but every in-flight request completes: HTTP 200 with data;
* the subscriber gets a clean end: a ``complete``/``error`` message or a WebSocket close with
  a normal code (1000, 1001 or 1012); which one is logged;
* A exits with code 0 within a bound;
* the subscriber resumes on B from its last cursor and, while more events are written through
  B, receives every event of its cases exactly once, in version order.

The scenario runs once per module (``shutdown_run``); each test checks one promise.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.config import Settings
from tests.conftest import Database, TokenFactory
from tests.e2e.faults_support import (
    READ_CASE,
    WAIT,
    Ack,
    CaseFacts,
    FeedFollower,
    Outcome,
    ServeProcess,
    Writer,
    ack_problems,
    case_uuid,
    delivery_problems,
    expected_feed,
    launch,
    log_facts,
    mutation,
    step_command,
)

TENANT = "blijf-groep"
STEPS_BEFORE = 3
STEPS_AFTER = 3
SLOW_WRITERS = 3
NORMAL_CLOSE_CODES = frozenset({1000, 1001, 1012})

log = logging.getLogger(__name__)


@dataclass
class ShutdownRun:
    in_flight: list[Outcome]
    in_flight_acks: list[Ack]
    returncode: int | None
    follower: FeedFollower
    ends_on_a: list[tuple[str, Any]]
    closes_on_a: list[tuple[int | None, str]]
    writers: list[Writer]
    facts: dict[Any, CaseFacts]
    a_log: str


async def _slow_post(
    http: httpx.AsyncClient,
    token: str,
    query: str,
    variables: dict[str, Any],
    release: asyncio.Event,
    label: str,
) -> Outcome:
    """A request whose body stops halfway until ``release``: in flight at the server."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    half = len(body) // 2

    async def content() -> AsyncIterator[bytes]:
        yield body[:half]
        await release.wait()
        yield body[half:]

    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
    }
    try:
        response = await http.post("/graphql", content=content(), headers=headers, timeout=30)
    except httpx.TransportError as exc:
        return Outcome(label, None, transport_error=type(exc).__name__)
    try:
        parsed = response.json()
    except ValueError:
        parsed = {"unparsable": response.text[:500]}
    return Outcome(label, response.status_code, parsed)


async def _refuses_connections(port: int, seconds: float) -> None:
    for _ in range(int(seconds / 0.05)):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.05)
    raise AssertionError(f"the process still accepts connections after {seconds} s")


async def _until(condition: Any, seconds: float, what: str) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


@pytest.fixture(scope="module")
async def shutdown_run(
    settings: Settings,
    database: Database,
    make_token: TokenFactory,
    admin_engine: AsyncEngine,
    tmp_path_factory: pytest.TempPathFactory,
) -> ShutdownRun:
    logs: Path = tmp_path_factory.mktemp("shutdown")
    token = make_token(TENANT)
    a = await launch(settings, database, logs / "a.log")
    b = await launch(settings, database, logs / "b.log")
    try:
        await asyncio.gather(a.wait_ready(), b.wait_ready())
        async with (
            httpx.AsyncClient(base_url=a.http_url) as http_a,
            httpx.AsyncClient(base_url=b.http_url) as http_b,
        ):
            return await _scenario(a, b, http_a, http_b, token, admin_engine)
    finally:
        await asyncio.gather(a.stop(), b.stop())


async def _scenario(
    a: ServeProcess,
    b: ServeProcess,
    http_a: httpx.AsyncClient,
    http_b: httpx.AsyncClient,
    token: str,
    admin_engine: AsyncEngine,
) -> ShutdownRun:
    main = Writer(http_a, token, "main")
    await main.run(STEPS_BEFORE)
    slow = [Writer(http_a, token, f"slow{i}") for i in range(SLOW_WRITERS)]
    for writer in slow:
        await writer.open()
    writers = [main, *slow]
    assert all(w.acks and not w.failures for w in writers), [w.outcomes for w in writers]
    case_ids = [w.case_id for w in writers if w.case_id is not None]

    sigterm_sent = False
    targets: dict[str, int] = {main.case_id: STEPS_BEFORE + 1} if main.case_id else {}
    targets.update(dict.fromkeys(case_ids[1:], 1))
    feeds: dict[str, tuple[str | None, str | None]] = {
        f"case-{i}": (case_id, None) for i, case_id in enumerate(case_ids)
    }
    follower = FeedFollower(lambda: b.ws_url if sigterm_sent else a.ws_url, token, feeds)
    final = False

    def seen_targets() -> bool:
        return all(
            max((e.version for e in follower.received[name]), default=0) >= targets[c]
            for name, (c, _) in feeds.items()
            if c is not None
        )

    def caught_up() -> bool:
        return final and seen_targets()

    following = asyncio.create_task(follower.run(caught_up, seconds=60))
    release = asyncio.Event()
    in_flight: list[asyncio.Task[Outcome]] = []
    try:
        await _until(seen_targets, WAIT, "the subscriber on A to see the first events")
        name, event_type, fields = step_command(0)
        keys = [f"slow-{w.name}-{uuid.uuid4().hex}" for w in slow]
        for writer, key in zip(slow, keys, strict=True):
            variables = {
                "input": {
                    **fields,
                    "caseId": writer.case_id,
                    "expectedVersion": 1,
                    "idempotencyKey": key,
                }
            }
            in_flight.append(
                asyncio.create_task(
                    _slow_post(http_a, token, mutation(name), variables, release, writer.name)
                )
            )
        in_flight.append(
            asyncio.create_task(
                _slow_post(http_a, token, READ_CASE, {"id": main.case_id}, release, "read")
            )
        )
        # Let A read the requests' heads (a full round trip after they were sent).
        await asyncio.sleep(0.2)
        assert (await http_a.get("/healthz", timeout=WAIT)).status_code == 200
        await asyncio.sleep(0.2)
        assert not any(t.done() for t in in_flight), "the slow requests are still open"

        sigterm_sent = True
        a.proc.send_signal(signal.SIGTERM)
        await _refuses_connections(a.port, WAIT)
        await _until(
            lambda: follower.closes or follower.ends, WAIT, "the subscriber's stream on A to end"
        )
        ends_on_a, closes_on_a = list(follower.ends), list(follower.closes)
        release.set()
        async with asyncio.timeout(WAIT):
            outcomes = list(await asyncio.gather(*in_flight))
        returncode = await a.wait_exit(15)

        # More events, through B, while the subscriber resumes there.
        main.http = http_b
        await main.run(STEPS_AFTER, start=STEPS_BEFORE)
        for writer, outcome in zip(slow, outcomes, strict=False):
            writer.http = http_b
            writer.version = 2 if outcome.ok else 1  # else: CONFLICT, resync, go on
            await writer.run(1, start=1)
        facts = await log_facts(admin_engine, map(case_uuid, case_ids))
        targets.update({c: len(facts[case_uuid(c)].events) for c in case_ids})
        final = True
        await following
    finally:
        release.set()
        for task in [*in_flight, following]:
            task.cancel()

    in_flight_acks = [
        Ack(w.case_id, payload["version"], event_type, key)
        for w, o, key in zip(slow, outcomes, keys, strict=False)
        if o.ok and o.body is not None and w.case_id is not None
        for payload in o.body["data"].values()
    ]
    log.warning(
        "shutdown: exit code %s; in flight %s; subscriber on A ended by %s, closes %s; "
        "connections %d",
        returncode,
        [(o.label, o.status, o.codes) for o in outcomes],
        ends_on_a,
        closes_on_a,
        follower.connections,
    )
    return ShutdownRun(
        outcomes,
        in_flight_acks,
        returncode,
        follower,
        ends_on_a,
        closes_on_a,
        writers,
        facts,
        a.log_tail(1200),
    )


async def test_in_flight_requests_complete(shutdown_run: ShutdownRun) -> None:
    for outcome in shutdown_run.in_flight:
        assert outcome.ok, outcome
    assert [a.version for a in shutdown_run.in_flight_acks] == [2] * SLOW_WRITERS
    acks = [a for w in shutdown_run.writers for a in w.acks] + shutdown_run.in_flight_acks
    assert not ack_problems(acks, shutdown_run.facts)


async def test_subscriber_gets_a_clean_end(shutdown_run: ShutdownRun) -> None:
    closes = shutdown_run.closes_on_a
    ends = shutdown_run.ends_on_a
    clean_close = bool(closes) and closes[0][0] in NORMAL_CLOSE_CODES
    clean_end = bool(ends) and all(
        e == "complete" or all((x.get("extensions") or {}).get("code") for x in e) for _, e in ends
    )
    assert clean_close or clean_end, (closes, ends)


async def test_process_exits_with_code_zero(shutdown_run: ShutdownRun) -> None:
    assert shutdown_run.returncode == 0, shutdown_run.a_log


async def test_subscriber_resumes_on_another_process_without_loss_or_duplicate(
    shutdown_run: ShutdownRun,
) -> None:
    follower = shutdown_run.follower
    assert follower.connections >= 2, "the subscriber reconnected (to B)"
    case_ids = [w.case_id for w in shutdown_run.writers if w.case_id is not None]
    expected = expected_feed(shutdown_run.facts, case_ids)
    problems: list[str] = []
    for name, events in follower.received.items():
        case_id = follower.case_ids[name]
        assert case_id is not None
        problems += delivery_problems(events, {case_id: expected[case_id]})
    assert not problems, "\n".join(problems)
    assert not follower.problems
