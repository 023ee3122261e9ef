"""Report periods: fixed calendar periods (month, quarter, year), and ranges of whole months.

Every period is counted over its whole span at once and protected as one (adding up
separately protected parts would count a part's rare countries as ``OTHER`` and carry each
part's rounding into the sum). A range is also described by the fewest fixed periods that
tile it (whole years, then whole quarters, then months), which reports show as its parts; a
range that is exactly one fixed period is that period.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "MAX_RANGE_MONTHS",
    "FixedPeriod",
    "InvalidPeriod",
    "Period",
    "PeriodKind",
    "decompose",
    "parse_month",
    "parse_period",
]

MAX_RANGE_MONTHS = 600
MIN_YEAR, MAX_YEAR = 1900, 2999
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")


class InvalidPeriod(ValueError):
    """The period asked for is malformed; the message says how."""


class PeriodKind(StrEnum):
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    YEAR = "YEAR"
    RANGE = "RANGE"


def _add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _months_between(first: dt.date, last: dt.date) -> int:
    """Number of months from ``first`` to ``last`` inclusive."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


@dataclass(frozen=True, slots=True, order=True)
class FixedPeriod:
    """A calendar month, quarter or year; ``first`` and ``last`` are first days of months."""

    first: dt.date
    last: dt.date
    kind: PeriodKind

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.YEAR:
            return f"{self.first.year}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        return f"{self.first.year}-{self.first.month:02d}"

    @classmethod
    def month(cls, year: int, month: int) -> FixedPeriod:
        first = dt.date(year, month, 1)
        return cls(first, first, PeriodKind.MONTH)

    @classmethod
    def quarter(cls, year: int, quarter: int) -> FixedPeriod:
        first = dt.date(year, 3 * quarter - 2, 1)
        return cls(first, _add_months(first, 2), PeriodKind.QUARTER)

    @classmethod
    def year(cls, year: int) -> FixedPeriod:
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 1), PeriodKind.YEAR)


@dataclass(frozen=True, slots=True)
class Period:
    """What an analyst asked for, and the fixed periods whose figures it is made of."""

    first: dt.date
    last: dt.date
    kind: PeriodKind
    pieces: tuple[FixedPeriod, ...]

    @property
    def label(self) -> str:
        if self.kind != PeriodKind.RANGE:
            return self.pieces[0].label
        return f"{self.first.year}-{self.first.month:02d}..{self.last.year}-{self.last.month:02d}"

    @property
    def fixed(self) -> bool:
        """A single fixed calendar period."""
        return len(self.pieces) == 1

    @classmethod
    def of(cls, fixed: FixedPeriod) -> Period:
        return cls(fixed.first, fixed.last, fixed.kind, (fixed,))


def decompose(first: dt.date, last: dt.date) -> tuple[FixedPeriod, ...]:
    """The fewest fixed periods tiling the months ``first``..``last``: years, quarters, months."""
    pieces: list[FixedPeriod] = []
    month = first
    while month <= last:
        remaining = _months_between(month, last)
        if month.month == 1 and remaining >= 12:
            piece = FixedPeriod.year(month.year)
        elif month.month % 3 == 1 and remaining >= 3:
            piece = FixedPeriod.quarter(month.year, (month.month - 1) // 3 + 1)
        else:
            piece = FixedPeriod.month(month.year, month.month)
        pieces.append(piece)
        month = _add_months(piece.last, 1)
    return tuple(pieces)


def _check_year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidPeriod(f"a year must lie between {MIN_YEAR} and {MAX_YEAR}")
    return year


def parse_month(raw: str, name: str = "month") -> dt.date:
    """``YYYY-MM`` as the first day of that month."""
    match = _MONTH.fullmatch(raw.strip())
    if match is None or not 1 <= int(match[2]) <= 12:
        raise InvalidPeriod(f"{name} must be a month written as YYYY-MM, such as 2026-03")
    return dt.date(_check_year(int(match[1])), int(match[2]), 1)


def parse_period(
    *,
    month: str | None = None,
    quarter: str | None = None,
    year: int | None = None,
    from_month: str | None = None,
    to_month: str | None = None,
) -> Period:
    """Exactly one of: ``month``, ``quarter``, ``year``, or ``from_month`` with ``to_month``."""
    given = [
        name
        for name, value in (("month", month), ("quarter", quarter), ("year", year))
        if value is not None
    ]
    is_range = from_month is not None or to_month is not None
    if len(given) + int(is_range) != 1:
        raise InvalidPeriod(
            "give exactly one of: month, quarter, year, or fromMonth together with toMonth"
        )
    if month is not None:
        first = parse_month(month)
        return Period.of(FixedPeriod.month(first.year, first.month))
    if quarter is not None:
        match = _QUARTER.fullmatch(quarter.strip())
        if match is None:
            raise InvalidPeriod("quarter must be written as YYYY-Qn, such as 2026-Q1")
        return Period.of(FixedPeriod.quarter(_check_year(int(match[1])), int(match[2])))
    if year is not None:
        return Period.of(FixedPeriod.year(_check_year(year)))
    if from_month is None or to_month is None:
        raise InvalidPeriod("a range needs both fromMonth and toMonth")
    first, last = parse_month(from_month, "fromMonth"), parse_month(to_month, "toMonth")
    if first > last:
        raise InvalidPeriod("fromMonth must not be after toMonth")
    if _months_between(first, last) > MAX_RANGE_MONTHS:
        raise InvalidPeriod(f"a range can span at most {MAX_RANGE_MONTHS} months")
    pieces = decompose(first, last)
    if len(pieces) == 1:
        return Period.of(pieces[0])
    return Period(first, last, PeriodKind.RANGE, pieces)
