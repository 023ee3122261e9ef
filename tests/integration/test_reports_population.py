"""2,100 cases across the six shelters, written through the real command path, reported on.

The population's intakes all fall in 2031, a year no other test uses, so its figures are its
own. Report figures must equal an independent computation from the raw events, for a month, a
quarter, the year and a range of months alike: the counts the database functions return
exactly, the figures before protection (rare countries as OTHER, decided once over the whole
period) exactly, and the published figures as the disclosure rules allow (suppressed, or the
true count rounded to base k).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.app import load_tenants
from service.domain import return_case as rc
from service.events.store import EventStore
from service.events.types import EventRegistry
from service.handlers.return_case import Dependencies
from service.reports import disclosure, queries
from service.reports.caseload import canonical
from service.reports.indicators import PERCENTILE_ROUNDING_DAYS
from service.reports.model import REPORT_COLUMNS, Dimension
from service.reports.periods import Period, parse_period
from service.reports.projection import catch_up_all
from tests.conftest import Database
from tests.integration.reports_population import (
    Expected,
    Population,
    caseload_counts,
    count,
    expected_cases,
    write_population,
)

YEAR = 2031
CASES = 2100
K = 11
D = Dimension


@dataclass
class World:
    population: Population
    deps: Dependencies
    expected: list[Expected]


@pytest.fixture(scope="module")
async def world(database: Database, admin_engine: AsyncEngine) -> AsyncIterator[World]:
    # Commits need not wait for the disk here: the test is about figures, not durability.
    engine = create_async_engine(
        database.app_url,
        pool_size=16,
        connect_args={"server_settings": {"synchronous_commit": "off"}},
    )
    tenants = await load_tenants(engine)
    # The population's dates lie ahead of the real today: it is written as of a later day.
    as_of = dt.datetime(YEAR + 4, 1, 1, tzinfo=dt.UTC)
    deps = Dependencies(engine, EventStore(EventRegistry(rc.EVENT_TYPES)), tenants, lambda: as_of)
    population = await write_population(deps, CASES, YEAR, seed=2031)
    await catch_up_all(engine, deps.store)
    expected = await expected_cases(admin_engine, population.case_ids)
    yield World(population, deps, expected)
    await engine.dispose()


GROUPINGS: list[tuple[Dimension, ...]] = [
    (),
    (D.SHELTER, D.PHASE),
    (D.PHASE, D.SHELTER),
    (D.COUNTRY_OF_ORIGIN, D.EXPLOITATION_FORM),
    (D.GENDER, D.AGE_GROUP, D.DEPARTURE_MODE),
    (D.NATIONALITY, D.CLOSING_REASON),
    (D.SHELTER, D.EXPLOITATION_FORM, D.PHASE),
]
PERIODS = [
    parse_period(year=YEAR),
    parse_period(quarter=f"{YEAR}-Q2"),
    parse_period(month=f"{YEAR}-05"),
    parse_period(from_month=f"{YEAR}-02", to_month=f"{YEAR}-07"),
]


def _expected_entries(
    cases: Sequence[Expected], dims: Sequence[Dimension], period: Period
) -> dict[disclosure.Key, int]:
    """True entries (cells and margins) of the whole period, rare countries as OTHER."""
    counts = count(cases, [d.value for d in dims], period.first, period.last)
    for index, dim in enumerate(dims):
        if dim in (D.COUNTRY_OF_ORIGIN, D.NATIONALITY):
            totals = count(cases, [dim.value], period.first, period.last)
            rare = {key[0] for key, n in totals.items() if n < K}
            recoded: dict[tuple[str, ...], int] = {}
            for key, n in counts.items():
                if key[index] in rare:
                    key = (*key[:index], "OTHER", *key[index + 1 :])
                recoded[key] = recoded.get(key, 0) + n
            counts = recoded
    entries: dict[disclosure.Key, int] = {}
    for key, n in counts.items():
        for mask in range(1 << len(dims)):
            margin = tuple(None if mask >> i & 1 else key[i] for i in range(len(dims)))
            entries[margin] = entries.get(margin, 0) + n
    return entries


def _allowed(true: int, published: int | None) -> bool:
    if true < K:
        return published is None
    return published is None or published == (2 * true + K) // (2 * K) * K


async def test_population_was_written_through_the_command_path(
    world: World, admin_engine: AsyncEngine
) -> None:
    assert len(world.expected) == CASES
    assert {c.shelter for c in world.expected} == {
        "hvo-querido", "humanitas-pmw", "jade-zorggroep", "moviera", "het-kopland",
        "blijf-groep",
    }  # fmt: skip
    async with admin_engine.connect() as conn:
        events = await conn.scalar(
            text("SELECT count(*) FROM events WHERE stream_id = ANY(:ids)"),
            {"ids": list(world.population.case_ids)},
        )
        rows = await conn.scalar(
            text("SELECT count(*) FROM report_cases WHERE case_id = ANY(:ids)"),
            {"ids": list(world.population.case_ids)},
        )
    assert events == world.population.events
    assert rows == CASES


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: p.label)
async def test_caseload_figures_equal_an_independent_computation(
    world: World, period: Period
) -> None:
    engine = world.deps.engine
    for group_by in GROUPINGS:
        dims = canonical(group_by)
        async with queries.report_transaction(engine) as conn:
            raw = await caseload_counts(conn, dims, period.first, period.last)
        assert raw == count(world.expected, [d.value for d in dims], period.first, period.last)
        before = await queries.caseload_figures(engine, K, period, group_by)
        truth = _expected_entries(world.expected, dims, period)
        assert before == truth, group_by
        report = await queries.caseload_report(engine, K, period, group_by)
        position = [dims.index(d) for d in group_by]
        published = report.entries
        for key, true in truth.items():
            value = published[tuple(key[i] for i in position)]
            assert _allowed(true, value), (group_by, key, true, value)
        for key, value in published.items():  # every other combination is empty
            if tuple(key[group_by.index(d)] for d in dims) not in truth:
                assert value is None, (group_by, key)
        if period.label == str(YEAR) and len(group_by) == 2 and D.SHELTER in group_by:
            shown = [v for k, v in report.entries.items() if v is not None and None in k]
            assert len(shown) > 10  # a useful table, not all hidden


def _percentile(values: list[int], fraction: float) -> int | None:
    """Nearest rank: the smallest value with at least ``fraction`` of all at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _indicator_truth(cases: Sequence[Expected], period: Period) -> dict[str, int | None]:
    def within(day: dt.date | None) -> bool:
        return day is not None and period.first <= day.replace(day=1) <= period.last

    intake = [c for c in cases if within(c.intake)]
    departed = [c for c in cases if within(c.departed_on)]
    days = [(c.departed_on - c.intake).days for c in departed if c.departed_on]
    truth: dict[str, int | None] = {
        "intake_cases": len(intake),
        "discussed_within_14_days": sum(
            c.first_talk is not None and (c.first_talk - c.intake).days <= 14 for c in intake
        ),
        "with_partner_contact": sum(c.contacts > 0 for c in intake),
        "consent_before_partner_contact": sum(
            c.contacts > 0 and c.consented_contacts == c.contacts for c in intake
        ),
        "departures": len(departed),
        "partner_before_departure": sum(c.contact_before_departure for c in departed),
        "median": _percentile(days, 0.5),
        "p90": _percentile(days, 0.9),
    }
    for mode in ("INDEPENDENT", "ASSISTED", "FORCED"):
        truth[f"departed_{mode}"] = sum(c.departure_mode == mode for c in departed)
    for m in (3, 6, 12):
        truth[f"follow_up_{m}_months"] = sum(_on_time(c, m) for c in departed)
    truth["departures_of_minors"] = sum(c.age_group() == "MINOR" for c in departed)
    truth["emergency_departures"] = sum(c.emergency for c in departed)
    truth["plan_agreed_within_month"] = sum(c.plan_in_time() for c in departed)
    return truth


