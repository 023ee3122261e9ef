"""Deciding on the facts that make a return safe: the safety plan and its approval, refused
return help, the arrival arrangement, and for minors the guardian and the assessments."""

from __future__ import annotations

from service.domain.return_case.commands import (
    ApproveSafetyPlan,
    RecordArrivalArrangement,
    RecordBestInterestsAssessment,
    RecordFamilyAssessment,
    RecordGuardian,
    RecordReturnHelpRefused,
    RecordSafetyPlan,
)
from service.domain.return_case.events import (
    ArrivalArranged,
    BestInterestsAssessed,
    FamilyAssessed,
    GuardianRecorded,
    ReturnHelpRefused,
    SafetyPlanApproved,
    SafetyPlanRecorded,
)
from service.domain.return_case.rules import (
    MAX_REASON_LENGTH,
    clean_notes,
    clean_required_reason,
    require_country,
    require_not_before,
    require_unique,
    violation,
)
from service.domain.return_case.state import ReturnCase
from service.domain.vocabulary import ArrivalReceiver

__all__ = [
    "approve_safety_plan",
    "record_arrival",
    "record_best_interests",
    "record_family_assessment",
    "record_guardian",
    "record_help_refused",
    "record_safety_plan",
]

MAX_PLACE_LENGTH = 200
MAX_GUARDIAN_LENGTH = 200


def _require_not_departed(state: ReturnCase) -> None:
    if state.departed:
        raise violation("ALREADY_DEPARTED")


def _clean_text(value: str, max_length: int, required: str, too_long: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise violation(required)
    if len(cleaned) > max_length:
        raise violation(too_long)
    return cleaned


def record_safety_plan(state: ReturnCase, command: RecordSafetyPlan) -> SafetyPlanRecorded:
    _require_not_departed(state)
    if state.risk_assessed_on is None:
        raise violation("RISK_NOT_ASSESSED")
    require_not_before(command.written_on, state.risk_assessed_on, "RISK_NOT_ASSESSED")
    if len(command.risk_factors) != len(command.measures):
        raise violation("SAFETY_PLAN_MISMATCH")
    measures = tuple(clean_notes(measure) for measure in command.measures)
    if not measures or any(measure is None for measure in measures):
        raise violation("SAFETY_PLAN_MEASURES_REQUIRED")
    require_unique(command.risk_factors, "DUPLICATE_RISK_FACTOR")
    return SafetyPlanRecorded(
        case_id=command.case_id,
        written_on=command.written_on,
        risk_factors=command.risk_factors,
        measures=tuple(m for m in measures if m is not None),
        written_by=command.written_by,
    )


def approve_safety_plan(state: ReturnCase, command: ApproveSafetyPlan) -> SafetyPlanApproved:
    _require_not_departed(state)
    plan = state.safety_plan
    if plan is None:
        raise violation("NO_SAFETY_PLAN")
    if plan.approved_on is not None:
        raise violation("SAFETY_PLAN_ALREADY_APPROVED")
    if not command.approved_by or command.approved_by == plan.written_by:
        raise violation("SELF_APPROVAL")
    require_not_before(command.approved_on, plan.written_on, "DATE_BEFORE_SAFETY_PLAN")
    return SafetyPlanApproved(
        case_id=command.case_id, approved_on=command.approved_on, approved_by=command.approved_by
    )


def record_help_refused(state: ReturnCase, command: RecordReturnHelpRefused) -> ReturnHelpRefused:
    _require_not_departed(state)
    if not command.help_offered:
        raise violation("HELP_OFFERED_REQUIRED")
    require_unique(command.help_offered, "DUPLICATE_HELP")
    return ReturnHelpRefused(
        case_id=command.case_id,
        refused_on=command.refused_on,
        help_offered=command.help_offered,
        notes=clean_notes(command.notes),
    )


def record_arrival(state: ReturnCase, command: RecordArrivalArrangement) -> ArrivalArranged:
    _require_not_departed(state)
    require_country(command.destination_country)
    place = _clean_text(
        command.destination_place, MAX_PLACE_LENGTH, "PLACE_REQUIRED", "PLACE_TOO_LONG"
    )
    by_partner = command.receiver == ArrivalReceiver.PARTNER_ORGANISATION
    if by_partner != (command.organisation_id is not None):
        raise violation("RECEIVER_ORGANISATION_REQUIRED")
    if by_partner and command.organisation_country != command.destination_country:
        raise violation("RECEIVER_ORGANISATION_COUNTRY_MISMATCH")
    if command.receiver == ArrivalReceiver.NOBODY:
        reason: str | None = clean_required_reason(
            command.reason,
            "When nobody receives the client on arrival, give the reason "
            f"(at most {MAX_REASON_LENGTH} characters).",
        )
    else:
        reason = None if command.reason is None else clean_notes(command.reason)
    return ArrivalArranged(
        case_id=command.case_id,
        arranged_on=command.arranged_on,
        destination_country=command.destination_country,
        destination_place=place,
        receiver=command.receiver,
        organisation_id=command.organisation_id,
        reason=reason,
    )


def record_guardian(state: ReturnCase, command: RecordGuardian) -> GuardianRecorded:
    _require_not_departed(state)
    guardian = _clean_text(
        command.guardian_organisation,
        MAX_GUARDIAN_LENGTH,
        "GUARDIAN_REQUIRED",
        "GUARDIAN_TOO_LONG",
    )
    return GuardianRecorded(
        case_id=command.case_id,
        appointed_on=command.appointed_on,
        guardian_organisation=guardian,
        notes=clean_notes(command.notes),
    )


def record_best_interests(
    state: ReturnCase, command: RecordBestInterestsAssessment
) -> BestInterestsAssessed:
    _require_not_departed(state)
    return BestInterestsAssessed(
        case_id=command.case_id,
        assessed_on=command.assessed_on,
        return_in_best_interests=command.return_in_best_interests,
        notes=clean_notes(command.notes),
    )


def record_family_assessment(state: ReturnCase, command: RecordFamilyAssessment) -> FamilyAssessed:
    _require_not_departed(state)
    return FamilyAssessed(
        case_id=command.case_id,
        assessed_on=command.assessed_on,
        outcome=command.outcome,
        notes=clean_notes(command.notes),
    )
