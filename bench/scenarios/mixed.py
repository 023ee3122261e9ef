"""Scenario 8: latency under mixed load, all at once against one service process.

- writers: 4 case workers (over the six shelters) walking cases through the method with
  GraphQL mutations, as in scenario 2;
- readers: 4 clients asking ``returnCases(first: 50)`` with partners and timelines, as in 3;
- subscribers: 1,000 WebSockets on one shelter's feed from a lean client process, as in 4
  (they also receive the events the writers of that shelter append; only the probe's case is
  timed);
- a report: one CoMensha analyst asking the caseload by shelter, phase and form of
  exploitation for one year, over and over;
- a probe: the bench process appends one event to a case of its own in the subscribers'
  shelter with ``EventStore.append`` every ``gap`` seconds and stamps it right after COMMIT;
  commit-to-delivery is measured on these events at every subscriber.

Reported: p50/p99 of each kind of request and of commit-to-delivery; judged: the
commit-to-delivery p99 <= 250 ms.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from bench.common import Budget, MemorySampler, Result, latency_summary, log, run_workers
from bench.database import BenchDatabase
from bench.feed_clients import ClientPool
from bench.http import GraphQL
from bench.scenarios import command, feed, read
from bench.server import Process
from service.schema.ids import to_global_id

WRITERS = 4
READERS = 4
SUBSCRIBERS = 1000
TARGET_P99_MS = 250.0
REPORT = (
    "query Caseload($p: ReportPeriodInput!, $g: [ReportDimension!]!) { reports { "
    "caseload(period: $p, groupBy: $g) { grandTotal { value suppressed } } } }"
)
REPORT_VARIABLES = {"p": {"year": 2024}, "g": ["SHELTER", "PHASE", "EXPLOITATION_FORM"]}


async def run(
    bench_db: BenchDatabase,
    service: Process,
    *,
    seconds: float,
    gap: float,
    patience: float,
) -> list[Result]:
    places = await read.shelters(bench_db)
    tokens = {slug: bench_db.token(slug) for slug, _ in places}
    tenant = dict(places)[feed.SHELTER]
    steps = command._steps(await command._partner(bench_db))
    mutations = {name: command._mutation(name) for name, _ in steps}
    analyst = bench_db.token("comensha", ("comensha-analyst",))
    target = read.Target("service", service.port, tokens)
    stop = asyncio.Event()

    def budget() -> Budget:
        return Budget(10**9, seconds + patience + 30)

    async def writer(i: int, b: Budget) -> None:
        slug, _ = places[i % len(places)]
        client = GraphQL(service.port, tokens[slug])
        n = 0
        try:
            while not stop.is_set():
                n += 1
                case_id: str | None = None
                version = 0
                for name, fields in steps:
                    if stop.is_set() or not b.take():
                        return
                    data = {**fields(n), "idempotencyKey": uuid.uuid4().hex}
                    if case_id is not None:
                        data |= {"caseId": case_id, "expectedVersion": version}
                    started = time.perf_counter()
                    status, body = await client.raw(mutations[name], {"input": data})
                    took = time.perf_counter() - started
                    if status != 200 or b'"errors"' in body:
                        b.fail(f"{name}: HTTP {status} {body[:300]!r}")
                        break
                    b.record(took)
                    payload = json.loads(body)["data"][name]
                    case_id, version = payload["case"]["id"], payload["version"]
        finally:
            client.close()

    async def reader(i: int, b: Budget) -> None:
        slug, place = places[(i + 1) % len(places)]
        ask, close = target.client(slug, place, 50)
        try:
            while not stop.is_set() and b.take():
                started = time.perf_counter()
                status, body = await ask()
                took = time.perf_counter() - started
                if status != 200 or b'"errors"' in body[:200]:
                    b.fail(f"read: HTTP {status} {body[:300]!r}")
                else:
                    b.record(took)
        finally:
            close()

    async def reporter(_i: int, b: Budget) -> None:
        client = GraphQL(service.port, analyst)
        try:
            while not stop.is_set() and b.take():
                started = time.perf_counter()
                status, body = await client.raw(REPORT, REPORT_VARIABLES)
                took = time.perf_counter() - started
                if status != 200 or b'"errors"' in body:
                    b.fail(f"report: HTTP {status} {body[:300]!r}")
                else:
                    b.record(took)
        finally:
            client.close()

    probe = feed.Writer(bench_db, tenant)
    subs: ClientPool | None = None
    delivery: list[float] = []
    missing = 0
    probes = 0
    budgets = {"mutation": budget(), "read": budget(), "report": budget()}
    try:
        await probe.open()
        case_gid = to_global_id("ReturnCase", probe.case_id)
        subs = ClientPool(
            service.port,
            tokens[feed.SHELTER],
            await feed._end_cursor(bench_db, tenant),
            feed.SUBSCRIPTION,
            match=f'"{case_gid}"'.encode(),
        )
        opened_at = time.perf_counter()
        await subs.open(SUBSCRIBERS)
        log(f"mixed: {SUBSCRIBERS} subscribers open in {time.perf_counter() - opened_at:.1f} s")
        for _ in range(2):  # warm-up: every subscription live
            version = await probe.next()
            if not await subs.wait_for(version, 30):
                raise RuntimeError(
                    f"mixed: the warm-up event reached {len(subs.arrivals[version])} "
                    f"of {SUBSCRIBERS} subscribers; {subs.errors[:2]}"
                )
        load = [
            asyncio.ensure_future(run_workers(WRITERS, writer, budgets["mutation"])),
            asyncio.ensure_future(run_workers(READERS, reader, budgets["read"])),
            asyncio.ensure_future(run_workers(1, reporter, budgets["report"])),
        ]
        await asyncio.sleep(1.0)  # the load is running before the first probe
        service.profile_on()
        with MemorySampler(service.pid) as sampler:
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                version = await probe.next()
                if not await subs.wait_for(version, patience):
                    missing += SUBSCRIBERS - len(subs.arrivals[version])
                sent = probe.sent[version]
                delivery += [t - sent for t in subs.arrivals[version]]
                probes += 1
                await asyncio.sleep(gap)
            stop.set()
            await asyncio.gather(*load)
        service.profile_off()
    finally:
        stop.set()
        if subs is not None:
            await subs.close()
        await probe.close()
    lat = latency_summary(delivery)
    p99 = lat["p99_ms"]
    log(
        f"mixed: commit-to-delivery p50 {lat['p50_ms']} ms, p99 {p99} ms over {probes} probes; "
        + ", ".join(
            f"{k} {b.completed} (p99 {latency_summary(b.latencies)['p99_ms']} ms, "
            f"{b.errors} errors)"
            for k, b in budgets.items()
        )
    )
    params = {
        "writers": WRITERS,
        "readers": READERS,
        "subscribers": SUBSCRIBERS,
        "report_clients": 1,
        "seconds": seconds,
        "probe_gap_seconds": gap,
        "shelter": feed.SHELTER,
    }
    results = [
        Result(
            scenario="8 mixed",
            measure=f"commit-to-delivery p99, {SUBSCRIBERS} subscribers under mixed load",
            figure=p99,
            unit="ms (p99)",
            target=f"<= {TARGET_P99_MS:.0f} ms",
            met=p99 <= TARGET_P99_MS and missing == 0,
            parameters=params,
            details={
                **lat,
                "probes": probes,
                "missing_deliveries": missing,
                "errors": subs.errors[:3] if subs is not None else [],
                "server_peak_rss_mib": round(sampler.peak_rss / (1024 * 1024), 1),
            },
        )
    ]
    for kind, b in budgets.items():
        summary = latency_summary(b.latencies)
        results.append(
            Result(
                scenario="8 mixed",
                measure=f"{kind} under mixed load: p50 (p99 {summary['p99_ms']:.0f} ms)",
                figure=summary["p50_ms"],
                unit="ms (p50)",
                target="reported",
                details={
                    **summary,
                    "per_second": round(b.rate, 1),
                    "errors": b.errors,
                    "first_error": b.first_error,
                },
            )
        )
    return results
