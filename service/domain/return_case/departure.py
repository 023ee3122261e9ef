"""Deciding on the preparation of a return, the departure, and follow-up after return.

Whether a departure may be planned or recorded is ``readiness`` (its own module): the same
function the case worker asks.
"""

from __future__ import annotations

import calendar
from datetime import date

from service.domain.errors import NotReady
from service.domain.return_case.commands import (
    ArrangeReturnSupport,
    PlanDeparture,
    RecordDeparture,
    RecordTravelDocument,
)
from service.domain.return_case.events import (
    DeparturePlanned,
    DepartureRecorded,
    EmergencyDepartureRecorded,
    Event,
    ReturnSupportArranged,
    TravelDocumentRecorded,
)
from service.domain.return_case.readiness import (
    DEFAULT_POLICY,
    UNWAIVABLE,
    Readiness,
    ReadinessPolicy,
    readiness,
)
from service.domain.return_case.rules import (
    RULES,
    clean_required_reason,
    require_country,
    violation,
)
from service.domain.return_case.state import ReturnCase
from service.domain.vocabulary import DepartureMode, Phase, TravelDocumentStatus

__all__ = [
    "add_months",
    "arrange_support",
    "plan_departure",
    "record_departure",
    "record_travel_document",
    "whole_months_between",
]


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


def _not_ready(rule: str, found: Readiness) -> NotReady:
    sentences = " ".join(f"{item.code}: {item.message}" for item in found.missing)
    return NotReady(rule, f"{RULES[rule]} {sentences}", found.codes)


def _refuse_unless_ready(found: Readiness, kind: DepartureMode) -> None:
    if found.ready:
        return
    if kind == DepartureMode.FORCED:
        for code in found.codes:
            if code in RULES and code.startswith("FORCED_RETURN_"):
                raise _not_ready(code, found)
    raise _not_ready("NOT_READY", found)


def _require_destination(state: ReturnCase, country: str) -> None:
    require_country(country)
    if state.arrival is not None and state.arrival.destination_country != country:
        raise violation("DESTINATION_MISMATCH")


def plan_departure(
    state: ReturnCase, command: PlanDeparture, policy: ReadinessPolicy = DEFAULT_POLICY
) -> DeparturePlanned:
    """Planning an independent or assisted departure needs it to be ready on the planned day."""
    if command.mode == DepartureMode.FORCED:
        raise violation("FORCED_RETURN_NOT_PLANNED")
    _require_destination(state, command.destination_country)
    _refuse_unless_ready(readiness(state, command.mode, command.planned_on, policy), command.mode)
    return DeparturePlanned(
        case_id=command.case_id,
        planned_on=command.planned_on,
        destination_country=command.destination_country,
    )


def record_departure(
    state: ReturnCase, command: RecordDeparture, policy: ReadinessPolicy = DEFAULT_POLICY
) -> list[Event]:
    """A departure that is ready; or, by an admin, an emergency that skips what may be skipped.

    A forced return is a fact the shelter learns: carried out by DT&V, recorded here only when
    the policy allows it (a departure obligation, and refused help or a passed deadline).
    """
    if state.departed:
        raise violation("ALREADY_DEPARTED", "A departure is already recorded for this case.")
    _require_destination(state, command.destination_country)
    found = readiness(state, command.mode, command.departed_on, policy)
    departed = DepartureRecorded(
        case_id=command.case_id,
        departed_on=command.departed_on,
        mode=command.mode,
        destination_country=command.destination_country,
    )
    if command.emergency_reason is None:
        _refuse_unless_ready(found, command.mode)
        return [departed]
    if not command.emergency_authorised:
        raise violation("EMERGENCY_NEEDS_ADMIN")
    if command.mode == DepartureMode.FORCED:
        raise violation("EMERGENCY_ONLY_VOLUNTARY")
    reason = clean_required_reason(command.emergency_reason)
    if found.ready:
        raise violation("EMERGENCY_NOT_NEEDED")
    blocking = Readiness(tuple(item for item in found.missing if item.code in UNWAIVABLE))
    _refuse_unless_ready(blocking, command.mode)
    emergency = EmergencyDepartureRecorded(
        case_id=command.case_id,
        departed_on=command.departed_on,
        missing=found.codes,
        reason=reason,
    )
    return [departed, emergency]


def whole_months_between(start: date, end: date) -> int:
    """The largest ``n`` with ``start`` + ``n`` months <= ``end`` (0 when ``end`` < ``start``).

    Adding months keeps the day of the month, clamped to the length of the target month, so
    31 January + 1 month is the last day of February.
    """
    if end < start:
        return 0
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if add_months(start, months) > end:
        months -= 1
    return months


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, the day clamped to the month's length."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
