"""Deciding on the preparation of a return, the departure, and follow-up after return."""

from __future__ import annotations

import calendar
from datetime import date

from service.domain.return_case.commands import (
    AgreeReintegrationPlan,
    ArrangeReturnSupport,
    PlanDeparture,
    RecordDeparture,
    RecordTravelDocument,
)
from service.domain.return_case.events import (
    DeparturePlanned,
    DepartureRecorded,
    ReintegrationPlanAgreed,
    ReturnSupportArranged,
    TravelDocumentRecorded,
)
from service.domain.return_case.rules import (
    clean_notes,
    require_country,
    violation,
)
from service.domain.return_case.state import ReturnCase
from service.domain.vocabulary import DepartureMode, Phase, ReturnSupportKind, TravelDocumentStatus

__all__ = [
    "agree_plan",
    "arrange_support",
    "plan_departure",
    "record_departure",
    "record_travel_document",
    "whole_months_between",
]

_SUPPORT_FOR_ASSISTED_DEPARTURE = frozenset(
    {ReturnSupportKind.IOM_BASIC, ReturnSupportKind.IOM_REINTEGRATION, ReturnSupportKind.DTV}
)

_PLAN_PHASES = frozenset({Phase.PREPARATION, Phase.DEPARTED, Phase.FOLLOW_UP})


def _require_preparation(state: ReturnCase) -> None:
    if state.phase != Phase.PREPARATION:
        raise violation("NOT_IN_PREPARATION")


def arrange_support(state: ReturnCase, command: ArrangeReturnSupport) -> ReturnSupportArranged:
    _require_preparation(state)
    if command.kind in state.return_support:
        raise violation("SUPPORT_ALREADY_ARRANGED")
    return ReturnSupportArranged(
        case_id=command.case_id, kind=command.kind, arranged_on=command.arranged_on
    )


def record_travel_document(
    state: ReturnCase, command: RecordTravelDocument
) -> TravelDocumentRecorded:
    _require_preparation(state)
    requested = command.status == TravelDocumentStatus.REQUESTED
    if requested and not command.original_identity_document:
        raise violation("ORIGINAL_ID_REQUIRED")
    if command.status == TravelDocumentStatus.ISSUED and not state.travel_document_requested:
        raise violation("TRAVEL_DOCUMENT_NOT_REQUESTED")
    return TravelDocumentRecorded(
        case_id=command.case_id,
        status=command.status,
        recorded_on=command.recorded_on,
        original_identity_document=command.original_identity_document,
    )


def agree_plan(state: ReturnCase, command: AgreeReintegrationPlan) -> ReintegrationPlanAgreed:
    if state.phase not in _PLAN_PHASES:
        raise violation(
            "NOT_IN_PREPARATION",
            "A reintegration plan can be agreed only while a return is being prepared or "
            "after departure.",
        )
    return ReintegrationPlanAgreed(
        case_id=command.case_id, agreed_on=command.agreed_on, notes=clean_notes(command.notes)
    )


def plan_departure(state: ReturnCase, command: PlanDeparture) -> DeparturePlanned:
    _require_preparation(state)
    require_country(command.destination_country)
    return DeparturePlanned(
        case_id=command.case_id,
        planned_on=command.planned_on,
        destination_country=command.destination_country,
    )


def record_departure(state: ReturnCase, command: RecordDeparture) -> DepartureRecorded:
    if state.departed:
        raise violation("ALREADY_DEPARTED", "A departure is already recorded for this case.")
    require_country(command.destination_country)
    if command.mode != DepartureMode.FORCED:
        if state.phase != Phase.PREPARATION:
            raise violation("DEPARTURE_NEEDS_PREPARATION")
        if command.mode == DepartureMode.ASSISTED and not any(
            kind in _SUPPORT_FOR_ASSISTED_DEPARTURE for kind in state.return_support
        ):
            raise violation("ASSISTED_DEPARTURE_NEEDS_SUPPORT")
    return DepartureRecorded(
        case_id=command.case_id,
        departed_on=command.departed_on,
        mode=command.mode,
        destination_country=command.destination_country,
    )


def whole_months_between(start: date, end: date) -> int:
    """The largest ``n`` with ``start`` + ``n`` months <= ``end`` (0 when ``end`` < ``start``).

    Adding months keeps the day of the month, clamped to the length of the target month, so
    31 January + 1 month is the last day of February.
    """
    if end < start:
        return 0
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if _add_months(start, months) > end:
        months -= 1
    return months


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
