"""Scenario 1: ``EventStore.append`` against raw asyncpg INSERTs, 8 concurrent writers.

Both sides write one event per transaction, as the service role (row-level security on, the
tenant set per transaction), into the same ``events`` table with the same columns, 8 writers
at once, each on streams of its own (a new case every 20 events, as streams are short), the
writers spread over the six shelters. The events are decided by the pure domain before
timing (open, then risk, legal position and return conversations in turn): each writer's
supply is topped up between the timed runs (``Supply``), so neither side's figure includes
the domain's work. A writer whose supply ran out during a run decides more on the spot; how
often that happened is in the result's details (``supply_ran_out``, 0 when the supply held).

- store: ``tenant_transaction`` + ``EventStore.append`` on an engine made like the service's
  (``create_app_engine``, pool of 8) and a store made like the service's (with a
  ``CommitAnnouncer``: the commit is announced after it, other processes by a coalesced
  NOTIFY from the announcer's own connection): what the command path's append costs, with its
  version check, ``RETURNING``, wake-ups and JSON encoding;
- raw: 8 asyncpg connections; per event ``BEGIN``, ``set_config(app.tenant_id)``, one prepared
  ``INSERT`` with the payload already encoded as JSON, ``COMMIT``;
- raw+notify: the same with a ``pg_notify`` in the same statement (reported as a second line:
  the floor of a design that NOTIFYs inside every appending transaction).

Rounds alternate raw, raw+notify and store (same length), so all see the same machine. The
judged ratio is the median of the rounds' own ratios (``judged_ratio``): now and then every
writer's commit stalls at once for a tenth of a second to most of a second, on either side (the
machine's flush of the write-ahead log; ``docs/performance.md``, round eighteen), and one such
stall in a short round would otherwise decide a quick run's figure. The ratio of the pooled
rates (every round's events over every round's seconds) is in the details beside it.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections import deque
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import (
    Budget,
    Result,
    judged_ratio,
    latency_summary,
    log,
    round_ratios,
    run_workers,
)
from bench.database import BenchDatabase
from bench.populate import COPY_COLUMNS
from bench.scenarios.read import shelters
from service.db import tenant_transaction
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.events.announce import CommitAnnouncer
from service.events.store import EventStore
from service.events.types import EventRegistry, Metadata

WRITERS = 8
STREAM_LENGTH = 20
RAW_BEGIN = "SELECT set_config('app.tenant_id', $1, true), events_writer_begin()"
RAW_INSERT = (
    f"INSERT INTO events ({', '.join(COPY_COLUMNS)}) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
# The same INSERT and, in the same statement, the NOTIFY the store sends: a second floor that
# separates what the store's code costs from what the design's wake-ups cost (a transaction
# that notified takes a cluster-wide lock while it commits).
RAW_INSERT_NOTIFY = (
    f"WITH i AS ({RAW_INSERT} RETURNING 1) SELECT pg_notify('safe_future_events', $1::text) FROM i"
)


def _stream(case_id: uuid.UUID, length: int) -> list[Any]:
    """``length`` events of one case, decided and folded by the domain."""
    day = dt.date(2025, 1, 6)
    commands: list[Any] = [
        rc.OpenReturnCase(
            case_id,
            day,
            f"A-{case_id.hex[:6]}",
            v.Gender.FEMALE,
            1994,
            "RO",
            "RO",
            ("ro",),
            (v.ExploitationForm.FORCED_LABOUR,),
        )
    ]
    cycle = [
        lambda d: rc.AssessRisk(case_id, d, v.RiskLevel.MEDIUM, (v.RiskFactor.DEBTS,)),
        lambda d: rc.RecordLegalPosition(
            case_id, d, v.ResidenceStatus.TEMPORARY_VICTIM_PERMIT, v.ProceedingsStage.INVESTIGATION
        ),
        lambda d: rc.RecordReturnConversation(case_id, d, v.ReturnWish.UNDECIDED),
    ]
    for i in range(length - 1):
        commands.append(cycle[i % 3](day + dt.timedelta(days=i + 1)))
    state, events = None, []
    for command in commands:
        for event in rc.decide(state, command):
            state = rc.evolve(state, event)
            events.append(event)
    return events


class Supply:
    """Each writer's (stream, version, event) on fresh short streams, decided ahead."""

    def __init__(self, writers: int, per_writer: int) -> None:
        self.queues: list[deque[tuple[uuid.UUID, int, Any]]] = [deque() for _ in range(writers)]
        self.per_writer = per_writer
        self.ran_out = 0

    @staticmethod
    def _add_stream(queue: deque[tuple[uuid.UUID, int, Any]]) -> None:
        case_id = uuid.uuid4()
        queue.extend(
            (case_id, version, event)
            for version, event in enumerate(_stream(case_id, STREAM_LENGTH), start=1)
        )

    def top_up(self) -> None:
        """Between timed runs: every writer holds at least ``per_writer`` events."""
        for queue in self.queues:
            while len(queue) < self.per_writer:
                self._add_stream(queue)

    def take(self, writer: int) -> tuple[uuid.UUID, int, Any]:
        queue = self.queues[writer]
        if not queue:  # decided on the spot, inside the timing: counted and reported
            self.ran_out += 1
            self._add_stream(queue)
        return queue.popleft()


