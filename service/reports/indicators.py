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

Protection: each count is a table over the shelters with the all-shelters total as its margin
(departures by mode: shelters by mode), protected as a whole (``disclosure``), so a shelter's
figure and the total are published or suppressed consistently whether or not the analyst asks
per shelter. Shares are computed from published counts only; a share whose population is
suppressed (fewer than k) is suppressed. Percentiles are order statistics (nearest rank: an
observed number of days) published only for a single fixed period whose population is
published (at least k).
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
    median: int | None
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
    overall: ShelterIndicators
    shelters: tuple[ShelterIndicators, ...]  # empty unless asked per shelter


@dataclass(frozen=True, slots=True)
class _Piece:
    metrics: dict[str, dict[Key, Published]]
    departures: dict[Key, Published]


def _protect_piece(raw: Sequence[RawIndicators], k: int) -> _Piece:
    per_shelter = [r for r in raw if r.shelter is not None]
    metrics = {
        name: disclosure.protect_table(
            {(r.shelter,): r.counts.get(name, 0) for r in per_shelter if r.shelter}, 1, k
        )
        for name in COUNT_METRICS
    }
    departures = disclosure.protect_table(
        {
            (r.shelter, mode): r.counts.get(f"departed_{mode}", 0)
            for r in per_shelter
            if r.shelter
            for mode in MODES
        },
        2,
        k,
    )
    return _Piece(metrics, departures)


def _share(count: Published, population: Published) -> Share:
    value = disclosure.share(count, population)
    suppressed = population is None or (population > 0 and count is None)
    return Share(Figure.of(count), Figure.of(population), value, suppressed)


def _shelter(
    shelter: str | None,
    metrics: Mapping[str, Mapping[Key, Published]],
    departures: Mapping[Key, Published],
    percentiles: tuple[int | None, int | None] | None,
) -> ShelterIndicators:
    def metric(name: str) -> Published:
        return metrics[name].get((shelter,), 0)

    departed = departures.get((shelter, None), 0)
    if percentiles is not None and departed is not None and departed > 0:
        distribution = Distribution(Figure.of(departed), percentiles[0], percentiles[1], False)
    else:
        distribution = Distribution(Figure.of(departed), None, None, departed != 0)
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
        departures_by_mode={mode: Figure.of(departures.get((shelter, mode), 0)) for mode in MODES},
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
    pieces: Sequence[Sequence[RawIndicators]],
) -> IndicatorsReport:
    """The published indicators of ``period`` from each fixed period's true figures.

    ``pieces`` follows ``period.pieces``; each holds one ``RawIndicators`` per shelter with
    cases in that fixed period, and one with ``shelter=None`` for all shelters together.
    """
    if len(pieces) != len(period.pieces):
        raise ValueError("one set of figures per fixed period is needed")
    protected = [_protect_piece(raw, k) for raw in pieces]
    metrics = {
        name: disclosure.sum_tables([p.metrics[name] for p in protected]) for name in COUNT_METRICS
    }
    departures = disclosure.sum_tables([p.departures for p in protected])
    raw_by_shelter: dict[str | None, RawIndicators] = {}
    if period.fixed:
        raw_by_shelter = {r.shelter: r for r in pieces[0]}

    def percentiles(shelter: str | None) -> tuple[int | None, int | None] | None:
        raw = raw_by_shelter.get(shelter)
        return None if raw is None else (raw.median_days, raw.p90_days)

    overall = _shelter(None, metrics, departures, percentiles(None))
    per_shelter = tuple(_shelter(s, metrics, departures, percentiles(s)) for s in sorted(shelters))
    return IndicatorsReport(period, k, overall, per_shelter if by_shelter else ())
