"""The Safe Future indicators, per shelter and over all shelters, for a period.

Two populations, both chosen by calendar month:

- the *intake cohort* (intake in the period): return discussed within 14 days of intake (first
  return conversation at most 14 days after intake); of the cases with a partner organisation
  contacted, those where every contact came with a consent for that organisation recorded on
  or before the contact;
- the *departure cohort* (departure in the period): departures by mode; a partner
  organisation contacted on or before the day of departure; a follow-up that reached the
  client at 3, 6 and 12 months (within one month either side); median and 90th percentile of
  days from intake to departure; departures of minors (age group at intake), emergency
  departures (recorded before they were ready) and plans agreed within a month of arrival.

All figures are computed over the whole period at once (a range of months too).

Protection: each count of ``COUNT_METRICS`` is a table over all shelters with the all-shelters
total as its margin (departures by mode: shelters by mode), protected as a whole
(``disclosure``), so a shelter's figure and the total are published or suppressed the same way
whether or not the analyst asks per shelter, and the intake count by shelter the same way as
the caseload by shelter. A count added to ``COUNT_METRICS`` gets that protection with nothing
more to do. Shares are computed from published counts only; a share whose count or population
is suppressed is suppressed. Percentiles are order statistics (nearest rank: one client's
number of days), so they are published only for a group that the published figures show to
hold at least ``min_group`` clients (default 3·k), and rounded to whole weeks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from service.reports import disclosure
from service.reports.disclosure import Key, Published
from service.reports.periods import Period

__all__ = [
    "COUNT_METRICS",
    "MODES",
    "Distribution",
    "Figure",
    "IndicatorsReport",
    "RawIndicators",
    "Share",
    "ShelterIndicators",
    "build_indicators",
    "percentile_min_group",
]

COUNT_METRICS = (
    "intake_cases",
    "discussed_within_14_days",
    "with_partner_contact",
    "consent_before_partner_contact",
    "partner_before_departure",
    "follow_up_3_months",
    "follow_up_6_months",
    "follow_up_12_months",
    "departures_of_minors",
    "emergency_departures",
    "plan_agreed_within_month",
)
MODES = ("INDEPENDENT", "ASSISTED", "FORCED")
# Published percentiles are rounded to whole weeks (in days).
PERCENTILE_ROUNDING_DAYS = 7


def percentile_min_group(k: int, configured: int | None = None) -> int:
    """The least group size for percentiles: the configured one (never below k), else 3·k."""
    return 3 * k if not configured else max(configured, k)


@dataclass(frozen=True, slots=True)
class RawIndicators:
    """True figures of one shelter (or of all, ``shelter=None``) in one fixed period."""

    shelter: str | None
    counts: Mapping[str, int]  # COUNT_METRICS, plus "departed_<MODE>"
    median_days: int | None
    p90_days: int | None


@dataclass(frozen=True, slots=True)
class Figure:
    value: int | None
    suppressed: bool

    @classmethod
    def of(cls, published: Published) -> Figure:
        return cls(published, published is None)


@dataclass(frozen=True, slots=True)
class Share:
    count: Figure
    population: Figure
    value: float | None
    suppressed: bool


@dataclass(frozen=True, slots=True)
class Distribution:
    population: Figure
    median: int | None  # days, rounded to whole weeks
    p90: int | None
    suppressed: bool


@dataclass(frozen=True, slots=True)
class ShelterIndicators:
    shelter: str | None  # None: all shelters
    intake_cases: Figure
    return_discussed_within_14_days: Share
    cases_with_partner_contact: Figure
    consent_before_partner_contact: Share
    departures: Figure
    departures_by_mode: Mapping[str, Figure]
    partner_contacted_before_departure: Share
    follow_up_reached: Mapping[int, Share]  # by milestone in months
    days_intake_to_departure: Distribution
    departures_of_minors: Share
    emergency_departures: Share
    plan_agreed_within_month: Share


@dataclass(frozen=True, slots=True)
class IndicatorsReport:
    period: Period
    k: int
    min_group: int  # least published group size for percentiles
    overall: ShelterIndicators
    shelters: tuple[ShelterIndicators, ...]  # empty unless asked per shelter
    # Every count of COUNT_METRICS as published: by name, then by shelter (None: all).
    counts: Mapping[str, Mapping[str | None, Published]]


def _share(count: Published, population: Published) -> Share:
    value = disclosure.share(count, population)
    suppressed = count is None or population is None
    return Share(Figure.of(count), Figure.of(population), value, suppressed)


def _least(published: int, k: int) -> int:
    """The least true count that rounds to ``published`` (a published count is at least k)."""
    return max(k, published - k // 2)


def _weeks(days: int | None) -> int | None:
    if days is None:
        return None
    return disclosure.round_to_base(days, PERCENTILE_ROUNDING_DAYS) if days >= 0 else None


def _shelter(
    shelter: str | None,
    metrics: Mapping[str, Mapping[Key, Published]],
    departures: Mapping[Key, Published],
    raw: RawIndicators | None,
    k: int,
    min_group: int,
) -> ShelterIndicators:
    def metric(name: str) -> Published:
        return metrics[name][(shelter,)]

    departed = departures[(shelter, None)]
    if raw is not None and departed is not None and _least(departed, k) >= min_group:
        distribution = Distribution(
            Figure.of(departed), _weeks(raw.median_days), _weeks(raw.p90_days), False
        )
    else:
        distribution = Distribution(Figure.of(departed), None, None, True)
    return ShelterIndicators(
        shelter=shelter,
        intake_cases=Figure.of(metric("intake_cases")),
        return_discussed_within_14_days=_share(
            metric("discussed_within_14_days"), metric("intake_cases")
        ),
        cases_with_partner_contact=Figure.of(metric("with_partner_contact")),
        consent_before_partner_contact=_share(
            metric("consent_before_partner_contact"), metric("with_partner_contact")
        ),
        departures=Figure.of(departed),
        departures_by_mode={mode: Figure.of(departures[(shelter, mode)]) for mode in MODES},
        partner_contacted_before_departure=_share(metric("partner_before_departure"), departed),
        follow_up_reached={
            m: _share(metric(f"follow_up_{m}_months"), departed) for m in (3, 6, 12)
        },
        days_intake_to_departure=distribution,
        departures_of_minors=_share(metric("departures_of_minors"), departed),
        emergency_departures=_share(metric("emergency_departures"), departed),
        plan_agreed_within_month=_share(metric("plan_agreed_within_month"), departed),
    )


def build_indicators(
    period: Period,
    k: int,
    shelters: Sequence[str],
    by_shelter: bool,
    raw: Sequence[RawIndicators],
    min_group: int | None = None,
) -> IndicatorsReport:
    """The published indicators of ``period`` from its true figures.

    ``raw`` holds one ``RawIndicators`` per shelter with cases in the period, and one with
    ``shelter=None`` for all shelters together. ``shelters`` are all shelters (the domain of
    every table, whether or not they had cases).
    """
    least = percentile_min_group(k, min_group)
    per_shelter = {r.shelter: r for r in raw if r.shelter is not None}
    domain = sorted(set(shelters) | set(per_shelter))
    metrics = {
        name: disclosure.protect_table(
            {(s,): r.counts.get(name, 0) for s, r in per_shelter.items()}, [domain], k
        )
        for name in COUNT_METRICS
    }
    departures = disclosure.protect_table(
        {
            (s, mode): r.counts.get(f"departed_{mode}", 0)
            for s, r in per_shelter.items()
            for mode in MODES
        },
        [domain, MODES],
        k,
    )
    overall_raw = next((r for r in raw if r.shelter is None), None)
    overall = _shelter(None, metrics, departures, overall_raw, k, least)
    listed = tuple(
        _shelter(s, metrics, departures, per_shelter.get(s), k, least) for s in sorted(shelters)
    )
    published = {
        name: {key[0]: value for key, value in table.items()} for name, table in metrics.items()
    }
    return IndicatorsReport(period, k, least, overall, listed if by_shelter else (), published)
