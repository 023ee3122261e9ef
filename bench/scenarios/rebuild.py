"""Scenario 5: ``rebuild_cases`` (events/s) against a raw sequential read of the same rows.

The rebuild is the one that builds the read models of the generated population: it runs as
the owner, like ``safe-future projections rebuild``, with the master keyring's cipher and as
many fill processes as the command's default (the cores this process may use, at most 4). The
floor is asyncpg reading the very rows the rebuild reads (same filter, same order, tenant by
tenant; every column as the store selects it, where the rebuild selects the same columns in
its bulk form, ``service.events.bulk_read``) through a server-side cursor and dropping them:
what the rebuild would cost if decoding, folding, encoding and writing the read models were
free. The raw read runs before and after the rebuild (the mean of both), so both sides see a
warm cache.
"""

from __future__ import annotations

import functools
import time

from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import Result, log, median
from bench.database import ROLE, BenchDatabase
from service.cli import fill_processes, rebuild_store
from service.events.projections.rebuild import FillProcesses, rebuild_cases
from service.events.store import COLUMNS

# The rebuild's own read (as the store's columns), plus the tenant predicate that its row-level
# security adds.
RAW_READ = (
    f"SELECT {COLUMNS} FROM events WHERE stream_type = 'ReturnCase' AND tenant_id = $1 "
    "ORDER BY stream_id, version"
)


async def raw_read(bench_db: BenchDatabase) -> tuple[int, float]:
    """Every case event, tenant by tenant, through a cursor; (rows, seconds)."""
    conn = await bench_db.owner_connect()
    try:
        tenants = [r[0] for r in await conn.fetch("SELECT id FROM tenants ORDER BY slug")]
        started = time.perf_counter()
        rows = 0
        for tenant in tenants:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant))
                async for _row in conn.cursor(RAW_READ, tenant, prefetch=10_000):
                    rows += 1
        return rows, time.perf_counter() - started
    finally:
        await conn.close()


async def run(bench_db: BenchDatabase, profile: object | None = None) -> list[Result]:
    raw_rows, raw_before = await raw_read(bench_db)
    engine = create_async_engine(bench_db.rebuild_url or bench_db.admin_url)
    store = rebuild_store(bench_db.settings)
    processes = FillProcesses(fill_processes(), functools.partial(rebuild_store, bench_db.settings))
    try:
        log(f"rebuild: folding {raw_rows:,} events into return_cases and case_timeline")
        started = time.perf_counter()
        if profile is not None:
            profile.enable()  # type: ignore[attr-defined]
        folded = await rebuild_cases(engine, store, ROLE, processes=processes)
        if profile is not None:
            profile.disable()  # type: ignore[attr-defined]
        took = time.perf_counter() - started
    finally:
        await engine.dispose()
    conn = await bench_db.owner_connect()
    try:
        await conn.execute("VACUUM ANALYZE return_cases")
        await conn.execute("VACUUM ANALYZE case_timeline")
    finally:
        await conn.close()
    _, raw_after = await raw_read(bench_db)
    raw_seconds = median([raw_before, raw_after])
    rebuild_rate = folded / took
    raw_rate = raw_rows / raw_seconds
    log(f"rebuild: {folded:,} events in {took:.1f} s; raw read {raw_seconds:.1f} s")
    return [
        Result(
            scenario="5 rebuild",
            measure="rebuild_cases (return_cases + case_timeline)",
            figure=round(rebuild_rate, 1),
            unit="events/s",
            baseline=round(raw_rate, 1),
            baseline_measure="asyncpg cursor over the same rows",
            ratio=round(rebuild_rate / raw_rate, 4),
            target=">= 0.3",
            met=rebuild_rate / raw_rate >= 0.3,
            parameters={
                "events": folded,
                "rows_read": raw_rows,
                "fill_processes": processes.count,
                "rebuilt_as": (
                    "a member of the owner without RLS bypass"
                    if bench_db.rebuild_url is not None
                    else "the owner"
                ),
            },
            details={
                "rebuild_seconds": round(took, 2),
                "raw_read_seconds": [round(raw_before, 2), round(raw_after, 2)],
            },
        )
    ]
