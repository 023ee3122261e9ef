"""Disclosure control under attack (hypothesis).

Random populations of cases are counted in every grouping (up to three dimensions, the
exploitation form counting once per form) and every period an analyst can ask for (the year,
its quarters and months, ranges of whole months). Then the attacks of the issue are tried on
the published figures: margins minus cells, a year minus its quarters, a quarter minus its
months, a range minus a sub-range, one grouping minus another. No attack may produce the true
value of a suppressed count below k, nor any number from 1 to k-1 at all.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.reports import disclosure
from service.reports.caseload import OTHER, RECODED, CaseloadReport, build_caseload, rare_values
from service.reports.disclosure import Key, Published
from service.reports.model import Dimension
from service.reports.periods import FixedPeriod, Period, parse_period

YEAR = 2031
D = Dimension
VALUES: dict[Dimension, tuple[str, ...]] = {
    D.SHELTER: ("moviera", "het-kopland", "blijf-groep"),
    D.PHASE: ("INTAKE", "ORIENTATION", "CLOSED"),
    D.GENDER: ("FEMALE", "MALE"),
    D.COUNTRY_OF_ORIGIN: ("RO", "NG", "BG", "VN"),
    D.EXPLOITATION_FORM: ("SEXUAL_EXPLOITATION", "FORCED_LABOUR", "SERVITUDE"),
}
SINGLE = (D.SHELTER, D.PHASE, D.GENDER, D.COUNTRY_OF_ORIGIN)


@dataclass(frozen=True)
class Case:
    month: int
    single: tuple[str, ...]  # values of SINGLE
    forms: frozenset[str]

    def values(self, dim: Dimension) -> list[str]:
        if dim == D.EXPLOITATION_FORM:
            return sorted(self.forms)
        return [self.single[SINGLE.index(dim)]]


cases = st.builds(
    Case,
    month=st.integers(1, 12),
    single=st.tuples(*(st.sampled_from(VALUES[d]) for d in SINGLE)),
    forms=st.frozensets(st.sampled_from(VALUES[D.EXPLOITATION_FORM]), min_size=1, max_size=3),
)
populations = st.lists(cases, min_size=10, max_size=300)


def true_counts(
    population: Iterable[Case], dims: Sequence[Dimension], piece: FixedPeriod
) -> dict[tuple[str, ...], int]:
    """What the SQL function returns, computed here independently."""
    months = range(piece.first.month, piece.last.month + 1)
    counts: dict[tuple[str, ...], int] = {}
    for case in population:
        if case.month in months:
            for key in itertools.product(*(case.values(d) for d in dims)):
                counts[key] = counts.get(key, 0) + 1
    return counts


def report(
    population: Sequence[Case], period: Period, group_by: Sequence[Dimension], k: int
) -> CaseloadReport:
    dims = tuple(sorted(group_by, key=list(Dimension).index))
    pieces = []
    for piece in period.pieces:
        rare = {
            dim: rare_values(
                {key[0]: n for key, n in true_counts(population, (dim,), piece).items()}, k
            )
            for dim in RECODED
            if dim in dims
        }
        pieces.append((true_counts(population, dims, piece), rare))
    return build_caseload(period, group_by, k, pieces)


def truth(population: Sequence[Case], report: CaseloadReport, key: Key) -> int:
    """The true count behind an entry (OTHER is the sum of the values it gathers)."""
    dims = tuple(sorted(report.group_by, key=list(Dimension).index))
    wanted = tuple(key[report.group_by.index(d)] for d in dims)
    total = 0
    for piece in report.period.pieces:
        rare = {
            dim: rare_values(
                {cell[0]: n for cell, n in true_counts(population, (dim,), piece).items()},
                report.k,
            )
            for dim in RECODED
            if dim in dims
        }

        for cell, n in true_counts(population, dims, piece).items():
            if all(
                w is None or w == (OTHER if d in RECODED and c in rare[d] else c)
                for w, c, d in zip(wanted, cell, dims, strict=True)
            ):
                total += n
    return total


def groupings() -> list[tuple[Dimension, ...]]:
    dims = list(VALUES)
    out: list[tuple[Dimension, ...]] = [()]
    out += [(d,) for d in dims]
    out += list(itertools.combinations(dims, 2))
    out += [(D.SHELTER, D.PHASE, D.EXPLOITATION_FORM), (D.GENDER, D.COUNTRY_OF_ORIGIN, D.PHASE)]
    return out


def fixed_periods() -> list[Period]:
    year = [parse_period(year=YEAR)]
    quarters = [parse_period(quarter=f"{YEAR}-Q{q}") for q in range(1, 5)]
    months = [parse_period(month=f"{YEAR}-{m:02d}") for m in range(1, 13)]
    return year + quarters + months


def ranges() -> list[tuple[int, int]]:
    """Ranges from every month to December, and from January to every month."""
    return sorted({(a, 12) for a in range(1, 13)} | {(1, b) for b in range(1, 13)})


def month_range(a: int, b: int) -> Period:
    return parse_period(from_month=f"{YEAR}-{a:02d}", to_month=f"{YEAR}-{b:02d}")


def assert_not_disclosed(derived: int, hidden_truth: int, k: int) -> None:
    assert derived % k == 0
    assert not 1 <= derived < k
    if 1 <= hidden_truth < k:
        assert derived != hidden_truth


def small_suppressed(population: Sequence[Case], rep: CaseloadReport) -> Iterable[tuple[Key, int]]:
    for key, value in rep.entries.items():
        if value is None:
            yield key, truth(population, rep, key)


def line_derivations(rep: CaseloadReport) -> Iterable[tuple[Key, int]]:
    """Margin minus the other published members of a line, for every suppressed member."""
    for (dim, _), members in disclosure.lines_of(rep.entries, len(rep.group_by)).items():
        hidden = [m for m in members if rep.entries[m] is None]
        if len(hidden) != 1:
            continue
        (target,) = hidden
        total = next(m for m in members if m[dim] is None)
        cells = [m for m in members if m[dim] is not None]
        if target == total:
            yield target, sum(rep.entries[m] or 0 for m in cells)
        else:
            others = sum(rep.entries[m] or 0 for m in cells if m != target)
            yield target, (rep.entries[total] or 0) - others


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(population=populations, k=st.sampled_from([3, 5, 11]))
def test_no_small_count_is_derivable_from_any_set_of_reports(
    population: list[Case], k: int
) -> None:
    fixed = fixed_periods()
    for group_by in groupings():
        reports = {p.label: report(population, p, group_by, k) for p in fixed}
        by_range = {(a, b): report(population, month_range(a, b), group_by, k) for a, b in ranges()}
        for rep in [*reports.values(), *by_range.values()]:
            for value in rep.entries.values():
                # Every published count is zero or a multiple of k, never 1..k-1.
                assert value is None or value % k == 0
        for rep in reports.values():
            # Secondary suppression: no line of a fixed-period table has one hidden entry.
            for members in disclosure.lines_of(rep.entries, len(group_by)).values():
                assert sum(rep.entries[m] is None for m in members) != 1
            hidden = dict(small_suppressed(population, rep))
            for target, derived in line_derivations(rep):
                assert_not_disclosed(derived, hidden[target], k)
        # A year minus its quarters, a quarter minus its months.
        year = reports[str(YEAR)]
        quarters = [reports[f"{YEAR}-Q{q}"] for q in range(1, 5)]
        hierarchy = [(year, quarters)] + [
            (quarters[q], [reports[f"{YEAR}-{3 * q + m:02d}"] for m in range(1, 4)])
            for q in range(4)
        ]
        for whole, parts in hierarchy:
            for part in parts:
                for key, value in part.entries.items():
                    if value is not None:
                        continue
                    others = [p.entries.get(key, 0) for p in parts if p is not part]
                    if whole.entries.get(key, 0) is None or None in others:
                        continue
                    derived = (whole.entries.get(key, 0) or 0) - sum(o or 0 for o in others)
                    assert_not_disclosed(derived, truth(population, part, key), k)
        # A range minus a sub-range: January..b minus February..b is January, and so on.
        for a in range(1, 12):
            longer, shorter = by_range[(a, 12)], by_range[(a + 1, 12)]
            month = reports[f"{YEAR}-{a:02d}"]
            for key, value in month.entries.items():
                lv, sv = longer.entries.get(key, 0), shorter.entries.get(key, 0)
                if value is None and lv is not None and sv is not None:
                    assert_not_disclosed(lv - sv, truth(population, month, key), k)
    # One grouping minus another: a coarser table's cell minus the finer table's other cells.
    for coarse_dims, extra in [((D.SHELTER,), D.PHASE), ((D.PHASE,), D.GENDER)]:
        for period in fixed:
            coarse = report(population, period, coarse_dims, k)
            fine = report(population, period, (*coarse_dims, extra), k)
            for (value, *_), total in coarse.entries.items():
                row = {key: v for key, v in fine.entries.items() if key[0] == value}
                for key, v in row.items():
                    if v is not None or key[1] is None:
                        continue
                    others = [w for other, w in row.items() if other != key and other[1]]
                    if total is None or None in others:
                        continue
                    derived = total - sum(w or 0 for w in others)
                    assert_not_disclosed(derived, truth(population, fine, key), k)


def test_secondary_suppression_hides_a_lone_small_cell_in_its_row_and_column() -> None:
    counts = {("a", "x"): 30, ("a", "y"): 3, ("b", "x"): 25, ("b", "y"): 40}
    table = disclosure.protect_table(counts, 2, 11)
    assert table[("a", "y")] is None  # primary
    for members in disclosure.lines_of(table, 2).values():
        assert sum(table[m] is None for m in members) != 1
    assert all(v is None or v % 11 == 0 for v in table.values())


def test_rounding_keeps_counts_of_at_least_k_at_least_k() -> None:
    assert [disclosure.round_to_base(n, 11) for n in (11, 16, 17, 27, 28)] == [11, 11, 22, 22, 33]
    assert disclosure.protect_count(0, 11) == 0
    assert disclosure.protect_count(10, 11) is None
    assert disclosure.protect_count(11, 11) == 11


def test_the_pattern_does_not_depend_on_the_order_of_the_dimensions() -> None:
    population = [Case(1, ("moviera", "INTAKE", "FEMALE", "RO"), frozenset({"SERVITUDE"}))] * 12
    population += [Case(1, ("het-kopland", "CLOSED", "MALE", "NG"), frozenset({"SERVITUDE"}))] * 4
    period = parse_period(month=f"{YEAR}-01")
    one = report(population, period, (D.SHELTER, D.PHASE), 11)
    other = report(population, period, (D.PHASE, D.SHELTER), 11)
    assert {(k[1], k[0]): v for k, v in one.entries.items()} == other.entries


def test_a_range_is_the_sum_of_its_fixed_periods() -> None:
    period = parse_period(from_month="2030-11", to_month="2032-02")
    assert [p.label for p in period.pieces] == ["2030-11", "2030-12", "2031", "2032-01", "2032-02"]
    assert parse_period(from_month="2031-04", to_month="2031-06").label == "2031-Q2"
    tables: list[Mapping[Key, Published]] = [{("a",): 11, (None,): 11}, {("a",): None}]
    assert disclosure.sum_tables(tables) == {("a",): None, (None,): 11}
