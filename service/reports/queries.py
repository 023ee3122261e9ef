"""Reports from the database: the only cross-tenant reads of the service.

The service role sees one tenant's rows at a time (row-level security). Reports read all
shelters only through two ``SECURITY DEFINER`` functions (migration 0003) that return counts
per group, never rows of cases; disclosure control is applied here, on top of them, before
anything leaves the service. The transactions carry no tenant setting. Every period (a range
of months too) is counted over its whole span at once, so its figures are exact before they
are protected.

Those functions return raw counts (below k too), so the service role cannot call them: only
the report role (``<service role>_reports``, migration 0010) can, and a report transaction
switches to it (``report_transaction``) for its duration only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.db import driver, tenant_transaction
from service.domain import vocabulary as v
from service.reports import disclosure
from service.reports.caseload import (
    RECODED,
    CaseloadReport,
    build_caseload,
    canonical,
    rare_values,
    recoded_counts,
)
from service.reports.disclosure import Key, Published, protect_count
from service.reports.indicators import (
    COUNT_METRICS,
    MODES,
    IndicatorsReport,
    RawIndicators,
    build_indicators,
)
from service.reports.model import NO_FORM_RECORDED, NOT_CLOSED, NOT_DEPARTED, AgeGroup, Dimension
from service.reports.periods import Period

__all__ = [
    "caseload_figures",
    "caseload_report",
    "domains",
    "indicator_figures",
    "indicators_report",
    "report_transaction",
]

_AS_REPORT_ROLE = "SELECT set_config('role', current_user || '_reports', true)"


@asynccontextmanager
async def report_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction without tenant, run as the report role until it ends.

    The switch to the report role rides on the ``BEGIN`` (one round trip for both).
    """
    async with tenant_transaction(engine, None, setup=_AS_REPORT_ROLE) as conn:
        yield conn


_INDICATORS = text(
    "SELECT shelter, intake_cases, discussed_within_14_days, with_partner_contact, "
    "consent_before_partner_contact, departures, departed_independent, departed_assisted, "
    "departed_forced, partner_before_departure, follow_up_3_months, follow_up_6_months, "
    "follow_up_12_months, departures_of_minors, emergency_departures, plan_agreed_within_month, "
    "median_days_to_departure, p90_days_to_departure "
    "FROM report_indicator_counts(:first, :last)"
)
_SHELTERS = text("SELECT slug FROM tenants WHERE kind = 'shelter' ORDER BY slug")