# An event as the raw side writes it: its type, schema version, payload and personal part as
# JSON text (the personal part None when it has none).
Encoded = tuple[str, int, str, str | None]


def encode(registry: EventRegistry, event: Any) -> Encoded:
    kind, schema, payload, personal = registry.encode(event)
    return kind, schema, json.dumps(payload), None if personal is None else json.dumps(personal)


async def raw_insert(
    conn: asyncpg.Connection,
    sql: str,
    tenant: uuid.UUID,
    tenant_text: str,
    case_id: uuid.UUID,
    version: int,
    row: Encoded,
    meta_json: str,
    now: dt.datetime,
) -> None:
    """The raw side's transaction: ``BEGIN``; the tenant and ``events_writer_begin()``;
    ``sql`` (``RAW_INSERT`` or ``RAW_INSERT_NOTIFY``); ``COMMIT``."""
    kind, schema, payload, personal = row
    async with conn.transaction():
        await conn.execute(RAW_BEGIN, tenant_text)
        await conn.execute(sql, tenant, case_id, "ReturnCase", version, kind, schema, payload,
                           personal, meta_json, now)  # fmt: skip


async def store_append(
    engine: AsyncEngine,
    store: EventStore,
    tenant: uuid.UUID,
    item: tuple[uuid.UUID, int, Any],
    meta: Metadata,
    now: dt.datetime,
) -> None:
    """The store's side: one event (a ``Supply`` item) appended in a ``tenant_transaction``."""
    case_id, version, event = item
    async with tenant_transaction(engine, tenant) as conn:
        await store.append(
            conn,
            tenant_id=tenant,
            stream_id=case_id,
            stream_type="ReturnCase",
            expected_version=version - 1,
            events=[event],
            metadata=meta,
            occurred_at=now,
        )


