"""GraphQL ``reports``: CoMensha's cross-tenant figures, protected against disclosure.

Only a CoMensha analyst gets here (``reports`` itself refuses everyone else with FORBIDDEN).
Every count is suppressed (fewer than k, zero included, or withheld to protect another) or a
multiple of the threshold k; see ``service.reports.disclosure`` and docs/decisions.md.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

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
from service.schema.enums import describe_values

strawberry.enum(
    Dimension,
    name="ReportDimension",
    description=(
        "What a caseload can be grouped by. EXPLOITATION_FORM counts a case once per form. "
        "AGE_GROUP values: MINOR, 18-22, 23+, UNKNOWN (age reached in the year of intake)."
    ),
)
strawberry.enum(
    PeriodKind, name="ReportPeriodKind", description="The kind of period a report covers."
)


@strawberry.enum(description="What a count counts.")
class CountUnit(Enum):
    CASES = "CASES"
    CASE_FORM_PAIRS = "CASE_FORM_PAIRS"


describe_values(
    Dimension,
    {
        "SHELTER": "The shelter (its slug).",
        "PHASE": "The case's phase.",
        "COUNTRY_OF_ORIGIN": "The client's country of origin; countries shared by fewer than "
        "k cases are shown as OTHER.",
        "NATIONALITY": "The client's nationality; nationalities shared by fewer than k cases "
        "are shown as OTHER.",
        "EXPLOITATION_FORM": "The form of exploitation (a case counts once per form).",
        "GENDER": "The client's gender.",
        "AGE_GROUP": "MINOR, 18-22, 23+ or UNKNOWN (age reached in the year of intake).",
        "DEPARTURE_MODE": "How the client left (departed cases only).",
        "CLOSING_REASON": "Why the case was closed (closed cases only).",
    },
)
describe_values(
    PeriodKind,
    {
        "MONTH": "One calendar month.",
        "QUARTER": "One calendar quarter.",
        "YEAR": "One calendar year.",
        "RANGE": "A range of whole months, reported as the fixed periods that tile it.",
    },
)
describe_values(
    CountUnit,
    {
        "CASES": "Each case counts once.",
        "CASE_FORM_PAIRS": "A case counts once per form of exploitation (grouped by "
        "EXPLOITATION_FORM).",
    },
)


@strawberry.input(
    description="Exactly one of: month (YYYY-MM), quarter (YYYY-Qn), year, or fromMonth with "
    "toMonth (a range of whole months, counted over its whole span at once). A case belongs "
    "to a period by its month of intake (departure figures: by month of departure)."
)
class ReportPeriodInput:
    month: str | None = strawberry.field(default=None, description="One month, as YYYY-MM.")
    quarter: str | None = strawberry.field(default=None, description="One quarter, as YYYY-Qn.")
    year: int | None = strawberry.field(default=None, description="One calendar year.")
    from_month: str | None = strawberry.field(
        default=None, description="The first month of a range, as YYYY-MM (with toMonth)."
    )
    to_month: str | None = strawberry.field(
        default=None, description="The last month of a range, as YYYY-MM (with fromMonth)."
    )

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
    kind: PeriodKind = strawberry.field(description="Month, quarter, year or range.")
    label: str = strawberry.field(
        description="The period in short, e.g. 2026, 2026-Q1, 2026-03 or 2026-01..2026-05."
    )
    from_month: str = strawberry.field(description="The first month covered (YYYY-MM).")
    to_month: str = strawberry.field(description="The last month covered (YYYY-MM).")
    parts: list[str] = strawberry.field(
        description="The fixed calendar periods (years, quarters, months) that tile the period; "
        "its figures are counted over the whole period at once, not added up from these."
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


@strawberry.type(
    description="A published count: null and suppressed when it may not be shown (fewer than "
    "k, zero included, or withheld so that another suppressed count cannot be worked out)."
)
class ReportCount:
    value: int | None = strawberry.field(
        description="The count as published (rounded); null when suppressed."
    )
    suppressed: bool = strawberry.field(
        description="True when the count may not be shown (below k, or derivable from other "
        "published figures)."
    )

    @classmethod
    def of(cls, published: Published) -> ReportCount:
        return cls(value=published, suppressed=published is None)


@strawberry.type(description="One entry of a caseload table.")
class CaseloadCell:
    values: list[str | None] = strawberry.field(
        description="One value per groupBy dimension, in that order; null means all values "
        "(a total). OTHER gathers countries shared by fewer than k cases of the period."
    )
    count: int | None = strawberry.field(description="Null when suppressed.")
    suppressed: bool = strawberry.field(description="True when the count may not be shown.")


def _cells(entries: list[tuple[Key, Published]]) -> list[CaseloadCell]:
    return [CaseloadCell(values=list(key), count=v, suppressed=v is None) for key, v in entries]


@strawberry.type(description="Cases by up to three dimensions, with totals.")
class Caseload:
    period: ReportPeriod = strawberry.field(description="The period covered.")
    group_by: list[Dimension] = strawberry.field(
        description="The dimensions, in the order of each cell's values."
    )
    unit: CountUnit = strawberry.field(description="What a count counts.")
    threshold: int = strawberry.field(description="k: counts from 1 to k-1 are never shown.")
    rounding_base: int = strawberry.field(description="Every shown count is a multiple of it.")
    cells: list[CaseloadCell] = strawberry.field(
        description="Every combination of the dimensions' values, empty ones too (an empty cell "
        "is suppressed like any count below k)."
    )
    totals: list[CaseloadCell] = strawberry.field(description="Row, column and grand totals.")
    grand_total: ReportCount = strawberry.field(description="All cases of the period.")

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
    count: ReportCount = strawberry.field(description="The cases that meet the indicator.")
    population: ReportCount = strawberry.field(description="The cases the indicator applies to.")
    share: float | None = strawberry.field(description="count / population, both as published.")
    suppressed: bool = strawberry.field(description="True when the share may not be shown.")

    @classmethod
    def of(cls, s: Share) -> IndicatorShare:
        return cls(
            count=ReportCount(value=s.count.value, suppressed=s.count.suppressed),
            population=ReportCount(value=s.population.value, suppressed=s.population.suppressed),
            share=s.value,
            suppressed=s.suppressed,
        )


@strawberry.type(
    description="Median and 90th percentile (nearest rank) of a number of days, rounded to whole "
    "weeks; shown only for a group that the published population shows to hold at least "
    "percentileMinimumGroup clients."
)
class DaysDistribution:
    population: ReportCount = strawberry.field(description="The cases measured.")
    median: int | None = strawberry.field(
        description="The median number of days, a multiple of 7; null when withheld."
    )
    p90: int | None = strawberry.field(
        description="The 90th percentile (nearest rank) in days, a multiple of 7; null when "
        "withheld."
    )
    suppressed: bool = strawberry.field(
        description="Withheld: the published population does not guarantee "
        "percentileMinimumGroup clients."
    )

    @classmethod
    def of(cls, d: Distribution) -> DaysDistribution:
        return cls(
            population=ReportCount(value=d.population.value, suppressed=d.population.suppressed),
            median=d.median,
            p90=d.p90,
            suppressed=d.suppressed,
        )


@strawberry.type(description="The departures of one mode.")
class DeparturesByMode:
    mode: v.DepartureMode = strawberry.field(description="How the clients left.")
    count: ReportCount = strawberry.field(description="How many departures.")


_FOLLOW_UP_ON_TIME = (
    "Of the departures (departure cohort): the {months}-month follow-up contact was done on "
    "time, reaching the client, a partner organisation or family within 30 days of its due "
    "date."
)


@strawberry.type(description="The Safe Future indicators of one shelter, or of all (null).")
class ShelterIndicatorSet:
    shelter: str | None = strawberry.field(
        description="The shelter's slug; null for all shelters together."
    )
    intake_cases: ReportCount = strawberry.field(description="Cases with intake in the period.")
    return_discussed_within_14_days: IndicatorShare = strawberry.field(
        description="Of the intake cases: return discussed within 14 days of intake (the Safe "
        "Future method's first step)."
    )
    cases_with_partner_contact: ReportCount = strawberry.field(
        description="Intake cases with a contact with a partner organisation."
    )
    consent_before_partner_contact: IndicatorShare = strawberry.field(
        description="Of the cases with a partner contact (intake cohort): every contact came "
        "with a consent for that organisation recorded on or before it."
    )
    departures: ReportCount = strawberry.field(description="Departures in the period.")
    departures_by_mode: list[DeparturesByMode] = strawberry.field(
        description="The departures per mode."
    )
    partner_contacted_before_departure: IndicatorShare = strawberry.field(
        description="Of the departures: a partner organisation was contacted before departure."
    )
    follow_up_reached_at_3_months: IndicatorShare = strawberry.field(
        description=_FOLLOW_UP_ON_TIME.format(months=3)
    )
    follow_up_reached_at_6_months: IndicatorShare = strawberry.field(
        description=_FOLLOW_UP_ON_TIME.format(months=6)
    )
    follow_up_reached_at_12_months: IndicatorShare = strawberry.field(
        description=_FOLLOW_UP_ON_TIME.format(months=12)
    )
    days_intake_to_departure: DaysDistribution = strawberry.field(
        description="Days from intake to departure."
    )
    departures_of_minors: IndicatorShare = strawberry.field(
        description="Of the departures: clients who were minors (age group at intake)."
    )
    emergency_departures: IndicatorShare = strawberry.field(
        description="Of the departures: emergencies recorded by an admin or supervisor "
        "before the departure was ready."
    )
    plan_agreed_within_month: IndicatorShare = strawberry.field(
        description="Of the departures: a reintegration plan agreed at the latest a month "
        "after arrival."
    )

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
            departures_of_minors=IndicatorShare.of(s.departures_of_minors),
            emergency_departures=IndicatorShare.of(s.emergency_departures),
            plan_agreed_within_month=IndicatorShare.of(s.plan_agreed_within_month),
        )


@strawberry.type(description="How well the Safe Future method is applied, for a period.")
class SafeFutureIndicators:
    period: ReportPeriod = strawberry.field(description="The period covered.")
    threshold: int = strawberry.field(description="k: counts from 1 to k-1 are never shown.")
    rounding_base: int = strawberry.field(description="Every shown count is a multiple of it.")
    percentile_minimum_group: int = strawberry.field(
        description="Least number of clients a group must hold (as its published count shows) "
        "for its median and 90th percentile to be shown; by default three times k."
    )
    overall: ShelterIndicatorSet = strawberry.field(
        description="The indicators over all shelters together."
    )
    shelters: list[ShelterIndicatorSet] = strawberry.field(
        description="One per shelter when byShelter is true; empty otherwise."
    )

    @classmethod
    def of(cls, report: IndicatorsReport) -> SafeFutureIndicators:
        return cls(
            period=ReportPeriod.of(report.period),
            threshold=report.k,
            rounding_base=report.k,
            percentile_minimum_group=report.min_group,
            overall=ShelterIndicatorSet.of(report.overall),
            shelters=[ShelterIndicatorSet.of(s) for s in report.shelters],
        )


@strawberry.type(description="Cross-tenant reports for CoMensha analysts.")
class Reports:
    @strawberry.field(  # type: ignore[untyped-decorator]
        description=f"Cases grouped by up to {MAX_DIMENSIONS} dimensions, with totals."
    )
    async def caseload(
        self,
        info: Info,
        period: Annotated[
            ReportPeriodInput, strawberry.argument(description="The period to report on.")
        ],
        group_by: Annotated[
            list[Dimension],
            strawberry.argument(description="Up to three dimensions to group the cases by."),
        ],
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
        self,
        info: Info,
        period: Annotated[
            ReportPeriodInput, strawberry.argument(description="The period to report on.")
        ],
        by_shelter: Annotated[
            bool, strawberry.argument(description="Also give the indicators per shelter.")
        ] = False,
    ) -> SafeFutureIndicators:
        ctx = info.context
        require_report_access(ctx.principal)
        settings = ctx.settings
        report = await queries.indicators_report(
            ctx.deps.engine,
            settings.report_k,
            period.parse(),
            by_shelter,
            settings.report_percentile_min_group,
        )
        return SafeFutureIndicators.of(report)

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="Clients transferred between shelters (accepted transfer offers, by the "
        "month of acceptance), over all shelters; protected like every count."
    )
    async def transfers(
        self,
        info: Info,
        period: Annotated[
            ReportPeriodInput,
            strawberry.argument(description="The period: a month, quarter, year or month range."),
        ],
    ) -> ReportCount:
        ctx = info.context
        require_report_access(ctx.principal)
        published = await queries.transfers_report(
            ctx.deps.engine, ctx.settings.report_k, period.parse()
        )
        return ReportCount.of(published)


async def reports(info: Info) -> Reports:
    require_report_access(info.context.principal)
    return Reports()
