"""GraphQL ``reports``: CoMensha's cross-tenant figures, protected against disclosure.

Only a CoMensha analyst gets here (``reports`` itself refuses everyone else with FORBIDDEN).
Every count is zero, suppressed, or a multiple of the threshold k; see
``service.reports.disclosure`` and docs/decisions.md.
"""

from __future__ import annotations

from enum import Enum

import strawberry

from service.domain import vocabulary as v
from service.errors import BadUserInput
from service.reports import queries
from service.reports.access import require_report_access
from service.reports.caseload import MAX_DIMENSIONS, CaseloadReport, InvalidGrouping
from service.reports.disclosure import Key, Published
from service.reports.indicators import Distribution, IndicatorsReport, Share, ShelterIndicators
from service.reports.model import Dimension
from service.reports.periods import InvalidPeriod, Period, PeriodKind, parse_period
from service.schema.context import Info

strawberry.enum(
    Dimension,
    name="ReportDimension",
    description=(
        "What a caseload can be grouped by. EXPLOITATION_FORM counts a case once per form. "
        "AGE_GROUP values: MINOR, 18-22, 23+, UNKNOWN (age reached in the year of intake)."
    ),
)
strawberry.enum(PeriodKind, name="ReportPeriodKind")


@strawberry.enum(description="What a count counts.")
class CountUnit(Enum):
    CASES = "CASES"
    CASE_FORM_PAIRS = "CASE_FORM_PAIRS"


@strawberry.input(
    description="Exactly one of: month (YYYY-MM), quarter (YYYY-Qn), year, or fromMonth with "
    "toMonth (a range of whole months, reported as the sum of the fixed calendar periods that "
    "tile it). A case belongs to a period by its month of intake (departure figures: by "
    "month of departure)."
)
class ReportPeriodInput:
    month: str | None = None
    quarter: str | None = None
    year: int | None = None
    from_month: str | None = None
    to_month: str | None = None

    def parse(self) -> Period:
        try:
            return parse_period(
                month=self.month,
                quarter=self.quarter,
                year=self.year,
                from_month=self.from_month,
                to_month=self.to_month,
            )
        except InvalidPeriod as exc:
            raise BadUserInput(str(exc), field="period") from None


@strawberry.type(description="The period a report covers.")
class ReportPeriod:
    kind: PeriodKind
    label: str
    from_month: str
    to_month: str
    parts: list[str] = strawberry.field(
        description="The fixed calendar periods whose published figures were added up."
    )

    @classmethod
    def of(cls, period: Period) -> ReportPeriod:
        return cls(
            kind=period.kind,
            label=period.label,
            from_month=period.first.strftime("%Y-%m"),
            to_month=period.last.strftime("%Y-%m"),
            parts=[p.label for p in period.pieces],
        )


@strawberry.type(description="A published count: null and suppressed when it may not be shown.")
class ReportCount:
    value: int | None
    suppressed: bool

    @classmethod
    def of(cls, published: Published) -> ReportCount:
        return cls(value=published, suppressed=published is None)


@strawberry.type(description="One entry of a caseload table.")
class CaseloadCell:
    values: list[str | None] = strawberry.field(
        description="One value per groupBy dimension, in that order; null means all values "
        "(a total). OTHER gathers countries shared by fewer than k cases."
    )
    count: int | None = strawberry.field(description="Null when suppressed.")
    suppressed: bool


def _cells(entries: list[tuple[Key, Published]]) -> list[CaseloadCell]:
    return [CaseloadCell(values=list(key), count=v, suppressed=v is None) for key, v in entries]


@strawberry.type(description="Cases by up to three dimensions, with totals.")
class Caseload:
    period: ReportPeriod
    group_by: list[Dimension]
    unit: CountUnit
    threshold: int = strawberry.field(description="k: counts from 1 to k-1 are never shown.")
    rounding_base: int = strawberry.field(description="Every shown count is a multiple of it.")
    cells: list[CaseloadCell] = strawberry.field(description="Non-empty cells; absent is zero.")
    totals: list[CaseloadCell] = strawberry.field(description="Row, column and grand totals.")
    grand_total: ReportCount

    @classmethod
    def of(cls, report: CaseloadReport) -> Caseload:
        return cls(
            period=ReportPeriod.of(report.period),
            group_by=list(report.group_by),
            unit=CountUnit(report.unit),
            threshold=report.k,
            rounding_base=report.k,
            cells=_cells(report.cells),
            totals=_cells(report.totals),
            grand_total=ReportCount.of(report.grand_total),
        )


@strawberry.type(description="A share of a population; null and suppressed when not shown.")
class IndicatorShare:
    count: ReportCount
    population: ReportCount
    share: float | None = strawberry.field(description="count / population, both as published.")
    suppressed: bool

    @classmethod
    def of(cls, s: Share) -> IndicatorShare:
        return cls(
            count=ReportCount(value=s.count.value, suppressed=s.count.suppressed),
            population=ReportCount(value=s.population.value, suppressed=s.population.suppressed),
            share=s.value,
            suppressed=s.suppressed,
        )


@strawberry.type(description="Median and 90th percentile (nearest rank) of a number of days.")
class DaysDistribution:
    population: ReportCount
    median: int | None
    p90: int | None
    suppressed: bool = strawberry.field(
        description="Withheld: population below k, or a range of several periods."
    )

    @classmethod
    def of(cls, d: Distribution) -> DaysDistribution:
        return cls(
            population=ReportCount(value=d.population.value, suppressed=d.population.suppressed),
            median=d.median,
            p90=d.p90,
            suppressed=d.suppressed,
        )


