"""The Safe Future indicators: shares from published counts, small populations withheld."""

from __future__ import annotations

from service.reports.indicators import COUNT_METRICS, MODES, RawIndicators, build_indicators
from service.reports.periods import parse_period

K = 11


def raw(shelter: str | None, intake: int, discussed: int, departed: dict[str, int],
        median: int | None = 40) -> RawIndicators:  # fmt: skip
    counts = dict.fromkeys(COUNT_METRICS, 0)
    counts.update(intake_cases=intake, discussed_within_14_days=discussed)
    counts.update({f"departed_{m}": departed.get(m, 0) for m in MODES})
    counts["departures"] = sum(departed.values())
    return RawIndicators(shelter, counts, median, median and median * 2)


def figures() -> list[RawIndicators]:
    a = raw("moviera", 40, 39, {"ASSISTED": 20, "FORCED": 3})
    b = raw("het-kopland", 5, 2, {"INDEPENDENT": 2}, median=12)
    c = raw("blijf-groep", 30, 15, {"ASSISTED": 12})
    overall = raw(None, 75, 56, {"ASSISTED": 32, "FORCED": 3, "INDEPENDENT": 2}, median=38)
    return [a, b, c, overall]


def test_shares_come_from_published_counts_and_small_populations_are_withheld() -> None:
    period = parse_period(month="2031-05")
    shelters = ["blijf-groep", "het-kopland", "jade-zorggroep", "moviera"]
    report = build_indicators(period, K, shelters, True, [figures()])
    by = {s.shelter: s for s in report.shelters}
    moviera = by["moviera"].return_discussed_within_14_days
    assert (moviera.count.value, moviera.population.value, moviera.value) == (44, 44, 1.0)
    kopland = by["het-kopland"]
    assert kopland.intake_cases.suppressed
    assert kopland.return_discussed_within_14_days.suppressed
    assert kopland.days_intake_to_departure.suppressed
    assert kopland.days_intake_to_departure.median is None
    assert by["jade-zorggroep"].intake_cases.value == 0
    assert not by["jade-zorggroep"].return_discussed_within_14_days.suppressed
    assert by["moviera"].departures_by_mode["FORCED"].suppressed
    # A lone small cell in a line is never alone: its row or column hides another entry.
    modes = [by["moviera"].departures_by_mode[m].suppressed for m in MODES]
    assert sum(modes) + by["moviera"].departures.suppressed != 1
    assert report.overall.days_intake_to_departure.median == 38
    every = [report.overall, *report.shelters]
    values = [f.value for s in every for f in (s.intake_cases, s.departures) if f.value]
    assert all(v % K == 0 for v in values)


def test_the_overall_figures_do_not_depend_on_asking_per_shelter() -> None:
    period = parse_period(quarter="2031-Q2")
    pieces = [figures()]
    shelters = ["blijf-groep", "het-kopland", "moviera"]
    with_shelters = build_indicators(period, K, shelters, True, pieces)
    without = build_indicators(period, K, shelters, False, pieces)
    assert without.shelters == ()
    assert without.overall == with_shelters.overall


def test_percentiles_are_published_for_fixed_periods_only() -> None:
    period = parse_period(from_month="2031-05", to_month="2031-06")
    report = build_indicators(period, K, ["moviera"], False, [figures(), figures()])
    distribution = report.overall.days_intake_to_departure
    assert distribution.suppressed
    assert (distribution.median, distribution.p90) == (None, None)
    assert report.overall.intake_cases.value is not None
