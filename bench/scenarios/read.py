"""Scenario 3: ``returnCases(first: 50)`` with partner organisations and timelines.

Closed-loop load from the bench process (8 clients, one keep-alive connection each, spread
over the six shelters, each with its shelter's caseworker token) against the service and,
in alternating rounds of equal length, against ``bench/baseline_app.py``: the same SQL via
the same read functions in one tenant transaction, the same JSON, the same pool size. Before
timing, both answers are compared for every shelter (they must be equal).

The same again for a 3-field variant (``edges { node { id version phase } }``), whose floor
is the same endpoint with ``&variant=simple``.

Statements per request are counted on the wire (``bench/wirecount.py``) for a service and a
baseline process started for that purpose behind the counting proxy, at ``first: 5``, ``50``
and ``100`` (the maximum): equal counts show that the list costs a fixed number of statements
whatever its length (DataLoaders batch every nested lookup).
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from typing import Any

from bench import server
from bench.common import Budget, MemorySampler, Result, latency_summary, log, run_workers
from bench.database import BenchDatabase
from bench.http import Connection, GraphQL
from bench.wirecount import StatementCounter, per_request

QUERY = """
query Cases($first: Int!) {
  returnCases(first: $first) {
    edges { cursor node {
      id version phase countryOfOrigin intakeDate
      partnerOrganisations { id name country }
      timeline { version }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
# The 3-field variant: the page's own columns, nothing nested.
SIMPLE_QUERY = """
query Simple($first: Int!) {
  returnCases(first: $first) { edges { node { id version phase } } }
}
"""
QUERIES = {"full": QUERY, "simple": SIMPLE_QUERY}
CLIENTS = 8
PAGES = (5, 50, 100)  # page sizes whose statements are counted (100: the maximum)


async def shelters(bench_db: BenchDatabase) -> list[tuple[str, uuid.UUID]]:
    conn = await bench_db.owner_connect()
    try:
        rows = await conn.fetch("SELECT slug, id FROM tenants WHERE kind = 'shelter' ORDER BY slug")
        return [(r["slug"], r["id"]) for r in rows]
    finally:
        await conn.close()


class Target:
    """How one client asks for a page: GraphQL at the service, GET at the baseline."""

    def __init__(self, name: str, port: int, tokens: dict[str, str], variant: str = "full") -> None:
        self.name = name
        self.port = port
        self.tokens = tokens
        self.variant = variant

    def client(self, slug: str, tenant: uuid.UUID, first: int) -> Any:
        if self.name == "service":
            gql = GraphQL(self.port, self.tokens[slug])
            query = QUERIES[self.variant]
            body = json.dumps({"query": query, "variables": {"first": first}}).encode()

            async def ask() -> tuple[int, bytes]:
                return await gql.conn.request("POST", "/graphql", body)

            return ask, gql.close
        conn = Connection(self.port)
        path = f"/cases?tenant={tenant}&first={first}&variant={self.variant}"

        async def get() -> tuple[int, bytes]:
            return await conn.request("GET", path)

        return get, conn.close


async def _load(
    target: Target, places: list[tuple[str, uuid.UUID]], first: int, budget: Budget
) -> Budget:
    async def worker(i: int, budget: Budget) -> None:
        slug, tenant = places[i % len(places)]
        ask, close = target.client(slug, tenant, first)
        try:
            while budget.take():
                started = time.perf_counter()
                status, body = await ask()
                took = time.perf_counter() - started
                if status != 200 or b'"errors"' in body[:200]:
                    budget.fail(f"{target.name}: HTTP {status} {body[:300]!r}")
                else:
                    budget.record(took)
        finally:
            close()

    return await run_workers(CLIENTS, worker, budget)


async def _same_answers(
    service: Target, baseline: Target, places: list[tuple[str, uuid.UUID]], first: int
) -> list[str]:
    mismatches = []
    for slug, tenant in places:
        ask_s, close_s = service.client(slug, tenant, first)
        ask_b, close_b = baseline.client(slug, tenant, first)
        try:
            s_status, s_body = await ask_s()
            b_status, b_body = await ask_b()
        finally:
            close_s()
            close_b()
        s_data = json.loads(s_body).get("data") if s_status == 200 else s_body
        b_data = json.loads(b_body).get("data") if b_status == 200 else b_body
        if s_data != b_data:
            mismatches.append(f"{slug}: service {str(s_data)[:200]} / baseline {str(b_data)[:200]}")
    return mismatches


async def count_statements(
    bench_db: BenchDatabase,
    places: list[tuple[str, uuid.UUID]],
    tokens: dict[str, str],
    pool_size: int,
    requests: int,
    patches: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Statements per request at each of ``PAGES``, for the service and the baseline."""
    url = bench_db.admin_url
    socket_dir = url.query.get("host")
    if isinstance(socket_dir, tuple):
        socket_dir = socket_dir[0]
    if socket_dir is not None and str(socket_dir).startswith("/"):
        counter = StatementCounter(str(socket_dir), port=url.port or 5432)
    else:
        counter = StatementCounter(None, url.host or "127.0.0.1", url.port or 5432)
    await counter.start()
    query = {**url.query, "host": counter.socket_dir}
    proxied = url.set(host=None, port=None, query=query)
    env_db = dataclasses.replace(
        bench_db,
        admin_url=proxied,
        app_url=bench_db.app_url.set(host=None, port=None, query=query),
        env={**bench_db.env, "DATABASE_URL": proxied.render_as_string(hide_password=False)},
    )
    out: dict[str, Any] = {"method": "counted on the wire (bench/wirecount.py)"}
    try:
        for name, make in (("service", server.service), ("baseline", server.baseline)):
            proc = make(env_db, pool_size=pool_size, patches=patches)
            await proc.start()
            try:
                slug, tenant = places[0]
                for variant, first in [(v, n) for v in QUERIES for n in PAGES]:
                    target = Target(name, proc.port, tokens, variant)
                    label = f"first={first}" if variant == "full" else f"{variant} first={first}"
                    ask, close = target.client(slug, tenant, first)
                    try:
                        for _ in range(10):  # warm: prepared statements, pool connections
                            await ask()
                        for _attempt in range(4):
                            before = counter.snapshot()
                            for _ in range(requests):
                                status, body = await ask()
                                assert status == 200, body[:300]
                            delta = counter.snapshot() - before
                            # The service's background report projection polls every few
                            # seconds; a window it ran in is measured again.
                            if not any("report_" in k or "events" in k for k in delta):
                                break
                    finally:
                        close()
                    counts = per_request(before, before + delta, requests)
                    # A request costs a whole number of statements; a background statement
                    # now and then (a new pool connection's type introspection, the report
                    # projection's poll) adds a few hundredths: rounded away.
                    out.setdefault(name, {})[label] = {
                        "statements": round(sum(counts.values())),
                        "measured": round(sum(counts.values()), 2),
                        "by_kind": counts,
                    }
            finally:
                await proc.stop()
    finally:
        await counter.stop()
    return out


def _merge(budgets: list[Budget]) -> tuple[float, list[float], int, str | None]:
    done = sum(b.completed for b in budgets)
    elapsed = sum(b.elapsed for b in budgets)
    latencies = [x for b in budgets for x in b.latencies]
    errors = sum(b.errors for b in budgets)
    first_error = next((b.first_error for b in budgets if b.first_error), None)
    return done / elapsed if elapsed else 0.0, latencies, errors, first_error


async def run(
    bench_db: BenchDatabase,
    service: server.Process,
    *,
    pool_size: int,
    seconds: float,
    rounds: int,
    max_requests: int,
    count_requests: int,
    patches: tuple[str, ...] = (),
) -> tuple[list[Result], dict[str, int]]:
    """Returns the results and the service's memory during the scenario."""
    places = await shelters(bench_db)
    tokens = {slug: bench_db.token(slug) for slug, _ in places}
    baseline_proc = server.baseline(bench_db, pool_size=pool_size, patches=patches)
    await baseline_proc.start()
    results: list[Result] = []
    try:
        rates: dict[str, tuple[float, float]] = {}
        memory: dict[str, int] = {"peak_rss": 0, "hwm": 0}
        for variant in QUERIES:
            svc = Target("service", service.port, tokens, variant)
            base = Target("baseline", baseline_proc.port, tokens, variant)
            mismatches = await _same_answers(svc, base, places, 50)
            mismatches += await _same_answers(svc, base, places, 5)
            if mismatches:
                log(
                    f"read ({variant}): the service and the baseline answer differently:\n  "
                    + "\n  ".join(mismatches)
                )
            for target in (svc, base):  # warm up both
                await _load(target, places, 50, Budget(max_requests, min(3.0, seconds)))
            runs: dict[str, list[Budget]] = {"service": [], "baseline": []}
            with MemorySampler(service.pid) as sampler:
                for _ in range(rounds):
                    for target in (svc, base):
                        if target is svc:
                            service.profile_on()
                        budget = await _load(target, places, 50, Budget(max_requests, seconds))
                        service.profile_off()
                        runs[target.name].append(budget)
                mem = sampler.sample()
            memory = {
                "peak_rss": max(memory["peak_rss"], sampler.peak_rss),
                "hwm": max(memory["hwm"], mem.get("VmHWM", 0)),
            }
            s_rate, s_lat, s_err, s_first = _merge(runs["service"])
            b_rate, b_lat, b_err, b_first = _merge(runs["baseline"])
            rates[variant] = (s_rate, b_rate)
            log(f"read ({variant}): service {s_rate:.1f} req/s, baseline {b_rate:.1f} req/s")
            measure = (
                "returnCases(first: 50) + partnerOrganisations + timeline"
                if variant == "full"
                else "returnCases(first: 50) { edges { node { id version phase } } }"
            )
            results.append(
                Result(
                    scenario="3 read",
                    measure=measure,
                    figure=round(s_rate, 1),
                    unit="req/s",
                    baseline=round(b_rate, 1),
                    baseline_measure="Starlette endpoint, same SQL and JSON",
                    ratio=round(s_rate / b_rate, 4) if b_rate else None,
                    target=">= 1.0",
                    met=bool(b_rate) and s_rate / b_rate >= 1.0,
                    parameters={
                        "clients": CLIENTS,
                        "pool_size": pool_size,
                        "rounds": rounds,
                        "seconds_per_round": seconds,
                        "max_requests_per_round": max_requests,
                    },
                    details={
                        "service": {
                            **latency_summary(s_lat),
                            "errors": s_err,
                            "first_error": s_first,
                        },
                        "baseline": {
                            **latency_summary(b_lat),
                            "errors": b_err,
                            "first_error": b_first,
                        },
                        "same_json": not mismatches,
                        "mismatches": mismatches[:3],
                    },
                )
            )
        counted = await count_statements(
            bench_db, places, tokens, pool_size, count_requests, patches
        )
        svc_counts = counted.get("service", {})
        totals = [svc_counts.get(f"first={n}", {}).get("statements") for n in PAGES]
        simple = [svc_counts.get(f"simple first={n}", {}).get("statements") for n in PAGES]
        # Constant: the same statements at 50 and 100 rows, and no more at 5 (a short page
        # may need fewer: five cases without partners skip the organisations lookup).
        constant = None not in totals and totals[1] == totals[2] and totals[0] <= totals[1]
        results.append(
            Result(
                scenario="3 read",
                measure="statements per request at first: 100 vs 50 vs 5 (service)",
                figure=totals[2],
                unit="statements/request",
                baseline=totals[1],
                baseline_measure="the same at first: 50",
                ratio=None,
                ratio_meaning="constant when figure == baseline (and first: 5 no more)",
                target="constant as the page grows",
                met=constant,
                parameters={"requests_per_window": count_requests},
                details=counted,
            )
        )
        most = max((t for t in totals + simple if t is not None), default=None)
        results.append(
            Result(
                scenario="3 read",
                measure="statements per request, most at first: 5, 50 or 100, both queries",
                figure=most,
                unit="statements/request",
                target="<= 4",
                met=None if most is None else most <= 4,
                parameters={"requests_per_window": count_requests},
                details={
                    "by_page": dict(zip((f"first={n}" for n in PAGES), totals, strict=True)),
                    "by_page_3_fields": dict(
                        zip((f"first={n}" for n in PAGES), simple, strict=True)
                    ),
                    "rates": rates,
                },
            )
        )
    finally:
        await baseline_proc.stop()
    return results, memory
