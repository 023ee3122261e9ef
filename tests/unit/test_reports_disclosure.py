"""Report figures are exact before protection, and protection is the same in every grouping.

Random populations of cases (hypothesis) are counted the way the database functions count them
(over the whole period asked for: a month, a quarter, a year or a range of months) and turned
into reports. Before protection, every entry of every grouping must equal a straight count of
the cases, the rare countries gathered under OTHER once for the whole period. After
protection, every figure must be suppressed or the true count rounded to base k, no line of a
table may hide exactly one entry, and an entry must be suppressed in every grouping that shows
it or in none.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.reports import disclosure
from service.reports.caseload import (
    OTHER,
    RECODED,
    CaseloadReport,
    build_caseload,
    canonical,
    rare_values,
    recoded_counts,
)
from service.reports.disclosure import Key
from service.reports.model import Dimension
from service.reports.periods import Period, parse_period

YEAR = 2031
D = Dimension
VALUES: dict[Dimension, tuple[str, ...]] = {
    D.SHELTER: ("moviera", "het-kopland", "blijf-groep"),
    D.PHASE: ("INTAKE", "ORIENTATION", "CLOSED"),
    D.GENDER: ("FEMALE", "MALE"),
    D.COUNTRY_OF_ORIGIN: ("RO", "NG", "BG", "VN", "MN"),
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


def in_period(case: Case, period: Period) -> bool:
    return period.first.month <= case.month <= period.last.month


def database_counts(
    population: Iterable[Case], dims: Sequence[Dimension], period: Period
) -> dict[tuple[str, ...], int]:
    """What ``report_caseload_counts`` returns for the whole period."""
    counts: dict[tuple[str, ...], int] = {}
    for case in population:
        if in_period(case, period):
            for key in itertools.product(*(case.values(d) for d in dims)):
                counts[key] = counts.get(key, 0) + 1
    return counts


def rare_of(
    population: Sequence[Case], dims: Sequence[Dimension], period: Period, k: int
) -> dict[Dimension, frozenset[str]]:
    """The countries fewer than k cases of the whole period share."""
    out = {}
    for dim in RECODED:
        if dim in dims:
            totals = database_counts(population, (dim,), period)
            out[dim] = rare_values({key[0]: n for key, n in totals.items()}, k)
    return out


def report(
    population: Sequence[Case], period: Period, group_by: Sequence[Dimension], k: int
) -> CaseloadReport:
    dims = canonical(group_by)
    rare = rare_of(population, dims, period, k)
    counts = database_counts(population, dims, period)
    # As the service does: the countries a table may name are those of the period.
    domains = {d: VALUES[d] for d in VALUES if d not in RECODED}
    for dim in (D.COUNTRY_OF_ORIGIN,):
        domains[dim] = tuple(key[0] for key in database_counts(population, (dim,), period))
    return build_caseload(period, group_by, k, counts, rare, domains)


def straight(population: Sequence[Case], period: Period, group_by: Sequence[Dimension],
             key: Key, k: int) -> int:  # fmt: skip
    """The true count behind an entry, straight from the cases (OTHER: the rare countries)."""
    cohort = [c for c in population if in_period(c, period)]
    per_country: dict[str, int] = {}
    for case in cohort:
        country = case.values(D.COUNTRY_OF_ORIGIN)[0]
        per_country[country] = per_country.get(country, 0) + 1

    def shown(value: str, dim: Dimension) -> str:
        if dim in RECODED and per_country[value] < k:
            return OTHER
        return value

    total = 0
    for case in cohort:
        for combination in itertools.product(*(case.values(d) for d in group_by)):
            if all(w is None or w == shown(v, d) for w, v, d in zip(key, combination, group_by,
                                                                   strict=True)):  # fmt: skip
                total += 1
    return total


def groupings() -> list[tuple[Dimension, ...]]:
    dims = list(VALUES)
    out: list[tuple[Dimension, ...]] = [()]
    out += [(d,) for d in dims]
    out += list(itertools.combinations(dims, 2))
    out += [(D.SHELTER, D.PHASE, D.EXPLOITATION_FORM), (D.GENDER, D.COUNTRY_OF_ORIGIN, D.PHASE)]
    out += [(D.PHASE, D.SHELTER)]  # asked in another order
    return out


def periods() -> list[Period]:
    return [
        parse_period(year=YEAR),
        parse_period(quarter=f"{YEAR}-Q2"),
        parse_period(month=f"{YEAR}-05"),
        parse_period(from_month=f"{YEAR}-02", to_month=f"{YEAR}-11"),
        parse_period(from_month=f"{YEAR}-03", to_month=f"{YEAR}-04"),
    ]


def allowed(true: int, published: int | None, k: int) -> bool:
    if true < k:
        return published is None
    return published is None or published == disclosure.round_to_base(true, k)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(population=populations, k=st.sampled_from([3, 5, 11]))
def test_every_period_and_grouping_is_exact_before_protection_and_allowed_after(
    population: list[Case], k: int
) -> None:
    for period in periods():
        # An entry, keyed by its (dimension, value) pairs, is shown the same in every grouping.
        seen: dict[frozenset[tuple[Dimension, str]], bool] = {}
        for group_by in groupings():
            dims = canonical(group_by)
            rep = report(population, period, group_by, k)
            rare = rare_of(population, dims, period, k)
            before = disclosure.with_margins(
                recoded_counts(database_counts(population, dims, period), dims, rare), len(dims)
            )
            position = [dims.index(d) for d in group_by]
            for key, true in before.items():
                asked = tuple(key[i] for i in position)
                assert true == straight(population, period, group_by, asked, k)
            for key, published in rep.entries.items():
                true = straight(population, period, group_by, key, k)
                assert allowed(true, published, k), (period.label, group_by, key, true)
                if D.EXPLOITATION_FORM not in group_by:
                    pairs = frozenset((d, v) for d, v in zip(group_by, key, strict=True) if v)
                    assert seen.setdefault(pairs, published is None) == (published is None)
            for members in disclosure.lines_of(rep.entries, len(group_by)).values():
                assert sum(rep.entries[m] is None for m in members) != 1


def test_a_range_names_a_country_that_is_rare_in_every_month_but_not_in_the_range() -> None:
    def cases(country: str, months: Iterable[int], per_month: int) -> list[Case]:
        case = ("moviera", "INTAKE", "FEMALE", country)
        return [Case(m, case, frozenset({"SERVITUDE"})) for m in months for _ in range(per_month)]

    # Rare in every month, but 60 and 40 cases over the ten months.
    population = cases("RO", range(2, 12), 6) + cases("BG", range(2, 12), 4)
    population += cases("VN", [4], 25) + cases("NG", [5], 3)
    period = parse_period(from_month=f"{YEAR}-02", to_month=f"{YEAR}-11")
    rep = report(population, period, [D.COUNTRY_OF_ORIGIN], 11)
    assert rep.entries[("RO",)] == 55  # 60, rounded to base 11
    assert rep.entries[("BG",)] == 44  # 40
    assert rep.entries[(OTHER,)] is None  # the three Nigerian cases
    assert rep.entries[("VN",)] is None  # withheld, or OTHER would be the total minus the rest
    assert rep.entries[(None,)] == 132  # 128
    assert ("NG",) not in rep.entries
    may = report(population, parse_period(month=f"{YEAR}-05"), [D.COUNTRY_OF_ORIGIN], 11)
    assert set(may.entries) == {(OTHER,), (None,)}  # RO, BG and NG: all under OTHER in May


def test_secondary_suppression_hides_a_lone_small_cell_in_its_row_and_column() -> None:
    counts = {("a", "x"): 30, ("a", "y"): 3, ("b", "x"): 25, ("b", "y"): 40}
    table = disclosure.protect_table(counts, [("a", "b"), ("x", "y")], 11)
    assert table[("a", "y")] is None  # primary
    for members in disclosure.lines_of(table, 2).values():
        assert sum(table[m] is None for m in members) != 1
    assert all(v is None or v % 11 == 0 for v in table.values())


def test_empty_cells_are_suppressed_like_small_ones_and_every_combination_is_listed() -> None:
    counts = {("a", "x"): 30, ("b", "y"): 40}
    table = disclosure.protect_table(counts, [("a", "b", "c"), ("x", "y")], 11)
    assert len(table) == 4 * 3
    assert table[("a", "y")] is None
    assert table[("c", None)] is None
    assert table[(None, None)] == 66


def test_a_published_margin_leaves_at_least_k_minus_one_to_its_hidden_cells() -> None:
    # Row a: 32 = 30 + 2 + 0. Hiding only 2 and 0 would bound both by the row's rounding.
    counts = {("a", "x"): 30, ("a", "y"): 2, ("b", "x"): 50, ("b", "y"): 45, ("b", "z"): 20}
    table = disclosure.protect_table(counts, [("a", "b"), ("x", "y", "z")], 11)
    assert table[("a", None)] == 33
    assert table[("a", "y")] is None
    assert table[("a", "z")] is None
    assert table[("a", "x")] is None  # withheld: the hidden part of row a now holds 32


def test_rounding_keeps_counts_of_at_least_k_at_least_k() -> None:
    assert [disclosure.round_to_base(n, 11) for n in (11, 16, 17, 27, 28)] == [11, 11, 22, 22, 33]
    table = disclosure.protect_table({(): 11}, [], 11)
    assert table == {(): 11}
    assert disclosure.protect_table({(): 10}, [], 11) == {(): None}


def test_the_pattern_does_not_depend_on_the_order_of_the_dimensions() -> None:
    population = [Case(1, ("moviera", "INTAKE", "FEMALE", "RO"), frozenset({"SERVITUDE"}))] * 12
    population += [Case(1, ("het-kopland", "CLOSED", "MALE", "NG"), frozenset({"SERVITUDE"}))] * 4
    period = parse_period(month=f"{YEAR}-01")
    one = report(population, period, (D.SHELTER, D.PHASE), 11)
    other = report(population, period, (D.PHASE, D.SHELTER), 11)
    assert {(k[1], k[0]): v for k, v in one.entries.items()} == other.entries