def _values(vocabulary: Iterable[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in vocabulary)


def domains(shelters: Sequence[str]) -> dict[Dimension, tuple[str, ...]]:
    """The values each dimension can take, whatever the data (countries come from the data)."""
    return {
        Dimension.SHELTER: tuple(shelters),
        Dimension.PHASE: _values(v.Phase),
        Dimension.EXPLOITATION_FORM: (*_values(v.ExploitationForm), NO_FORM_RECORDED),
        Dimension.GENDER: _values(v.Gender),
        Dimension.AGE_GROUP: _values(AgeGroup),
        Dimension.DEPARTURE_MODE: (*_values(v.DepartureMode), NOT_DEPARTED),
        Dimension.CLOSING_REASON: (*_values(v.ClosingReason), NOT_CLOSED),
    }


_Inputs = tuple[
    dict[tuple[str, ...], int], dict[Dimension, frozenset[str]], dict[Dimension, tuple[str, ...]]
]


# The shelters (part 0), the counts (part 1) and the totals of each recoded dimension grouped
# by (parts 2, 3: one per dimension, in ``RECODED`` order) come back in one statement.
_INPUT_PARTS = (
    "SELECT 0 AS part, slug AS v1, NULL::text AS v2, NULL::text AS v3, NULL::bigint AS n "
    "FROM tenants WHERE kind = 'shelter'",
    "SELECT {part}, v1, v2, v3, n "
    "FROM report_caseload_counts(${param}::text[], $1::date, $2::date)",
)


def _inputs_statement(recoded: int) -> str:
    shelters, counts = _INPUT_PARTS
    parts = [shelters] + [counts.format(part=p, param=p + 2) for p in range(1, 2 + recoded)]
    return " UNION ALL ".join(parts)


async def _caseload_inputs(
    engine: AsyncEngine, k: int, period: Period, dims: Sequence[Dimension]
) -> _Inputs:
    """The period's true counts, its rare countries and every dimension's values.

    One statement in the report role's transaction (``BEGIN`` and the role switch in one
    round trip before it, ``COMMIT`` after it).
    """
    recoded = [dim for dim in RECODED if dim in dims]
    args = [[d.value for d in dims], *([dim.value] for dim in recoded)]
    async with report_transaction(engine) as conn:
        raw = await driver(conn)
        rows = await raw.fetch(_inputs_statement(len(recoded)), period.first, period.last, *args)
    shelters: list[str] = []
    counts: dict[tuple[str, ...], int] = {}
    totals: list[dict[str, int]] = [{} for _ in recoded]
    width = len(dims)
    for part, v1, v2, v3, n in rows:
        if part == 1:
            counts[(v1, v2, v3)[:width]] = n
        elif part == 0:
            shelters.append(v1)
        else:
            totals[part - 2][v1] = n
    values = domains(sorted(shelters))
    rare: dict[Dimension, frozenset[str]] = {}
    for dim, per_value in zip(recoded, totals, strict=True):
        rare[dim] = rare_values(per_value, k)
        values[dim] = tuple(per_value)
    return counts, rare, values


async def caseload_figures(
    engine: AsyncEngine, k: int, period: Period, group_by: Sequence[Dimension]
) -> dict[Key, int]:
    """The caseload before protection: every non-zero entry, keyed in canonical order."""
    dims = canonical(group_by)
    counts, rare, _ = await _caseload_inputs(engine, k, period, dims)
    return disclosure.with_margins(recoded_counts(counts, dims, rare), len(dims))


async def caseload_report(
    engine: AsyncEngine, k: int, period: Period, group_by: Sequence[Dimension]
) -> CaseloadReport:
    """The caseload of the whole period, counted at once and protected once."""
    counts, rare, values = await _caseload_inputs(engine, k, period, canonical(group_by))
    return build_caseload(period, group_by, k, counts, rare, values)


def _raw(row: Sequence[object]) -> RawIndicators:
    values = [int(v) for v in row[1:16]]  # type: ignore[call-overload]
    names = (
        "intake_cases",
        "discussed_within_14_days",
        "with_partner_contact",
        "consent_before_partner_contact",
        "departures",
        *(f"departed_{m}" for m in MODES),
        "partner_before_departure",
        "follow_up_3_months",
        "follow_up_6_months",
        "follow_up_12_months",
        "departures_of_minors",
        "emergency_departures",
        "plan_agreed_within_month",
    )
    counts = dict(zip(names, values, strict=True))
    assert set(COUNT_METRICS) <= set(counts)
    median, p90 = row[16], row[17]
    return RawIndicators(
        shelter=row[0] if isinstance(row[0], str) else None,
        counts=counts,
        median_days=median if isinstance(median, int) else None,
        p90_days=p90 if isinstance(p90, int) else None,
    )


async def indicator_figures(
    conn: AsyncConnection, first: dt.date, last: dt.date
) -> list[RawIndicators]:
    """True figures of the months ``first``..``last``: per shelter with cases, and overall."""
    result = await conn.execute(_INDICATORS, {"first": first, "last": last})
    return [_raw(tuple(row)) for row in result]


async def indicators_report(
    engine: AsyncEngine, k: int, period: Period, by_shelter: bool, min_group: int | None = None
) -> IndicatorsReport:
    """The indicators of the whole period, counted at once and protected once."""
    async with report_transaction(engine) as conn:
        shelters = [str(s) for s in (await conn.scalars(_SHELTERS)).all()]
        raw = await indicator_figures(conn, period.first, period.last)
    return build_indicators(period, k, shelters, by_shelter, raw, min_group)


_TRANSFERS = text("SELECT report_transfer_count(:first, :last)")


async def transfers_report(engine: AsyncEngine, k: int, period: Period) -> Published:
    """Accepted transfers between shelters in ``period``, counted over its whole span at once
    and protected like every count (suppressed below k, zero too; else rounded to base k)."""
    async with report_transaction(engine) as conn:
        n = await conn.scalar(_TRANSFERS, {"first": period.first, "last": period.last})
    return protect_count(int(n or 0), k)
