"""The Safe Future indicators: shares from published counts, small groups withheld."""

from __future__ import annotations

from service.reports.indicators import (
    COUNT_METRICS,
    MODES,
    RawIndicators,
    build_indicators,
    percentile_min_group,
)
from service.reports.periods import parse_period

K = 11


def raw(shelter: str | None, intake: int, discussed: int, departed: dict[str, int],
        median: int | None = 40) -> RawIndicators:  # fmt: skip
    counts = dict.fromkeys(COUNT_METRICS, 0)
    counts.update(intake_cases=intake, discussed_within_14_days=discussed)
    counts.update({f"departed_{m}": departed.get(m, 0) for m in MODES})
    counts["departures"] = sum(departed.values())
    return RawIndicators(shelter, counts, median, median and median * 2 + 1)


def figures() -> list[RawIndicators]:
    a = raw("moviera", 40, 39, {"ASSISTED": 30, "FORCED": 3, "INDEPENDENT": 12})
    b = raw("het-kopland", 5, 2, {"INDEPENDENT": 2}, median=12)
    c = raw("blijf-groep", 30, 15, {"ASSISTED": 12})
    overall = raw(None, 75, 56, {"ASSISTED": 42, "FORCED": 3, "INDEPENDENT": 14}, median=38)
    return [a, b, c, overall]


def test_shares_come_from_published_counts_and_small_groups_are_withheld() -> None:
    period = parse_period(month="2031-05")
    shelters = ["blijf-groep", "het-kopland", "jade-zorggroep", "moviera"]
    report = build_indicators(period, K, shelters, True, figures())
    by = {s.shelter: s for s in report.shelters}
    moviera = by["moviera"].return_discussed_within_14_days
    assert (moviera.count.value, moviera.population.value, moviera.value) == (44, 44, 1.0)
    kopland = by["het-kopland"]
    assert kopland.intake_cases.suppressed
    assert kopland.return_discussed_within_14_days.suppressed
    assert kopland.days_intake_to_departure.suppressed
    assert kopland.days_intake_to_departure.median is None
    # A shelter without cases is suppressed like a small one: nobody learns it had none.
    assert by["jade-zorggroep"].intake_cases.suppressed
    assert by["jade-zorggroep"].intake_cases.value is None
    assert by["moviera"].departures_by_mode["FORCED"].suppressed
    # A lone small cell in a line is never alone: its row or column hides another entry.
    modes = [by["moviera"].departures_by_mode[m].suppressed for m in MODES]
    assert sum(modes) + by["moviera"].departures.suppressed != 1
    every = [report.overall, *report.shelters]
    values = [f.value for s in every for f in (s.intake_cases, s.departures) if f.value]
    assert all(v % K == 0 for v in values)


def test_percentiles_only_for_groups_well_above_k_and_rounded_to_weeks() -> None:
    period = parse_period(from_month="2031-05", to_month="2031-07")
    report = build_indicators(period, K, ["blijf-groep", "moviera"], True, figures())
    assert report.min_group == 3 * K
    # 59 departures overall, published as 55: at least 50 clients, so shown, in whole weeks.
    overall = report.overall.days_intake_to_departure
    assert (overall.median, overall.p90, overall.suppressed) == (35, 77, False)
    # moviera: 45 departures, published as 44, which may be as few as 39: shown.
    moviera = {s.shelter: s for s in report.shelters}["moviera"].days_intake_to_departure
    assert (moviera.median, moviera.p90) == (42, 84)
    # blijf-groep: 12 departures: more than k, far fewer than 3k.
    blijf = {s.shelter: s for s in report.shelters}["blijf-groep"].days_intake_to_departure
    assert (blijf.median, blijf.p90, blijf.suppressed) == (None, None, True)


def test_the_least_group_for_percentiles_follows_its_published_count() -> None:
    # 36 departures are published as 33, which may be as few as 28: below 3k, withheld.
    one = [raw("moviera", 36, 0, {"ASSISTED": 36}), raw(None, 36, 0, {"ASSISTED": 36})]
    report = build_indicators(parse_period(year=2031), K, ["moviera"], False, one)
    assert report.overall.departures.value == 33
    assert report.overall.days_intake_to_departure.suppressed
    # With a smaller configured group the same figures are shown.
    report = build_indicators(parse_period(year=2031), K, ["moviera"], False, one, 22)
    assert report.overall.days_intake_to_departure.median == 42
    assert percentile_min_group(K, 5) == K  # never below k


def test_the_overall_figures_do_not_depend_on_asking_per_shelter() -> None:
    period = parse_period(quarter="2031-Q2")
    shelters = ["blijf-groep", "het-kopland", "moviera"]
    with_shelters = build_indicators(period, K, shelters, True, figures())
    without = build_indicators(period, K, shelters, False, figures())
    assert without.shelters == ()
    assert without.overall == with_shelters.overall


def test_every_indicator_count_is_protected_alike() -> None:
    # Each count of COUNT_METRICS in turn: one shelter small, one without cases, one large.
    shelters = ["blijf-groep", "het-kopland", "moviera"]
    for name in COUNT_METRICS:
        figures = []
        for shelter, n in (("moviera", 40), ("het-kopland", 4), (None, 44)):
            counts = dict.fromkeys(COUNT_METRICS, 0)
            counts[name] = n
            figures.append(RawIndicators(shelter, counts, None, None))
        report = build_indicators(parse_period(year=2031), K, shelters, True, figures)
        published = report.counts[name]
        assert published["het-kopland"] is None, name
        assert published["blijf-groep"] is None, name  # none: suppressed like a small count
        assert published["moviera"] is None, name  # or the total would bound the others
        assert published[None] == 44, name
