"""Benchmark: the HTCDS export of a shelter's cases, streamed, against a raw read of its rows.

    .venv/bin/python -m bench.htcds_export                 # 10,000 cases in one shelter
    .venv/bin/python -m bench.htcds_export --cases 2000    # quicker

A fresh database gets a generated population (bench/populate.py; the read models built by the
rebuild), then one shelter's tenant admin downloads ``/exports/htcds.csv`` and ``.json``
through the real app (httpx over ASGI, the response consumed chunk by chunk). Measured in the
same run:

- ``export``: cases/s of the streamed download, and the peak of Python memory allocated while
  it ran (``tracemalloc``), for the whole population and for a fifth of it: a streamed export
  keeps the peak flat as the number of cases grows;
- ``raw``: asyncpg reading the same rows (the export's own statement) through a cursor and
  dropping them: the floor.

Prints the figures and the ratio export / raw (cases/s). Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tracemalloc
from typing import Any

import httpx

from bench import database
from bench.populate import SHELTER_SHARES, populate
from bench.scenarios import rebuild
from service.app import create_app

SHELTER = "hvo-querido"
RAW = (
    "SELECT rc.case_id, rc.phase, rc.gender, rc.nationality, rc.languages, "
    "rc.exploitation_forms, rc.intake_date, rc.closing_reason, rc.referrals, rc.personal, "
    "(SELECT coalesce(jsonb_object_agg(o.id::text, jsonb_build_object('name', o.name, 'kind', "
    "o.kind, 'country', o.country, 'city', o.city, 'region', o.region, 'latitude', o.latitude, "
    "'longitude', o.longitude)), '{}') FROM organisations o "
    "WHERE o.id = ANY(rc.partner_organisation_ids)) AS partners "
    "FROM return_cases rc ORDER BY rc.intake_date, rc.case_id"
)


async def raw(bench_db: database.BenchDatabase) -> tuple[int, float]:
    conn = await bench_db.app_connect()
    try:
        tenant = await conn.fetchval("SELECT id FROM tenants WHERE slug = $1", SHELTER)
        started = time.perf_counter()
        rows = 0
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant))
            async for _row in conn.cursor(RAW, prefetch=500):
                rows += 1
        return rows, time.perf_counter() - started
    finally:
        await conn.close()


async def download(client: httpx.AsyncClient, token: str, fmt: str, limit: int | None) -> Any:
    """(cases, seconds, peak bytes) of one streamed download; stops after ``limit`` lines."""
    tracemalloc.start()
    started = time.perf_counter()
    lines = 0
    async with client.stream(
        "GET", f"/exports/htcds.{fmt}", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status_code == 200, response.status_code
        async for chunk in response.aiter_text():
            lines += chunk.count("\r\n") if fmt == "csv" else chunk.count('{"caseId"')
            if limit is not None and lines >= limit:
                break
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    cases = lines - 1 if fmt == "csv" else lines
    return min(cases, limit) if limit else cases, seconds, peak


async def main(cases: int) -> None:
    bench_db = await database.create()
    try:
        total = round(cases / SHELTER_SHARES[SHELTER])
        pop = await populate(database.asyncpg_dsn(bench_db.admin_url), total)
        print(f"population: {pop.cases} cases ({pop.per_shelter[SHELTER]} at {SHELTER})")
        await rebuild.run(bench_db)
        app = create_app(bench_db.settings, bench_db.app_url)
        token = bench_db.token(SHELTER, ("tenant-admin",))
        rows, raw_seconds = await raw(bench_db)
        print(f"raw read: {rows} cases in {raw_seconds:.2f} s ({rows / raw_seconds:,.0f}/s)")
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench"
            ) as client,
        ):
            for fmt in ("csv", "json"):
                part = await download(client, token, fmt, rows // 5)
                whole = await download(client, token, fmt, None)
                n, seconds, peak = whole
                print(
                    f"{fmt}: {n} cases in {seconds:.2f} s ({n / seconds:,.0f}/s), ratio to raw "
                    f"{(n / seconds) / (rows / raw_seconds):.2f}; peak Python memory "
                    f"{peak / 2**20:.1f} MiB for all, {part[2] / 2**20:.1f} MiB for a fifth"
                )
    finally:
        await bench_db.drop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="cases of the one shelter")
    asyncio.run(main(parser.parse_args().cases))