async def run(
    bench_db: BenchDatabase,
    *,
    seconds: float,
    max_events: int,
    rounds: int,
    profile: Any = None,
) -> list[Result]:
    places = await shelters(bench_db)
    registry = EventRegistry(rc.EVENT_TYPES)
    meta = Metadata("bench-append", "bench", "caseworker", "bench", "bench")
    meta_json = json.dumps(meta.to_json())
    now = dt.datetime.now(dt.UTC)
    announcer = CommitAnnouncer(bench_db.app_connect)
    store = EventStore(registry, announce=announcer.committed)
    engine = bench_db.app_engine(WRITERS)
    raw_conns = [await bench_db.app_connect() for _ in range(WRITERS)]
    runs: dict[str, list[Budget]] = {"raw": [], "raw+notify": [], "store": []}
    # Each writer's own supply of events on fresh streams, topped up outside the timing: twice
    # an even share of a run's most events, and whole streams.
    per_writer = 2 * -(-max_events // WRITERS)
    supplies = {"raw": Supply(WRITERS, per_writer), "store": Supply(WRITERS, per_writer)}
    statement = {"sql": RAW_INSERT}

    async def raw_writer(i: int, budget: Budget) -> None:
        conn = raw_conns[i]
        tenant = places[i % len(places)][1]
        tenant_text = str(tenant)
        while budget.take():
            case_id, version, event = supplies["raw"].take(i)
            row = encode(registry, event)
            started = time.perf_counter()
            await raw_insert(
                conn, statement["sql"], tenant, tenant_text, case_id, version, row, meta_json, now
            )
            budget.record(time.perf_counter() - started)

    async def store_writer(i: int, budget: Budget) -> None:
        tenant = places[i % len(places)][1]
        while budget.take():
            item = supplies["store"].take(i)
            started = time.perf_counter()
            await store_append(engine, store, tenant, item, meta, now)
            budget.record(time.perf_counter() - started)

    try:
        # Warm-up: connections, prepared statements, plans.
        for supply in supplies.values():
            supply.top_up()
        await run_workers(WRITERS, raw_writer, Budget(WRITERS * 20, 2.0))
        await run_workers(WRITERS, store_writer, Budget(WRITERS * 20, 2.0))
        statement["sql"] = RAW_INSERT_NOTIFY
        await run_workers(WRITERS, raw_writer, Budget(WRITERS * 5, 1.0))
        for supply in supplies.values():
            supply.ran_out = 0  # the warm-up's are not a timed run's
        for _ in range(rounds):
            for side, sql in (("raw", RAW_INSERT), ("raw+notify", RAW_INSERT_NOTIFY)):
                statement["sql"] = sql
                supplies["raw"].top_up()
                runs[side].append(
                    await run_workers(WRITERS, raw_writer, Budget(max_events, seconds))
                )
            supplies["store"].top_up()
            if profile is not None:
                profile.enable()
            runs["store"].append(
                await run_workers(WRITERS, store_writer, Budget(max_events, seconds))
            )
            if profile is not None:
                profile.disable()
    finally:
        for conn in raw_conns:
            await conn.close()
        await announcer.close()
        await engine.dispose()
    rates = {}
    lat: dict[str, list[float]] = {}
    for side, budgets in runs.items():
        done = sum(b.completed for b in budgets)
        rates[side] = done / sum(b.elapsed for b in budgets)
        lat[side] = [x for b in budgets for x in b.latencies]
    ratio = judged_ratio(runs["store"], runs["raw"])
    with_notify = judged_ratio(runs["store"], runs["raw+notify"])
    per_round = [round(r, 4) for r in round_ratios(runs["store"], runs["raw"])]
    log(
        f"append: store {rates['store']:.0f}/s, raw {rates['raw']:.0f}/s, "
        f"raw+notify {rates['raw+notify']:.0f}/s; median of the rounds' ratios {ratio:.2f} "
        f"(rounds {', '.join(f'{r:.2f}' for r in per_round)}), to raw+notify {with_notify:.2f}"
    )
    return [
        Result(
            scenario="1 append",
            measure="EventStore.append, 1 event/transaction, 8 writers",
            figure=round(rates["store"], 1),
            unit="events/s",
            baseline=round(rates["raw"], 1),
            baseline_measure="raw asyncpg INSERT, 1/transaction, 8 connections",
            ratio=round(ratio, 4),
            ratio_meaning="median of the rounds' ratios (store rate / raw rate in one round)",
            target=">= 0.8",
            met=ratio >= 0.8,
            parameters={
                "writers": WRITERS,
                "rounds": rounds,
                "seconds_per_round": seconds,
                "max_events_per_round": max_events,
                "stream_length": STREAM_LENGTH,
            },
            details={
                "store": {
                    **latency_summary(lat["store"]),
                    "errors": sum(b.errors for b in runs["store"]),
                },
                "raw": {
                    **latency_summary(lat["raw"]),
                    "errors": sum(b.errors for b in runs["raw"]),
                },
                "raw+notify": {
                    **latency_summary(lat["raw+notify"]),
                    "errors": sum(b.errors for b in runs["raw+notify"]),
                },
                "supply_ran_out": {side: supply.ran_out for side, supply in supplies.items()},
                "round_ratios": per_round,
                "pooled_ratio": round(rates["store"] / rates["raw"], 4),
            },
        ),
        Result(
            scenario="1 append",
            measure="EventStore.append vs raw INSERT + NOTIFY (same statement)",
            figure=round(rates["store"], 1),
            unit="events/s",
            baseline=round(rates["raw+notify"], 1),
            baseline_measure="raw asyncpg INSERT with pg_notify, 8 connections",
            ratio=round(with_notify, 4),
            ratio_meaning="median of the rounds' ratios (store / raw+notify rate in one round)",
            target="reported",
            details={
                "raw_notify_over_raw": round(rates["raw+notify"] / rates["raw"], 4),
                "pooled_ratio": round(rates["store"] / rates["raw+notify"], 4),
            },
        ),
    ]
