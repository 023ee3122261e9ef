"""Benchmark: the caseload report by three dimensions against a plain SQL GROUP BY.

    .venv/bin/python -m bench.reports_caseload                 # 100,000 cases, ~1M events
    .venv/bin/python -m bench.reports_caseload --cases 20000   # a quicker run

A fresh database on the embedded server (or on ``DATABASE_URL``) gets generated cases: their
events are decided by the real domain code and written straight into the log (bulk, as the
owner, one tenant at a time), then the report projection follows the feed into
``report_cases``, as it does in the service. Measured in the same run, over the same read model:

- ``caseload``: ``service.reports.queries.caseload_report`` (the ``SECURITY DEFINER`` aggregate
  function plus disclosure control: secondary suppression and rounding), grouped by shelter,
  phase and form of exploitation;
- ``plain``: one ``SELECT ... GROUP BY`` of the same three dimensions, as the owner.

Prints the figures and the ratio caseload / plain. Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service import db
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.events.store import EventStore
from service.events.types import EventRegistry, Metadata
from service.reports import queries
from service.reports.model import Dimension
from service.reports.periods import parse_period
from service.reports.projection import catch_up_all

ROOT = Path(__file__).resolve().parent.parent
ROLE = "safe_future_app"
FIRST_YEAR, LAST_YEAR = 2020, 2025
DIMENSIONS = (Dimension.SHELTER, Dimension.PHASE, Dimension.EXPLOITATION_FORM)
COUNTRIES = ("RO", "NG", "BG", "VN", "UA", "HU", "PL", "MN", "SR", "CN", "UG", "BR")
PLAIN = """
SELECT t.slug, r.phase, f.form, count(*)
FROM report_cases r JOIN tenants t ON t.id = r.tenant_id
CROSS JOIN LATERAL unnest(r.exploitation_forms) AS f(form)
WHERE r.intake_month BETWEEN :first AND :last
GROUP BY 1, 2, 3
"""


def _history(r: random.Random) -> list[Any]:
    """A plausible case, about ten events on average."""
    c, day = uuid.uuid4(), dt.timedelta
    intake = dt.date(FIRST_YEAR, 1, 1) + day(days=r.randrange((LAST_YEAR - FIRST_YEAR + 1) * 365))
    country = r.choice(COUNTRIES)
    birth_year = r.randrange(intake.year - 50, intake.year - 14)
    out: list[Any] = [
        rc.OpenReturnCase(c, intake, "bench", r.choice(tuple(v.Gender)),
                          birth_year, country, country,
                          ("en",), tuple(r.sample(tuple(v.ExploitationForm), r.randint(0, 2)))),
        rc.AssessRisk(c, intake, v.RiskLevel.LOW),
    ]  # fmt: skip
    if r.random() < 0.1:
        return out
    talk = intake + day(days=r.randrange(30))
    wish = v.ReturnWish.WANTS_TO_RETURN if r.random() < 0.75 else v.ReturnWish.UNDECIDED
    out += [
        rc.RecordReturnConversation(c, talk, wish),
        rc.RecordLegalPosition(c, talk, v.ResidenceStatus.TEMPORARY_VICTIM_PERMIT,
                               v.ProceedingsStage.INVESTIGATION),
    ]  # fmt: skip
    if wish != v.ReturnWish.WANTS_TO_RETURN:
        return out
    partner = uuid.uuid5(uuid.NAMESPACE_URL, f"bench-partner-{country}")
    out += [
        rc.GiveConsent(c, partner, country, v.ConsentPurpose.REFERRAL, talk, True),
        rc.ContactPartnerOrganisation(c, uuid.uuid4(), partner, country,
                                      v.ConsentPurpose.REFERRAL, talk + day(days=1), True),
        rc.ArrangeReturnSupport(c, v.ReturnSupportKind.IOM_BASIC, talk + day(days=2)),
    ]  # fmt: skip
    if r.random() < 0.2:
        return out
    departed = talk + day(days=r.randrange(10, 200))
    ready_on = departed - day(days=1)
    out += [
        rc.AssessRisk(c, ready_on, v.RiskLevel.LOW),
        rc.RecordTravelDocument(c, v.TravelDocumentStatus.OWN_VALID, ready_on, False),
        rc.RecordArrivalArrangement(c, ready_on, country, "capital", v.ArrivalReceiver.FAMILY),
    ]
    if any(rc.possibly_minor_on(birth_year, d) for d in (intake, departed)):
        out += [
            rc.RecordGuardian(c, ready_on, "Nidos"),
            rc.RecordBestInterestsAssessment(c, ready_on, True),
            rc.RecordFamilyAssessment(c, ready_on, v.FamilyAssessmentOutcome.SAFE),
        ]
    out += [
        rc.PlanDeparture(c, departed, country, v.DepartureMode.ASSISTED),
        rc.RecordDeparture(c, departed, v.DepartureMode.ASSISTED, country),
    ]
    for months in (3, 6, 12):
        if r.random() < 0.6:
            out.append(rc.RecordFollowUp(c, departed + day(days=30 * months), True,
                                         v.ClientSituation.STABLE))  # fmt: skip
    if r.random() < 0.5:
        out.append(rc.CloseReturnCase(c, v.ClosingReason.RETURNED, departed + day(days=400)))
    return out


def _events(r: random.Random) -> Iterator[Any]:
    state = None
    for command in _history(r):
        for event in rc.decide(state, command):
            state = rc.evolve(state, event)
            yield event


async def _write(admin_url: URL, cases: int, seed: int) -> int:
    """Decide every case with the domain, write the events as the owner; returns the count."""
    registry = EventRegistry(rc.EVENT_TYPES)
    meta = json.dumps(Metadata("bench", "bench", "caseworker", "bench", "bench").to_json())
    now = dt.datetime.now(dt.UTC)
    conn = await asyncpg.connect(admin_url.set(drivername="postgresql").render_as_string(False))
    written = 0
    try:
        shelters = [row[0] for row in await conn.fetch(
            "SELECT id FROM tenants WHERE kind = 'shelter' ORDER BY slug")]  # fmt: skip
        r = random.Random(seed)
        per_shelter = [cases // len(shelters) + (i < cases % len(shelters))
                       for i in range(len(shelters))]  # fmt: skip
        for tenant, count in zip(shelters, per_shelter, strict=True):
            done = 0
            while done < count:
                rows = []
                for _ in range(min(2000, count - done)):
                    events = list(_events(r))
                    for version, event in enumerate(events, start=1):
                        kind, schema, payload, personal = registry.encode(event)
                        rows.append((tenant, event.case_id, "ReturnCase", version, kind, schema,
                                     json.dumps(payload), None if personal is None
                                     else json.dumps(personal), meta, now))  # fmt: skip
                done += min(2000, count - done)
                async with conn.transaction():
                    await conn.execute(
                        "SELECT set_config('app.tenant_id', $1, true), events_writer_begin()",
                        str(tenant),
                    )
                    await conn.executemany(
                        "INSERT INTO events (tenant_id, stream_id, stream_type, version, "
                        "event_type, schema_version, payload, personal, metadata, occurred_at) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9::jsonb, $10)",
                        rows,
                    )
                written += len(rows)
    finally:
        await conn.close()
    return written


async def _timed_pair(
    first: Callable[[], Awaitable[object]], second: Callable[[], Awaitable[object]], repeat: int
) -> tuple[list[float], list[float]]:
    """Both warmed up, then timed in turns: a burst of load on a shared machine falls on
    both alike instead of on whichever ran during it."""
    await first()
    await second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for run, out in zip((first, second), times, strict=True):
            started = time.perf_counter()
            await run()
            out.append((time.perf_counter() - started) * 1000)
    return times


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _describe(times: list[float]) -> str:
    return f"median {statistics.median(times):8.2f} ms   p95 {_p95(times):8.2f} ms"


async def measure(
    app: AsyncEngine, admin: AsyncEngine, repeat: int, k: int
) -> list[dict[str, Any]]:
    """The report against the plain ``GROUP BY`` per period, as figures (the bench's hook)."""
    out: list[dict[str, Any]] = []
    for label, period in (
        ("one year", parse_period(year=LAST_YEAR)),
        ("all years (range)", parse_period(from_month=f"{FIRST_YEAR}-01",
                                           to_month=f"{LAST_YEAR}-12")),
    ):  # fmt: skip

        async def report(period: Any = period) -> object:
            return await queries.caseload_report(app, k, period, DIMENSIONS)

        async def plain(period: Any = period) -> object:
            async with admin.connect() as conn:
                return (
                    await conn.execute(text(PLAIN), {"first": period.first, "last": period.last})
                ).all()

        report_times, plain_times = await _timed_pair(report, plain, repeat)
        out.append(
            {
                "label": label,
                "dimensions": "shelter, phase, form",
                "periods": 1,
                "report_ms": round(statistics.median(report_times), 2),
                "plain_ms": round(statistics.median(plain_times), 2),
                "report_p95_ms": round(_p95(report_times), 2),
                "plain_p95_ms": round(_p95(plain_times), 2),
                "report_times": report_times,
                "plain_times": plain_times,
            }
        )
    return out


async def _measure(app: AsyncEngine, admin: AsyncEngine, repeat: int, k: int) -> None:
    for m in await measure(app, admin, repeat, k):
        ratio = m["report_ms"] / m["plain_ms"]
        print(f"caseload by shelter, phase, form; {m['label']} (counted at once):")
        print(f"  caseload report  {_describe(m['report_times'])}")
        print(f"  plain GROUP BY   {_describe(m['plain_times'])}")
        print(f"  ratio caseload / plain (medians): {ratio:.2f}")


async def main(cases: int, repeat: int, k: int, seed: int) -> None:
    external = os.environ.get("DATABASE_URL")
    server = None
    if external:
        base = db.to_async_url(external)
    else:
        server = db.EmbeddedServer(ROOT / ".data" / "bench-pg")
        base = server.admin_url("postgres")
    name = f"sf_bench_{uuid.uuid4().hex[:10]}"
    admin_url = base.set(database=name)
    password = "bench-" + uuid.uuid4().hex
    await db.ensure_database(admin_url)
    try:
        await db.migrate(admin_url, ROLE, password)
        started = time.perf_counter()
        events = await _write(admin_url, cases, seed)
        print(f"{cases} cases, {events} events written in {time.perf_counter() - started:.1f} s")
        app = db.create_app_engine(db.app_url(admin_url, ROLE, password), 4)
        admin = create_async_engine(admin_url)
        try:
            started = time.perf_counter()
            result = await catch_up_all(app, EventStore(EventRegistry(rc.EVENT_TYPES)))
            took = time.perf_counter() - started
            print(f"report projection: {result.applied} events in {took:.1f} s "
                  f"({result.applied / took:,.0f} events/s)")  # fmt: skip
            async with admin.connect() as conn:
                rows = await conn.scalar(text("SELECT count(*) FROM report_cases"))
            print(f"report_cases rows: {rows}")
            await _measure(app, admin, repeat, k)
        finally:
            await app.dispose()
            await admin.dispose()
    finally:
        maintenance = create_async_engine(base, isolation_level="AUTOCOMMIT")
        async with maintenance.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await maintenance.dispose()
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--k", type=int, default=11)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.cases, args.repeat, args.k, args.seed))
