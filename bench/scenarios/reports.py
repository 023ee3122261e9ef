"""Scenario 6: CoMensha's caseload report by three dimensions against a plain GROUP BY.

The measuring code is ``bench/reports_caseload.py`` (the reports work's own benchmark); this
module only feeds it the run's population instead of the one that script generates when run
alone. First the report projection follows every shelter's feed into ``report_cases`` (as a
service process would; timed as its own figure), then ``reports_caseload`` times
``caseload_report`` against a plain ``SELECT ... GROUP BY`` over the same read model.

The catch-up is judged against a raw read of the events it consumes (asyncpg cursor, shelter
by shelter, the case events of the registry's types in feed order, as the service role under
each shelter's setting), read before and after the catch-up (the mean of both); target
>= 0.3. The report itself is judged as time / plain ``GROUP BY`` time, target <= 2 (at
5,000 cases in the quick run and 100,000 in the full run).

Hook: a ``measure(app, admin, repeat, k)`` in ``reports_caseload`` returning a list of dicts
(``label``, ``report_ms``, ``plain_ms``, ...) is used when present; otherwise its
``_measure`` runs and its printed lines are read. Without the module at all, the scenario
reports that it is missing and the rest of the run goes on.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import re
import time
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import Result, log
from bench.database import BenchDatabase
from service.domain.return_case import EVENT_TYPES
from service.events.store import COLUMNS, FEED_ORDER, EventStore
from service.events.types import EventRegistry
from service.reports.projection import catch_up_all

RAW_FEED_READ = (
    f"SELECT {COLUMNS} FROM events WHERE tenant_id = $1 AND stream_type = 'ReturnCase' "
    f"AND event_type = ANY($2::text[]) ORDER BY {FEED_ORDER}"
)


async def raw_feed_read(bench_db: BenchDatabase) -> tuple[int, float]:
    """Every event the report projection consumes, shelter by shelter; (rows, seconds)."""
    conn = await bench_db.app_connect()
    types = sorted(EventRegistry(EVENT_TYPES).event_types)
    try:
        shelters = [
            r[0]
            for r in await conn.fetch("SELECT id FROM tenants WHERE kind = 'shelter' ORDER BY slug")
        ]
        started = time.perf_counter()
        rows = 0
        for tenant in shelters:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant))
                async for _row in conn.cursor(RAW_FEED_READ, tenant, types, prefetch=10_000):
                    rows += 1
        return rows, time.perf_counter() - started
    finally:
        await conn.close()


_HEADING = re.compile(r"^caseload by (?P<dims>.+?); (?P<label>.+?) \((?P<parts>\d+) fixed")
_LINE = re.compile(
    r"^\s+(?P<which>caseload report|plain GROUP BY)\s+median\s+(?P<median>[\d.]+) ms"
    r"\s+p95\s+(?P<p95>[\d.]+) ms"
)


def _parse(printed: str) -> list[dict[str, Any]]:
    """The figures ``reports_caseload._measure`` prints, one dict per period."""
    out: list[dict[str, Any]] = []
    for line in printed.splitlines():
        heading = _HEADING.match(line)
        if heading:
            out.append(
                {
                    "label": heading["label"],
                    "dimensions": heading["dims"],
                    "periods": int(heading["parts"]),
                }
            )
            continue
        figure = _LINE.match(line)
        if figure and out:
            key = "report" if figure["which"] == "caseload report" else "plain"
            out[-1][f"{key}_ms"] = float(figure["median"])
            out[-1][f"{key}_p95_ms"] = float(figure["p95"])
    return [m for m in out if "report_ms" in m and "plain_ms" in m]


async def run(
    bench_db: BenchDatabase, *, repeat: int, k: int = 11, profile: object | None = None
) -> list[Result]:
    try:
        caseload = importlib.import_module("bench.reports_caseload")
    except ImportError:
        log("reports: bench/reports_caseload.py is not there yet; scenario 6 skipped")
        return [
            Result(
                scenario="6 reports",
                measure="caseload by 3 dimensions (bench/reports_caseload.py missing)",
                figure=None,
                unit="ms",
                target="hook: bench/reports_caseload.py",
            )
        ]
    app = bench_db.app_engine(4)
    admin = create_async_engine(bench_db.admin_url)
    results: list[Result] = []
    try:
        raw_rows, raw_before = await raw_feed_read(bench_db)
        log("reports: the report projection follows every shelter's feed")
        started = time.perf_counter()
        if profile is not None:
            profile.enable()  # type: ignore[attr-defined]
        caught = await catch_up_all(app, EventStore(EventRegistry(EVENT_TYPES)))
        if profile is not None:
            profile.disable()  # type: ignore[attr-defined]
        took = time.perf_counter() - started
        conn = await bench_db.owner_connect()
        try:
            await conn.execute("VACUUM ANALYZE report_cases")
            rows = await conn.fetchval("SELECT count(*) FROM report_cases")
        finally:
            await conn.close()
        _, raw_after = await raw_feed_read(bench_db)
        rate = caught.applied / took
        raw_rate = raw_rows / ((raw_before + raw_after) / 2)
        results.append(
            Result(
                scenario="6 reports",
                measure="report projection catch-up vs raw read of its events",
                figure=round(rate, 1),
                unit="events/s",
                baseline=round(raw_rate, 1),
                baseline_measure="asyncpg cursor over the same events, feed order",
                ratio=round(rate / raw_rate, 4),
                target=">= 0.3",
                met=rate / raw_rate >= 0.3,
                parameters={"events": caught.applied, "rows_read": raw_rows, "report_cases": rows},
                details={
                    "seconds": round(took, 2),
                    "raw_read_seconds": [round(raw_before, 2), round(raw_after, 2)],
                },
            )
        )
        log(f"reports: {caught.applied:,} events projected in {took:.1f} s; timing the report")
        if hasattr(caseload, "measure"):
            measured = await caseload.measure(app, admin, repeat, k)
        else:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                await caseload._measure(app, admin, repeat, k)
            measured = _parse(printed.getvalue())
            if not measured:
                raise RuntimeError(
                    "bench/reports_caseload.py printed no figures this module can read:\n"
                    + printed.getvalue()
                )
        for m in measured:
            ratio = m["report_ms"] / m["plain_ms"]
            results.append(
                Result(
                    scenario="6 reports",
                    measure=f"caseload by {m.get('dimensions', '3 dimensions')}, {m['label']}",
                    figure=m["report_ms"],
                    unit="ms (median)",
                    baseline=m["plain_ms"],
                    baseline_measure="plain SELECT ... GROUP BY, same read model",
                    ratio=round(ratio, 3),
                    ratio_meaning="time / plain time (lower is better)",
                    target="<= 2",
                    met=ratio <= 2,
                    parameters={
                        "cases": rows,
                        "repeat": repeat,
                        "k": k,
                        "periods": m.get("periods"),
                    },
                    details={k_: v for k_, v in m.items() if k_.endswith("p95_ms")},
                )
            )
    finally:
        await app.dispose()
        await admin.dispose()
    return results


async def catch_up(bench_db: BenchDatabase) -> int:
    """Bring ``report_cases`` up to date (untimed); returns the events applied."""
    app = bench_db.app_engine(2)
    try:
        return (await catch_up_all(app, EventStore(EventRegistry(EVENT_TYPES)))).applied
    finally:
        await app.dispose()
