"""``decide``: turns a command into the events it causes, or refuses it with a rule.

``decide`` is pure: it reads the state and the command, and returns events or raises. It
never changes the state; the caller appends the events and folds them with ``evolve``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from datetime import date
from typing import assert_never

from service.domain.errors import CaseAlreadyExists, CaseNotFound
from service.domain.return_case.closing import (
    close_case,
    erase_personal_data,
    reopen_case,
    transfer_case,
)
from service.domain.return_case.commands import (
    AgreeReintegrationPlan,
    ApproveSafetyPlan,
    ArrangeReturnSupport,
    AssessRisk,
    AssignCaseworker,
    CloseReturnCase,
    Command,
    ContactPartnerOrganisation,
    EraseClientPersonalData,
    EscalateFollowUp,
    GiveConsent,
    OpenReturnCase,
    PlanDeparture,
    RecordArrivalArrangement,
    RecordBestInterestsAssessment,
    RecordDeparture,
    RecordFamilyAssessment,
    RecordFollowUp,
    RecordGuardian,
    RecordLegalPosition,
    RecordReturnConversation,
    RecordReturnHelpRefused,
    RecordSafetyPlan,
    RecordTravelDocument,
    ReopenReturnCase,
    ReviseReintegrationPlan,
    TransferCase,
    UpdateClientProfile,
    UpdateReferralStatus,
    WithdrawConsent,
)
from service.domain.return_case.departure import (
    arrange_support,
    plan_departure,
    record_departure,
    record_travel_document,
)
from service.domain.return_case.events import Event
from service.domain.return_case.follow_up import (
    assign_caseworker,
    escalate_follow_up,
    record_follow_up,
)
from service.domain.return_case.intake import (
    assess_risk,
    open_case,
    record_conversation,
    record_legal_position,
    update_profile,
)
from service.domain.return_case.readiness import DEFAULT_POLICY, ReadinessPolicy
from service.domain.return_case.reintegration import agree_plan, revise_plan
from service.domain.return_case.rules import (
    require_date_in_range,
    require_not_before,
    violation,
)
from service.domain.return_case.safe_return import (
    approve_safety_plan,
    record_arrival,
    record_best_interests,
    record_family_assessment,
    record_guardian,
    record_help_refused,
    record_safety_plan,
)
from service.domain.return_case.sharing import (
    contact_partner,
    give_consent,
    update_referral,
    withdraw_consent,
)
from service.domain.return_case.state import ReturnCase

__all__ = ["decide"]

# Commands that a closed case still accepts: reopening, and the client's own rights.
_ALLOWED_WHEN_CLOSED = (ReopenReturnCase, WithdrawConsent, EraseClientPersonalData)


# Dates that name what is planned or owed, not what happened: they may lie ahead.
_PLANNED_DATES = frozenset({"planned_on", "departure_deadline"})


def decide(
    state: ReturnCase | None,
    command: Command,
    policy: ReadinessPolicy = DEFAULT_POLICY,
    *,
    today: date | None = None,
) -> list[Event]:
    """The events ``command`` causes in ``state``; ``policy`` sets the readiness rules.

    With ``today`` (the caller's date; the domain has no clock), a recorded date after it is
    refused (``DATE_IN_FUTURE``); planned dates may lie ahead.

    Raises ``CaseNotFound`` for a command on a case that does not exist (``state`` is
    ``None``, or is the state of a case with another id),
    ``CaseAlreadyExists`` for opening a case twice, and ``RuleViolation`` for any rule the
    command breaks. Returns ``[]`` only for an erasure that has nothing left to erase.
    """
    for day in _dates_of(command):
        require_date_in_range(day)
    if today is not None and any(
        isinstance(getattr(command, f.name), date)
        and f.name not in _PLANNED_DATES
        and f.name != "date_of_birth"
        and getattr(command, f.name) > today
        for f in fields(command)
    ):
        raise violation("DATE_IN_FUTURE")
    if isinstance(command, OpenReturnCase):
        if state is not None:
            raise CaseAlreadyExists(command.case_id)
        return [open_case(command)]
    if state is None or command.case_id != state.case_id:
        raise CaseNotFound(command.case_id)
    if state.closed and not isinstance(command, _ALLOWED_WHEN_CLOSED):
        raise violation("CASE_CLOSED")
    for day in _dates_of(command):
        require_not_before(day, state.intake_date, "DATE_BEFORE_INTAKE")
    return _decide_on_case(state, command, policy)


def _dates_of(command: Command) -> Iterator[date]:
    """Every date a command carries except the date of birth."""
    for field in fields(command):
        value = getattr(command, field.name)
        if isinstance(value, date) and field.name != "date_of_birth":
            yield value


def _decide_on_case(state: ReturnCase, command: Command, policy: ReadinessPolicy) -> list[Event]:
    match command:
        case OpenReturnCase():
            raise CaseAlreadyExists(command.case_id)
        case UpdateClientProfile():
            return [update_profile(state, command)]
        case RecordReturnConversation():
            return [record_conversation(state, command)]
        case RecordLegalPosition():
            return [record_legal_position(state, command)]
        case AssessRisk():
            return [assess_risk(command)]
        case GiveConsent():
            return [give_consent(state, command)]
        case WithdrawConsent():
            return [withdraw_consent(state, command)]
        case ContactPartnerOrganisation():
            return [contact_partner(state, command)]
        case UpdateReferralStatus():
            return [update_referral(state, command)]
        case ArrangeReturnSupport():
            return [arrange_support(state, command)]
        case RecordTravelDocument():
            return [record_travel_document(state, command)]
        case AgreeReintegrationPlan():
            return [agree_plan(state, command)]
        case ReviseReintegrationPlan():
            return [revise_plan(state, command)]
        case PlanDeparture():
            return [plan_departure(state, command, policy)]
        case RecordDeparture():
            return record_departure(state, command, policy)
        case RecordSafetyPlan():
            return [record_safety_plan(state, command)]
        case ApproveSafetyPlan():
            return [approve_safety_plan(state, command)]
        case RecordReturnHelpRefused():
            return [record_help_refused(state, command)]
        case RecordArrivalArrangement():
            return [record_arrival(state, command)]
        case RecordGuardian():
            return [record_guardian(state, command)]
        case RecordBestInterestsAssessment():
            return [record_best_interests(state, command)]
        case RecordFamilyAssessment():
            return [record_family_assessment(state, command)]
        case RecordFollowUp():
            return [record_follow_up(state, command)]
        case EscalateFollowUp():
            return [escalate_follow_up(state, command)]
        case AssignCaseworker():
            return [assign_caseworker(state, command)]
        case TransferCase():
            return [transfer_case(command)]
        case CloseReturnCase():
            return [close_case(state, command)]
        case ReopenReturnCase():
            return [reopen_case(state, command)]
        case EraseClientPersonalData():
            return erase_personal_data(state, command)
        case _:
            assert_never(command)