@strawberry.type
class DeparturesByMode:
    mode: v.DepartureMode
    count: ReportCount


_FOLLOW_UP_ON_TIME = (
    "Of the departures (departure cohort): the {months}-month follow-up contact was done on "
    "time, reaching the client, a partner organisation or family within 30 days of its due "
    "date."
)


@strawberry.type(description="The Safe Future indicators of one shelter, or of all (null).")
class ShelterIndicatorSet:
    shelter: str | None
    intake_cases: ReportCount
    return_discussed_within_14_days: IndicatorShare
    cases_with_partner_contact: ReportCount
    consent_before_partner_contact: IndicatorShare = strawberry.field(
        description="Of the cases with a partner contact (intake cohort): every contact came "
        "with a consent for that organisation recorded on or before it."
    )
    departures: ReportCount
    departures_by_mode: list[DeparturesByMode]
    partner_contacted_before_departure: IndicatorShare
    follow_up_reached_at_3_months: IndicatorShare = strawberry.field(
        description=_FOLLOW_UP_ON_TIME.format(months=3)
    )
    follow_up_reached_at_6_months: IndicatorShare = strawberry.field(
        description=_FOLLOW_UP_ON_TIME.format(months=6)
    )
    follow_up_reached_at_12_months: IndicatorShare = strawberry.field(
        description=_FOLLOW_UP_ON_TIME.format(months=12)
    )
    days_intake_to_departure: DaysDistribution

    @classmethod
    def of(cls, s: ShelterIndicators) -> ShelterIndicatorSet:
        return cls(
            shelter=s.shelter,
            intake_cases=ReportCount.of(s.intake_cases.value),
            return_discussed_within_14_days=IndicatorShare.of(s.return_discussed_within_14_days),
            cases_with_partner_contact=ReportCount.of(s.cases_with_partner_contact.value),
            consent_before_partner_contact=IndicatorShare.of(s.consent_before_partner_contact),
            departures=ReportCount.of(s.departures.value),
            departures_by_mode=[
                DeparturesByMode(mode=v.DepartureMode(mode), count=ReportCount.of(f.value))
                for mode, f in s.departures_by_mode.items()
            ],
            partner_contacted_before_departure=IndicatorShare.of(
                s.partner_contacted_before_departure
            ),
            follow_up_reached_at_3_months=IndicatorShare.of(s.follow_up_reached[3]),
            follow_up_reached_at_6_months=IndicatorShare.of(s.follow_up_reached[6]),
            follow_up_reached_at_12_months=IndicatorShare.of(s.follow_up_reached[12]),
            days_intake_to_departure=DaysDistribution.of(s.days_intake_to_departure),
        )


@strawberry.type(description="How well the Safe Future method is applied, for a period.")
class SafeFutureIndicators:
    period: ReportPeriod
    threshold: int
    rounding_base: int
    overall: ShelterIndicatorSet
    shelters: list[ShelterIndicatorSet] = strawberry.field(
        description="One per shelter when byShelter is true; empty otherwise."
    )

    @classmethod
    def of(cls, report: IndicatorsReport) -> SafeFutureIndicators:
        return cls(
            period=ReportPeriod.of(report.period),
            threshold=report.k,
            rounding_base=report.k,
            overall=ShelterIndicatorSet.of(report.overall),
            shelters=[ShelterIndicatorSet.of(s) for s in report.shelters],
        )


@strawberry.type(description="Cross-tenant reports for CoMensha analysts.")
class Reports:
    @strawberry.field(  # type: ignore[untyped-decorator]
        description=f"Cases grouped by up to {MAX_DIMENSIONS} dimensions, with totals."
    )
    async def caseload(
        self, info: Info, period: ReportPeriodInput, group_by: list[Dimension]
    ) -> Caseload:
        ctx = info.context
        require_report_access(ctx.principal)
        parsed = period.parse()
        try:
            report = await queries.caseload_report(
                ctx.deps.engine, ctx.settings.report_k, parsed, group_by
            )
        except InvalidGrouping as exc:
            raise BadUserInput(str(exc), field="groupBy") from None
        return Caseload.of(report)

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="The Safe Future indicators over all shelters, and per shelter if asked."
    )
    async def safe_future_indicators(
        self, info: Info, period: ReportPeriodInput, by_shelter: bool = False
    ) -> SafeFutureIndicators:
        ctx = info.context
        require_report_access(ctx.principal)
        report = await queries.indicators_report(
            ctx.deps.engine, ctx.settings.report_k, period.parse(), by_shelter
        )
        return SafeFutureIndicators.of(report)

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="Clients transferred between shelters (accepted transfer offers, by the "
        "month of acceptance), over all shelters; protected like every count."
    )
    async def transfers(self, info: Info, period: ReportPeriodInput) -> ReportCount:
        ctx = info.context
        require_report_access(ctx.principal)
        published = await queries.transfers_report(
            ctx.deps.engine, ctx.settings.report_k, period.parse()
        )
        return ReportCount.of(published)


async def reports(info: Info) -> Reports:
    require_report_access(info.context.principal)
    return Reports()
