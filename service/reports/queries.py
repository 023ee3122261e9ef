"""Reports from the database: the only cross-tenant reads of the service.

The service role sees one tenant's rows at a time (row-level security). Reports read all
shelters only through two ``SECURITY DEFINER`` functions (migration 0003) that return counts
per group, never rows of cases; disclosure control is applied here, on top of them, before
anything leaves the service. The transactions carry no tenant setting.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.db import tenant_transaction
from service.reports.caseload import (
    RECODED,
    CaseloadReport,
    build_caseload,
    canonical,
    rare_values,
)
from service.reports.disclosure import Published, protect_count
from service.reports.indicators import (
    COUNT_METRICS,
    MODES,
    IndicatorsReport,
    RawIndicators,
    build_indicators,
)
from service.reports.model import Dimension
from service.reports.periods import FixedPeriod, Period

__all__ = ["caseload_counts", "caseload_report", "indicator_figures", "indicators_report"]

_CASELOAD = text(
    "SELECT v1, v2, v3, n FROM report_caseload_counts(CAST(:dims AS text[]), :first, :last)"
)
_INDICATORS = text(
    "SELECT shelter, intake_cases, discussed_within_14_days, with_partner_contact, "
    "consent_before_partner_contact, departures, departed_independent, departed_assisted, "
    "departed_forced, partner_before_departure, follow_up_3_months, follow_up_6_months, "
    "follow_up_12_months, median_days_to_departure, p90_days_to_departure "
    "FROM report_indicator_counts(:first, :last)"
)
_SHELTERS = text("SELECT slug FROM tenants WHERE kind = 'shelter' ORDER BY slug")


async def caseload_counts(
    conn: AsyncConnection, dims: Sequence[Dimension], piece: FixedPeriod
) -> dict[tuple[str, ...], int]:
    """True counts of one fixed period, keyed by the values of ``dims`` (in that order)."""
    result = await conn.execute(
        _CASELOAD, {"dims": [d.value for d in dims], "first": piece.first, "last": piece.last}
    )
    return {tuple(row[: len(dims)]): int(row[3]) for row in result}


async def caseload_report(
    engine: AsyncEngine, k: int, period: Period, group_by: Sequence[Dimension]
) -> CaseloadReport:
    dims = canonical(group_by)
    pieces = []
    async with tenant_transaction(engine, None) as conn:
        for piece in period.pieces:
            counts = await caseload_counts(conn, dims, piece)
            rare = {}
            for dim in RECODED:
                if dim in dims:
                    totals = await caseload_counts(conn, (dim,), piece)
                    rare[dim] = rare_values({key[0]: n for key, n in totals.items()}, k)
            pieces.append((counts, rare))
    return build_caseload(period, group_by, k, pieces)


def _raw(row: Sequence[object]) -> RawIndicators:
    values = [int(v) for v in row[1:13]]  # type: ignore[call-overload]
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
    )
    counts = dict(zip(names, values, strict=True))
    assert set(COUNT_METRICS) <= set(counts)
    median, p90 = row[13], row[14]
    return RawIndicators(
        shelter=row[0] if isinstance(row[0], str) else None,
        counts=counts,
        median_days=median if isinstance(median, int) else None,
        p90_days=p90 if isinstance(p90, int) else None,
    )


async def indicator_figures(conn: AsyncConnection, piece: FixedPeriod) -> list[RawIndicators]:
    """True figures of one fixed period: one per shelter with cases, one for all shelters."""
    result = await conn.execute(_INDICATORS, {"first": piece.first, "last": piece.last})
    return [_raw(tuple(row)) for row in result]


async def indicators_report(
    engine: AsyncEngine, k: int, period: Period, by_shelter: bool
) -> IndicatorsReport:
    async with tenant_transaction(engine, None) as conn:
        shelters = [str(s) for s in (await conn.scalars(_SHELTERS)).all()]
        pieces = [await indicator_figures(conn, piece) for piece in period.pieces]
    return build_indicators(period, k, shelters, by_shelter, pieces)


_TRANSFERS = text("SELECT report_transfer_count(:first, :last)")


async def transfers_report(engine: AsyncEngine, k: int, period: Period) -> Published:
    """Accepted transfers between shelters in ``period``, protected like every count.

    Each fixed period's count is protected on its own (zero, suppressed, or rounded to base
    k); a period of several is their sum, suppressed when any part is.
    """
    async with tenant_transaction(engine, None) as conn:
        counts = [
            int(await conn.scalar(_TRANSFERS, {"first": p.first, "last": p.last}) or 0)
            for p in period.pieces
        ]
    published = [protect_count(n, k) for n in counts]
    if any(p is None for p in published):
        return None
    return sum(p for p in published if p is not None)
