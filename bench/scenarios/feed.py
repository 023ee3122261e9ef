"""Scenario 4 (and the feed half of 7): commit-to-delivery latency at 1, 100, 1,000 subscribers.

All subscribers are WebSockets (``graphql-transport-ws``, the ``websockets`` client with its
defaults, as the ``gql`` client uses it) from the bench process to one service process, each
authenticated with a caseworker token of one shelter in ``connection_init`` and subscribed to
``caseEvents(after: <cursor at the end of the shelter's log>)``: an integrator resuming from
its last cursor. (The cursor is sealed with the run's service key, as the service seals it.)

The writer is in the bench process too: it decides an ``AssessRisk`` on a case of its own with
the pure domain, appends the event with ``EventStore.append`` in a tenant transaction as the
service role, and takes its timestamp right after COMMIT returns. Each subscriber takes its
own when the message arrives; the latency is the difference on the same clock. One event is in
flight at a time: the writer waits until every subscriber has it (or a timeout) before the
next. Before timing, two warm-up events make sure every subscription is live.

Memory: the service's VmRSS just before the subscriptions of a level open, with all of them
open and idle, and its largest VmRSS while they receive events.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
import uuid
from collections import defaultdict
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench.common import MIB, MemorySampler, Result, latency_summary, log
from bench.database import BenchDatabase
from bench.server import Process
from service.db import tenant_transaction
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.events.announce import CommitAnnouncer
from service.events.cursor import CursorSealer, FeedPosition
from service.events.store import EventStore
from service.events.types import EventRegistry, Metadata

SUBSCRIPTION = """
subscription Feed($after: String) {
  caseEvents(after: $after) { cursor caseId version eventType }
}
"""
SHELTER = "moviera"
SLOW_SINGLE_MS = 50.0  # a single subscriber slower than this means delivery is held back


class Writer:
    """Appends one event per transaction to a case of its own and timestamps each commit."""

    def __init__(self, bench_db: BenchDatabase, tenant: uuid.UUID) -> None:
        self.engine = bench_db.app_engine(2)
        # Announced like the service's appends: a coalesced NOTIFY after each commit.
        self.announcer = CommitAnnouncer(bench_db.app_connect)
        self.store = EventStore(EventRegistry(rc.EVENT_TYPES), announce=self.announcer.committed)
        self.tenant = tenant
        self.case_id = uuid.uuid4()
        self.state: Any = None
        self.sent: dict[int, float] = {}
        self.meta = Metadata("bench-feed-writer", SHELTER, "caseworker", "bench", "bench")

    async def _append(self, command: Any) -> int:
        events = rc.decide(self.state, command)
        version = self.state.version if self.state is not None else 0
        async with tenant_transaction(self.engine, self.tenant) as conn:
            recorded = await self.store.append(
                conn,
                tenant_id=self.tenant,
                stream_id=self.case_id,
                stream_type="ReturnCase",
                expected_version=version,
                events=events,
                metadata=self.meta,
                occurred_at=dt.datetime.now(dt.UTC),
            )
        committed = time.perf_counter()
        for event in events:
            self.state = rc.evolve(self.state, event)
        self.sent[recorded[-1].version] = committed
        return recorded[-1].version

    async def open(self) -> int:
        return await self._append(
            rc.OpenReturnCase(
                self.case_id,
                dt.date(2025, 6, 1),
                "feed-bench",
                v.Gender.FEMALE,
                1990,
                "NG",
                "NG",
                ("en",),
                (v.ExploitationForm.FORCED_LABOUR,),
            )
        )

    async def next(self) -> int:
        return await self._append(rc.AssessRisk(self.case_id, dt.date(2025, 6, 2), v.RiskLevel.LOW))

    async def close(self) -> None:
        await self.announcer.close()
        await self.engine.dispose()


class Subscribers:
    """N WebSocket subscriptions and the arrival times of every event at each."""

    def __init__(self, port: int, token: str, after: str) -> None:
        self.url = f"ws://127.0.0.1:{port}/graphql"
        self.token = token
        self.after = after
        self.sockets: list[ClientConnection] = []
        self.readers: list[asyncio.Task[None]] = []
        self.arrivals: dict[int, list[float]] = defaultdict(list)
        self.waiting: dict[int, asyncio.Event] = {}
        self.expected = 0
        self.errors: list[str] = []

    async def _one(self) -> None:
        ws = await connect(
            self.url,
            subprotocols=["graphql-transport-ws"],
            ping_interval=None,
            open_timeout=60,
            close_timeout=5,
        )
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}
            )
        )
        ack = json.loads(await ws.recv())
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"no connection_ack: {ack}")
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIPTION, "variables": {"after": self.after}},
                }
            )
        )
        self.sockets.append(ws)
        self.readers.append(asyncio.get_running_loop().create_task(self._read(ws)))

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                arrived = time.perf_counter()
                message = json.loads(raw)
                if message.get("type") != "next":
                    self.errors.append(str(message)[:300])
                    continue
                version = message["payload"]["data"]["caseEvents"]["version"]
                got = self.arrivals[version]
                got.append(arrived)
                if len(got) >= self.expected and version in self.waiting:
                    self.waiting[version].set()

    async def open(self, count: int, parallel: int = 50) -> None:
        self.expected = count
        for start in range(0, count, parallel):
            await asyncio.gather(*(self._one() for _ in range(min(parallel, count - start))))

    async def wait_for(self, version: int, seconds: float) -> bool:
        event = self.waiting.setdefault(version, asyncio.Event())
        if len(self.arrivals[version]) >= self.expected:
            return True
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


async def _end_cursor(bench_db: BenchDatabase, tenant: uuid.UUID) -> str:
    conn = await bench_db.owner_connect()
    try:
        row = await conn.fetchrow(
            "SELECT transaction_id::text::bigint AS tx, global_position AS pos FROM events "
            "WHERE tenant_id = $1 ORDER BY transaction_id DESC, global_position DESC LIMIT 1",
            tenant,
        )
    finally:
        await conn.close()
    position = FeedPosition(row["tx"], row["pos"]) if row else FeedPosition(0, 0)
    return CursorSealer(bench_db.signing_key()).seal(position, tenant)


async def run(
    bench_db: BenchDatabase,
    service: Process,
    *,
    levels: dict[int, int],
    gap: float,
    patience: float,
) -> tuple[list[Result], dict[str, Any]]:
    conn = await bench_db.owner_connect()
    try:
        tenant = await conn.fetchval("SELECT id FROM tenants WHERE slug = $1", SHELTER)
    finally:
        await conn.close()
    token = bench_db.token(SHELTER)
    writer = Writer(bench_db, tenant)
    per_level: dict[int, dict[str, Any]] = {}
    memory: dict[str, Any] = {}
    try:
        await writer.open()
        for count, events in levels.items():
            after = await _end_cursor(bench_db, tenant)
            idle = service.memory()["VmRSS"]
            subs = Subscribers(service.port, token, after)
            started = time.perf_counter()
            try:
                await subs.open(count)
                opened = time.perf_counter() - started
                for _ in range(2):  # warm-up: every subscription live
                    version = await writer.next()
                    if not await subs.wait_for(version, 30):
                        raise RuntimeError(
                            f"feed: {count} subscribers did not all get the warm-up event "
                            f"({len(subs.arrivals[version])} did); {subs.errors[:2]}"
                        )
                await asyncio.sleep(0.5)
                open_rss = service.memory()["VmRSS"]
                latencies: list[float] = []
                missing = 0
                service.profile_on()
                with MemorySampler(service.pid) as sampler:
                    for _ in range(events):
                        version = await writer.next()
                        if not await subs.wait_for(version, patience):
                            missing += count - len(subs.arrivals[version])
                        sent = writer.sent[version]
                        latencies += [t - sent for t in subs.arrivals[version]]
                        await asyncio.sleep(gap)
                service.profile_off()
                per_level[count] = {
                    **latency_summary(latencies),
                    "events": events,
                    "missing_deliveries": missing,
                    "open_seconds": round(opened, 2),
                    "rss_before_mib": round(idle / MIB, 1),
                    "rss_open_idle_mib": round(open_rss / MIB, 1),
                    "rss_peak_mib": round(sampler.peak_rss / MIB, 1),
                    "errors": subs.errors[:3],
                }
                log(
                    f"feed: {count} subscribers: p50 {per_level[count]['p50_ms']} ms, "
                    f"p99 {per_level[count]['p99_ms']} ms, peak RSS "
                    f"{per_level[count]['rss_peak_mib']} MiB"
                )
                if count == max(levels):
                    memory = {
                        "subscriptions": count,
                        "idle_rss": idle,
                        "open_rss": open_rss,
                        "peak_rss": sampler.peak_rss,
                        "hwm": service.memory()["VmHWM"],
                    }
            finally:
                await subs.close()
                await asyncio.sleep(1.0)
    finally:
        await writer.close()
    low, high = min(levels), max(levels)
    p99_low, p99_high = per_level[low]["p99_ms"], per_level[high]["p99_ms"]
    ratio = p99_high / p99_low if p99_low else None
    details: dict[str, Any] = {str(k): d for k, d in per_level.items()}
    met: bool | None = ratio is not None and ratio <= 3
    if per_level[low]["p50_ms"] > SLOW_SINGLE_MS:
        # One subscriber should have an event within milliseconds. When it takes longer,
        # something else holds delivery back (e.g. a long transaction holding the feed's
        # visibility horizon), the denominator is inflated, and the ratio proves nothing.
        met = None
        details["warning"] = (
            f"p50 at {low} subscriber is {per_level[low]['p50_ms']} ms (> {SLOW_SINGLE_MS} ms): "
            "delivery is held back by something else, so the ratio is not judged"
        )
    results = [
        Result(
            scenario="4 feed",
            measure=f"commit-to-delivery p99 at {high} vs {low} subscriber(s)",
            figure=p99_high,
            unit="ms (p99)",
            baseline=p99_low,
            baseline_measure=f"p99 at {low} subscriber",
            ratio=round(ratio, 3) if ratio else None,
            ratio_meaning=f"p99({high}) / p99({low}) (lower is better)",
            target="<= 3",
            met=met,
            parameters={
                "levels": levels,
                "gap_seconds": gap,
                "shelter": SHELTER,
                "timeout_seconds": patience,
            },
            details=details,
        )
    ]
    for count, d in per_level.items():
        results.append(
            Result(
                scenario="4 feed",
                measure=f"commit-to-delivery at {count} subscriber(s)",
                figure=d["p50_ms"],
                unit="ms (p50)",
                details={"p99_ms": d["p99_ms"], "max_ms": d["max_ms"], "samples": d["samples"]},
                target="reported",
            )
        )
    return results, memory
