"""The caseload report: counts of cases by up to three dimensions, for a period.

Pure assembly: the true counts of the whole period come in (from ``queries``), published
figures come out. A case belongs to a period by its month of intake; every other dimension
describes the case as it stands now. A case with several forms of exploitation counts once per
form, so a table grouped by form counts case-form pairs (its ``unit`` says so), in its cells
and its margins alike: the table stays additive and its protection stays sound.

Countries (of origin, nationality) that fewer than k cases of the whole period share are
reported together as ``OTHER``: a rare country of origin can point at a person by itself. The
choice is made once, from the period's own totals, so every grouping of the period names the
same countries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from service.reports import disclosure
from service.reports.disclosure import Key, Published
from service.reports.model import Dimension
from service.reports.periods import Period

__all__ = [
    "MAX_DIMENSIONS",
    "OTHER",
    "RECODED",
    "CaseloadReport",
    "InvalidGrouping",
    "build_caseload",
    "canonical",
    "rare_values",
    "recoded_counts",
]

MAX_DIMENSIONS = 3
OTHER = "OTHER"
RECODED = (Dimension.COUNTRY_OF_ORIGIN, Dimension.NATIONALITY)
_ORDER = {d: i for i, d in enumerate(Dimension)}


class InvalidGrouping(ValueError):
    """The grouping asked for is not allowed; the message says why."""


def canonical(group_by: Sequence[Dimension]) -> tuple[Dimension, ...]:
    """The dimensions in canonical order, after checking the grouping."""
    if len(group_by) > MAX_DIMENSIONS:
        raise InvalidGrouping(f"group by at most {MAX_DIMENSIONS} dimensions")
    if len(set(group_by)) != len(group_by):
        raise InvalidGrouping("each dimension can be grouped by only once")
    return tuple(sorted(group_by, key=_ORDER.__getitem__))


def rare_values(case_totals: Mapping[str, int], k: int) -> frozenset[str]:
    """Values that fewer than k cases share (given the number of cases per value)."""
    return frozenset(v for v, n in case_totals.items() if n < k)


def recoded_counts(
    counts: Mapping[tuple[str, ...], int],
    dims: Sequence[Dimension],
    rare: Mapping[Dimension, frozenset[str]],
) -> dict[tuple[str, ...], int]:
    """The true counts of a period with its rare countries gathered under ``OTHER``.

    This is the report before protection: the same for every grouping and every period, a
    straight function of the cases.
    """
    recoded = dict(counts)
    for index, dim in enumerate(dims):
        if dim in RECODED:
            recoded = disclosure.recode(recoded, index, rare.get(dim, frozenset()), OTHER)
    return recoded


@dataclass(frozen=True, slots=True)
class CaseloadReport:
    period: Period
    group_by: tuple[Dimension, ...]
    k: int
    entries: Mapping[Key, Published]  # keys follow ``group_by``; every combination is there

    @property
    def unit(self) -> str:
        return "CASE_FORM_PAIRS" if Dimension.EXPLOITATION_FORM in self.group_by else "CASES"

    def _sorted(self, total: bool) -> list[tuple[Key, Published]]:
        chosen = [(k, v) for k, v in self.entries.items() if (None in k) == total]
        return sorted(chosen, key=lambda kv: tuple((v is None, v or "") for v in kv[0]))

    @property
    def cells(self) -> list[tuple[Key, Published]]:
        """Interior cells, every combination of the dimensions' values, in a stable order."""
        return self._sorted(total=False)

    @property
    def totals(self) -> list[tuple[Key, Published]]:
        """Margins, the grand total last."""
        return self._sorted(total=True)

    @property
    def grand_total(self) -> Published:
        return self.entries.get((None,) * len(self.group_by))


def build_caseload(
    period: Period,
    group_by: Sequence[Dimension],
    k: int,
    counts: Mapping[tuple[str, ...], int],
    rare: Mapping[Dimension, frozenset[str]],
    domains: Mapping[Dimension, Iterable[str]],
) -> CaseloadReport:
    """The published caseload of ``period`` from its true counts.

    ``counts`` are the true counts of the whole period keyed in canonical dimension order,
    ``rare`` the values of the recoded dimensions that fewer than k cases of the period share,
    ``domains`` the values each dimension can take (rare countries are left out of it and
    ``OTHER`` is added).
    """
    dims = canonical(group_by)
    recoded = recoded_counts(counts, dims, rare)
    values = []
    for dim in dims:
        domain = set(domains.get(dim, ()))
        if dim in RECODED:
            domain = (domain - rare.get(dim, frozenset())) | {OTHER}
        values.append(sorted(domain))
    protected = disclosure.protect_table(recoded, values, k)
    # Back to the order the analyst asked for.
    position = [dims.index(d) for d in group_by]
    if position == sorted(position):
        entries: Mapping[Key, Published] = protected  # asked for in canonical order already
    else:
        entries = {tuple(key[i] for i in position): value for key, value in protected.items()}
    return CaseloadReport(period=period, group_by=tuple(group_by), k=k, entries=entries)
