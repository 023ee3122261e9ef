"""Deciding on follow-up after return: contacts, escalation of danger, and who handles a case."""

from __future__ import annotations

import re

from service.domain.return_case.commands import AssignCaseworker, EscalateFollowUp, RecordFollowUp
from service.domain.return_case.departure import whole_months_between
from service.domain.return_case.events import (
    CaseworkerAssigned,
    FollowUpEscalated,
    FollowUpRecorded,
)
from service.domain.return_case.rules import (
    clean_notes,
    require_not_before,
    require_unique,
    violation,
)
from service.domain.return_case.state import ReturnCase
from service.domain.vocabulary import ClientSituation, PlanDomain, ReachedParty

__all__ = ["MAX_SUBJECT_LENGTH", "assign_caseworker", "escalate_follow_up", "record_follow_up"]

MAX_SUBJECT_LENGTH = 255
# A token subject: printable, without spaces (OIDC subjects are opaque identifiers).
_SUBJECT = re.compile(r"[^\s\x00-\x1f\x7f]+")


def record_follow_up(state: ReturnCase, command: RecordFollowUp) -> FollowUpRecorded:
    if state.departure is None:
        raise violation("FOLLOW_UP_BEFORE_DEPARTURE")
    departed_on = state.departure.departed_on
    require_not_before(command.contacted_on, departed_on, "DATE_BEFORE_DEPARTURE")
    if command.reached != (command.situation is not None):
        raise violation("SITUATION_MISMATCH")
    if command.domain_situations and not command.reached:
        raise violation("SITUATION_MISMATCH")
    if command.reached_parties and not command.reached:
        raise violation("REACHED_MISMATCH")
    require_unique(command.reached_parties, "DUPLICATE_REACHED_PARTY")
    require_unique((domain for domain, _ in command.domain_situations), "DUPLICATE_PLAN_DOMAIN")
    require_unique(command.danger_signs, "DUPLICATE_DANGER_SIGN")
    parties = command.reached_parties or ((ReachedParty.CLIENT,) if command.reached else ())
    return FollowUpRecorded(
        case_id=command.case_id,
        contacted_on=command.contacted_on,
        reached=command.reached,
        situation=command.situation,
        notes=clean_notes(command.notes),
        months_after_departure=whole_months_between(departed_on, command.contacted_on),
        reached_parties=parties,
        domains_stable=_domains(command, ClientSituation.STABLE),
        domains_vulnerable=_domains(command, ClientSituation.VULNERABLE),
        domains_at_risk=_domains(command, ClientSituation.AT_RISK),
        danger_signs=command.danger_signs,
        escalation_needed=command.escalation_needed,
    )


def _domains(command: RecordFollowUp, situation: ClientSituation) -> tuple[PlanDomain, ...]:
    return tuple(domain for domain, found in command.domain_situations if found == situation)


def escalate_follow_up(state: ReturnCase, command: EscalateFollowUp) -> FollowUpEscalated:
    if state.departure is None:
        raise violation("ESCALATION_BEFORE_DEPARTURE")
    require_not_before(command.escalated_on, state.departure.departed_on, "DATE_BEFORE_DEPARTURE")
    return FollowUpEscalated(
        case_id=command.case_id,
        escalated_on=command.escalated_on,
        action=command.action,
        notes=clean_notes(command.notes),
    )


def assign_caseworker(state: ReturnCase, command: AssignCaseworker) -> CaseworkerAssigned:
    caseworker = command.caseworker.strip()
    if len(caseworker) > MAX_SUBJECT_LENGTH or _SUBJECT.fullmatch(caseworker) is None:
        raise violation("INVALID_CASEWORKER")
    if caseworker == state.caseworker:
        raise violation("CASEWORKER_ALREADY_ASSIGNED")
    return CaseworkerAssigned(
        case_id=command.case_id, caseworker=caseworker, assigned_on=command.assigned_on
    )