def _on_time(case: Expected, months: int) -> bool:
    """The m-month contact was made on time: the first contact that reached someone from 30
    days before the due date on falls no later than 30 days after it."""
    assert case.departed_on is not None
    start = case.departed_on
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    due = dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
    window = dt.timedelta(days=30)
    made = [day for day in case.reached_on if day >= due - window]
    return bool(made) and min(made) <= due + window


def _weeks(days: int | None) -> int | None:
    return None if days is None else disclosure.round_to_base(days, PERCENTILE_ROUNDING_DAYS)


@pytest.mark.parametrize(
    "period",
    [
        parse_period(year=YEAR),
        parse_period(quarter=f"{YEAR}-Q3"),
        parse_period(from_month=f"{YEAR}-02", to_month=f"{YEAR}-11"),
    ],
    ids=lambda p: p.label,
)
async def test_indicators_equal_an_independent_computation(world: World, period: Period) -> None:
    async with queries.report_transaction(world.deps.engine) as conn:
        raw = {
            r.shelter: r for r in await queries.indicator_figures(conn, period.first, period.last)
        }
    shelters = sorted({c.shelter for c in world.expected})
    for shelter in [None, *shelters]:
        cases = [c for c in world.expected if shelter is None or c.shelter == shelter]
        truth = _indicator_truth(cases, period)
        got = raw[shelter]
        assert (got.median_days, got.p90_days) == (truth.pop("median"), truth.pop("p90"))
        assert dict(got.counts) == truth, shelter
    report = await queries.indicators_report(world.deps.engine, K, period, True)
    overall = _indicator_truth(world.expected, period)
    if period.kind == "YEAR":  # the population exercises every indicator
        assert (overall["consent_before_partner_contact"] or 0) > 0
        assert (overall["consent_before_partner_contact"] or 0) < (
            overall["with_partner_contact"] or 0
        )
        assert all(overall[f"follow_up_{m}_months"] for m in (3, 6, 12))
        assert all(overall[f"departed_{m}"] for m in ("INDEPENDENT", "ASSISTED", "FORCED"))
    assert _allowed(int(overall["intake_cases"] or 0), report.overall.intake_cases.value)
    assert _allowed(int(overall["departures"] or 0), report.overall.departures.value)
    # Percentiles: in whole weeks, for a group of at least 3k (here, over all shelters).
    assert int(overall["departures"] or 0) > 4 * K
    distribution = report.overall.days_intake_to_departure
    assert (distribution.median, distribution.p90) == (
        _weeks(overall["median"]),
        _weeks(overall["p90"]),
    )
    for s in report.shelters:
        d = s.days_intake_to_departure
        if not d.suppressed:
            assert d.population.value is not None
            assert d.population.value - K // 2 >= 3 * K
            assert d.median is not None
            assert d.median % 7 == 0
    share = report.overall.return_discussed_within_14_days
    assert share.value == round((share.count.value or 0) / (share.population.value or 1), 4)
    assert [s.shelter for s in report.shelters] == shelters


async def test_the_report_read_model_holds_no_personal_data(
    world: World, admin_engine: AsyncEngine
) -> None:
    async with admin_engine.connect() as conn:
        columns = (
            await conn.scalars(
                text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'report_cases' ORDER BY ordinal_position"
                )
            )
        ).all()
        rows = (
            await conn.execute(
                text("SELECT * FROM report_cases WHERE case_id = ANY(:ids)"),
                {"ids": list(world.population.case_ids)},
            )
        ).all()
    assert tuple(columns) == REPORT_COLUMNS
    assert not {"pseudonym", "full_name", "date_of_birth", "notes", "birth_year"} & set(columns)
    text_of_rows = repr(rows)
    for personal in ("Pop Ulation", "private note", "P-"):
        assert personal not in text_of_rows
