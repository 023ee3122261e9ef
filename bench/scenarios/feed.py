"""Scenario 4 (and the feed half of 7): commit-to-delivery latency at 1, 100, 1,000 and
10,000 subscribers.

All subscribers are WebSockets (``graphql-transport-ws``) to one service process, opened from
as many client processes as needed (``bench/feed_clients.py``: lean clients, 1,000 per
process, that stamp each message's arrival without decoding it), each authenticated with a
caseworker token of one shelter in ``connection_init`` and subscribed to
``caseEvents(after: <cursor at the end of the shelter's log>)``: an integrator resuming from
its last cursor. (The cursor is sealed with the run's service key, as the service seals it.)
Every level, the single subscriber too, uses the same client, so the ratios compare the
server's fan-out and not two clients.

Delivery is when the message reached the subscriber's socket: the kernel's receive timestamp
of its segment (``SO_TIMESTAMPNS``). The time the client process's own Python got to it is
reported beside it (``read_by_client``) but not judged: with 10,000 subscribers in ten
client processes on the service's own cores, a client still reading the sockets before a
socket stamps that socket's message late although the service had delivered it, which a
subscriber on its own machine does not (``docs/performance.md``, "Row 4, third pass").
A read is stamped with the arrival of the last segment it reads; when the server's keep-alive
ping (every 20 s per connection) reaches a held socket after the message, both are read
together and the stamp is the ping's. Those deliveries are kept out of the judged p99 (their
own arrival is unknown, at most that stamp) and reported beside it: how many, and the p99
with them counted at the ping's stamp (``stamped_by_a_later_frame``).

Judged with the client processes holding their reads while an event fans out (``HOLD``: 30
us per subscriber, 0.3 s at 10,000, about twice the longest fan-out measured), then reading
it all: the kernel stamps each message as it arrives either way, so what is judged is the
same delivery, without the bench's own ten client processes taking the two cores the service
fans out on (a deployment's subscribers run elsewhere). Each level then sends as many
events again with the clients reading as messages arrive, reported beside it ("clients
reading meanwhile") and not judged.

The writer is in the bench process too: it decides an ``AssessRisk`` on a case of its own with
the pure domain, appends the event with ``EventStore.append`` in a tenant transaction as the
service role, and takes its timestamp right after COMMIT returns. Each subscriber's message
is stamped when it arrives; the latency is the difference on the same clock. One event is in
flight at a time: the writer waits until every subscriber has it (or a timeout) before the
next. Before timing, two warm-up events make sure every subscription is live.

Memory: the service's VmRSS just before the subscriptions of a level open, with all of them
open and idle, and its largest VmRSS while they receive events.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.common import MIB, MemorySampler, Result, latency_summary, log
from bench.database import BenchDatabase
from bench.feed_clients import ClientPool
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
TARGETS = {1000: 3.0, 10000: 10.0}
# While an event fans out, the client processes hold their reads this long per subscriber
# (10,000: 0.3 s, about twice the longest fan-out measured); see the module's doc.
HOLD = 30e-6  # p99 at n subscribers / p99 at 1
RSS_TARGET_MIB = {10000: 800.0}
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


@dataclass
class _Timed:
    latencies: list[float]  # commit -> the subscriber's socket
    read_latencies: list[float]  # commit -> the client process read it
    missing: int
    # commit -> a later frame on the same socket (a ping), read with the message: the
    # message's own arrival is unknown, at most this
    later_latencies: list[float] = field(default_factory=list)
    later_frames: Counter[str] = field(default_factory=Counter)


async def _timed(
    subs: ClientPool,
    writer: Writer,
    events: int,
    gap: float,
    patience: float,
    hold: float | None,
) -> _Timed:
    """``events`` events, one in flight at a time; with ``hold``, the clients read none of
    an event until ``hold`` seconds after it was committed."""
    timed = _Timed([], [], 0)
    for _ in range(events):
        if hold is not None:
            await subs.hold()
        version = await writer.next()
        if not await subs.wait_for(version, patience, hold or 0.0):
            timed.missing += subs.expected - len(subs.arrivals[version])
        sent = writer.sent[version]
        timed.latencies += [t - sent for t in subs.received[version]]
        timed.later_latencies += [t - sent for t in subs.later[version]]
        timed.later_frames.update(subs.later_frames[version])
        timed.read_latencies += [t - sent for t in subs.arrivals[version]]
        await asyncio.sleep(gap)
    return timed


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
            subs = ClientPool(service.port, token, after, SUBSCRIPTION)
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
                service.profile_on()
                with MemorySampler(service.pid) as sampler:
                    # Judged: the client processes hold their reads while each event fans
                    # out (the kernel still stamps its arrival); then the same number of
                    # events with the clients reading as messages arrive (reported).
                    held = await _timed(subs, writer, events, gap, patience, HOLD * count)
                    live = await _timed(subs, writer, events, gap, patience, None)
                service.profile_off()
                per_level[count] = {
                    **latency_summary(held.latencies),
                    "events": events,
                    "missing_deliveries": held.missing + live.missing,
                    "open_seconds": round(opened, 2),
                    "rss_before_mib": round(idle / MIB, 1),
                    "rss_open_idle_mib": round(open_rss / MIB, 1),
                    "rss_peak_mib": round(sampler.peak_rss / MIB, 1),
                    "errors": subs.errors[:3],
                    "clients_reading": latency_summary(live.latencies),
                    "read_by_client": latency_summary(live.read_latencies),
                    # Judged deliveries whose read also brought a later frame, kept apart
                    # (their stamp is that frame's), and the p99 with them counted at it.
                    "stamped_by_a_later_frame": {
                        "deliveries": len(held.later_latencies),
                        "frames": dict(held.later_frames),
                        "p99_ms_counting_them": latency_summary(
                            held.latencies + held.later_latencies
                        )["p99_ms"],
                        "clients_reading": len(live.later_latencies),
                    },
                }
                reading = per_level[count]["clients_reading"]
                read = per_level[count]["read_by_client"]
                log(
                    f"feed: {count} subscribers: p50 {per_level[count]['p50_ms']} ms, "
                    f"p99 {per_level[count]['p99_ms']} ms (clients reading meanwhile: p50 "
                    f"{reading['p50_ms']} ms, p99 {reading['p99_ms']} ms; read by the client: "
                    f"p99 {read['p99_ms']} ms), peak RSS {per_level[count]['rss_peak_mib']} MiB; "
                    f"{len(held.later_latencies)} stamped by a later frame "
                    f"{dict(held.later_frames)} (p99 with them "
                    f"{per_level[count]['stamped_by_a_later_frame']['p99_ms_counting_them']} ms)"
                )
                if count == 1000 or (count == max(levels) and not memory):
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
    low = min(levels)
    p99_low = per_level[low]["p99_ms"]
    details: dict[str, Any] = {str(k): d for k, d in per_level.items()}
    judged = p99_low is not None and per_level[low]["p50_ms"] <= SLOW_SINGLE_MS
    if not judged:
        # One subscriber should have an event within milliseconds. When it takes longer,
        # something else holds delivery back (e.g. a long transaction holding the feed's
        # visibility horizon), the denominator is inflated, and the ratio proves nothing.
        details["warning"] = (
            f"p50 at {low} subscriber is {per_level[low]['p50_ms']} ms (> {SLOW_SINGLE_MS} ms): "
            "delivery is held back by something else, so the ratio is not judged"
        )
    results: list[Result] = []
    for high, target in TARGETS.items():
        if high not in per_level:
            continue
        p99_high = per_level[high]["p99_ms"]
        ratio = p99_high / p99_low if p99_low else None
        read_low = per_level[low]["read_by_client"]["p99_ms"]
        read_high = per_level[high]["read_by_client"]["p99_ms"]
        reading_low = per_level[low]["clients_reading"]["p99_ms"]
        reading_high = per_level[high]["clients_reading"]["p99_ms"]
        reading_ratio = round(reading_high / reading_low, 3) if reading_low else None
        met: bool | None = (
            ratio is not None and ratio <= target and not per_level[high]["missing_deliveries"]
        )
        results.append(
            Result(
                scenario="4 feed",
                measure=f"commit-to-delivery p99 at {high} vs {low} subscriber(s)",
                figure=p99_high,
                unit="ms (p99)",
                baseline=p99_low,
                baseline_measure=f"p99 at {low} subscriber",
                ratio=round(ratio, 3) if ratio else None,
                ratio_meaning=f"p99({high}) / p99({low}) (lower is better)",
                target=f"<= {target:g}",
                met=met if judged else None,
                parameters={
                    "levels": levels,
                    "gap_seconds": gap,
                    "shelter": SHELTER,
                    "timeout_seconds": patience,
                },
                details={
                    **details,
                    # The same ratio with the clients reading meanwhile, and from the client
                    # processes' own stamps then (neither judged).
                    "clients_reading_ratio": reading_ratio,
                    "read_by_client_ratio": round(read_high / read_low, 3) if read_low else None,
                },
            )
        )
        results.append(
            Result(
                scenario="4 feed",
                measure=f"the same, clients reading meanwhile: p99 at {high} vs {low}",
                figure=reading_high,
                unit="ms (p99)",
                baseline=reading_low,
                baseline_measure=f"p99 at {low} subscriber, clients reading",
                ratio=reading_ratio,
                target="reported",
            )
        )
    for high, limit in RSS_TARGET_MIB.items():
        if high not in per_level:
            continue
        peak = max(per_level[high]["rss_peak_mib"], per_level[high]["rss_open_idle_mib"])
        results.append(
            Result(
                scenario="4 feed",
                measure=f"service RSS with {high:,} subscribers (peak while delivering)",
                figure=peak,
                unit="MiB",
                target=f"<= {limit:g} MiB",
                met=peak <= limit,
                details={
                    k: per_level[high][k]
                    for k in ("rss_before_mib", "rss_open_idle_mib", "rss_peak_mib")
                },
            )
        )
    for count, d in per_level.items():
        results.append(
            Result(
                scenario="4 feed",
                measure=f"commit-to-delivery at {count} subscriber(s)",
                figure=d["p50_ms"],
                unit="ms (p50)",
                details={
                    "p99_ms": d["p99_ms"],
                    "max_ms": d["max_ms"],
                    "read_by_client": d["read_by_client"],
                    "samples": d["samples"],
                    "missing_deliveries": d["missing_deliveries"],
                    "open_seconds": d["open_seconds"],
                    "stamped_by_a_later_frame": d["stamped_by_a_later_frame"],
                },
                target="reported",
            )
        )
    return results, memory
