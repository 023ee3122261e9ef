"""Whether a departure is ready: what is missing, derived from the facts of the case.

``readiness(state, kind, on, policy)`` is pure. The same function answers the case worker's
question ("what is still missing?") and is what ``planDeparture`` and ``recordDeparture``
enforce, so the two can never disagree. ``on`` is the day of the (planned) departure: the risk
assessment must be recent on that day and the client's age is checked on it.

For an independent or assisted return: the client's wish to return; a recent risk assessment;
for HIGH risk a safety plan with measures for every risk factor, approved by a second person;
a usable travel document; the destination and who receives the client; for an assisted return
IOM or DT&V support; with IOM reintegration support an agreed plan with a partner organisation
and active consent to share with it; the client's birth year. For a forced return (carried out
by DT&V): a departure obligation, and either a refusal of return help or a passed departure
deadline. For a client who may be a minor (see ``age``), before any departure: a guardian, a
best-interests assessment and a family assessment; no independent or assisted return against
the best interests or to an unsafe family without a partner organisation receiving the child.

An admin's emergency departure may skip the ordinary items, never the ones in ``UNWAIVABLE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from service.domain.return_case.age import possibly_minor_on
from service.domain.return_case.state import ReturnCase
from service.domain.vocabulary import (
    ArrivalReceiver,
    ConsentPurpose,
    DepartureMode,
    FamilyAssessmentOutcome,
    ReturnSupportKind,
    ReturnWish,
    RiskLevel,
    TravelDocumentStatus,
)

__all__ = [
    "DEFAULT_POLICY",
    "ITEMS",
    "UNWAIVABLE",
    "Readiness",
    "ReadinessItem",
    "ReadinessPolicy",
    "may_be_minor",
    "readiness",
]


@dataclass(frozen=True, slots=True)
class ReadinessPolicy:
    """Settings of the readiness rules that a shelter's policy may change."""

    risk_assessment_max_age_days: int = 90


DEFAULT_POLICY = ReadinessPolicy()

ITEMS: Mapping[str, str] = MappingProxyType(
    {
        "CASE_CLOSED": "The case is closed: reopen it first.",
        "ALREADY_DEPARTED": "A departure is already recorded for this case.",
        "RETURN_WISH_MISSING": ("No return conversation records that the client wants to return."),
        "RISK_ASSESSMENT_MISSING": "No risk assessment is recorded.",
        "RISK_ASSESSMENT_OUTDATED": (
            "The latest risk assessment is older than the shelter's policy allows on the day "
            "of departure; assess the risk again."
        ),
        "SAFETY_PLAN_MISSING": (
            "The risk is HIGH: a safety plan with measures for each risk factor is needed."
        ),
        "SAFETY_PLAN_OUTDATED": (
            "The safety plan was written before the latest risk assessment; write it again."
        ),
        "SAFETY_PLAN_INCOMPLETE": (
            "The safety plan has no measures for some risk factors of the latest assessment."
        ),
        "SAFETY_PLAN_NOT_APPROVED": (
            "The safety plan must be approved by a second person (a tenant admin or "
            "supervisor who did not write it)."
        ),
        "TRAVEL_DOCUMENT_MISSING": (
            "No usable travel document: record one issued by the embassy, or the client's own "
            "valid document."
        ),
        "ARRIVAL_NOT_ARRANGED": (
            "Record the destination (country and place) and who receives the client on arrival."
        ),
        "RETURN_SUPPORT_MISSING": (
            "An assisted departure needs IOM or DT&V return support to be arranged."
        ),
        "REINTEGRATION_PLAN_MISSING": (
            "IOM reintegration support is arranged: an agreed reintegration plan is needed."
        ),
        "REINTEGRATION_PLAN_PARTNER_MISSING": (
            "The reintegration plan names no partner organisation; revise it to name one."
        ),
        "REINTEGRATION_CONSENT_MISSING": (
            "The client has no active consent to share data for reintegration support with "
            "the plan's partner organisation."
        ),
        "AGE_UNKNOWN": (
            "The client's birth year is not recorded, so the rules for minors cannot be checked."
        ),
        "GUARDIAN_MISSING": "The client may be a minor: a guardian (such as Nidos) is needed.",
        "BEST_INTERESTS_ASSESSMENT_MISSING": (
            "The client may be a minor: a best-interests assessment is needed."
        ),
        "RETURN_NOT_IN_BEST_INTERESTS": (
            "The best-interests assessment found return not in the child's best interests."
        ),
        "FAMILY_ASSESSMENT_MISSING": (
            "The client may be a minor: the family in the country of origin must be traced "
            "and assessed."
        ),
        "UNSAFE_FAMILY_NEEDS_PARTNER_RECEPTION": (
            "The family was assessed as unsafe: a partner organisation must receive the child "
            "on arrival."
        ),
        "FORCED_RETURN_NEEDS_OBLIGATION": (
            "A forced return needs a departure obligation in the client's legal position."
        ),
        "FORCED_RETURN_NEEDS_REFUSAL_OR_DEADLINE": (
            "A forced return comes only after the client refused return help or the departure "
            "deadline passed without an independent departure."
        ),
    }
)

# Items no emergency can skip: the protection of minors, and what makes a departure possible.
UNWAIVABLE = frozenset(
    {
        "CASE_CLOSED",
        "ALREADY_DEPARTED",
        "GUARDIAN_MISSING",
        "BEST_INTERESTS_ASSESSMENT_MISSING",
        "RETURN_NOT_IN_BEST_INTERESTS",
        "FAMILY_ASSESSMENT_MISSING",
        "UNSAFE_FAMILY_NEEDS_PARTNER_RECEPTION",
    }
)

_ASSISTING_SUPPORT = frozenset(
    {ReturnSupportKind.IOM_BASIC, ReturnSupportKind.IOM_REINTEGRATION, ReturnSupportKind.DTV}
)
_USABLE_DOCUMENTS = frozenset({TravelDocumentStatus.ISSUED, TravelDocumentStatus.OWN_VALID})


@dataclass(frozen=True, slots=True)
class ReadinessItem:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Readiness:
    missing: tuple[ReadinessItem, ...]

    @property
    def ready(self) -> bool:
        return not self.missing

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(item.code for item in self.missing)


def may_be_minor(state: ReturnCase, on: date) -> bool:
    """The client may be under 18 on the intake date, the planned departure date or ``on``."""
    if state.birth_year is None:
        return False
    days = (state.intake_date, state.planned_departure_on, on)
    return any(day is not None and possibly_minor_on(state.birth_year, day) for day in days)


def readiness(
    state: ReturnCase, kind: DepartureMode, on: date, policy: ReadinessPolicy = DEFAULT_POLICY
) -> Readiness:
    """What is missing for a departure of ``kind`` on ``on``, in a fixed order."""
    codes: list[str] = []
    if state.closed:
        codes.append("CASE_CLOSED")
    if state.departed:
        codes.append("ALREADY_DEPARTED")
    if kind == DepartureMode.FORCED:
        codes.extend(_forced(state, on))
    else:
        codes.extend(_voluntary(state, kind, on, policy))
    codes.extend(_minor(state, kind, on))
    return Readiness(tuple(ReadinessItem(code, ITEMS[code]) for code in codes))


def _forced(state: ReturnCase, on: date) -> list[str]:
    codes = []
    if not state.departure_obligation:
        codes.append("FORCED_RETURN_NEEDS_OBLIGATION")
    deadline_passed = state.departure_deadline is not None and state.departure_deadline < on
    refused = any(refused_on <= on for refused_on, _ in state.help_refusals)
    if not (deadline_passed or refused):
        codes.append("FORCED_RETURN_NEEDS_REFUSAL_OR_DEADLINE")
    return codes


def _voluntary(
    state: ReturnCase, kind: DepartureMode, on: date, policy: ReadinessPolicy
) -> list[str]:
    codes = []
    if state.latest_wish != ReturnWish.WANTS_TO_RETURN:
        codes.append("RETURN_WISH_MISSING")
    if state.risk_assessed_on is None:
        codes.append("RISK_ASSESSMENT_MISSING")
    elif (on - state.risk_assessed_on).days > policy.risk_assessment_max_age_days:
        codes.append("RISK_ASSESSMENT_OUTDATED")
    if state.risk_level == RiskLevel.HIGH and state.risk_assessed_on is not None:
        codes.extend(_safety_plan(state, state.risk_assessed_on))
    if state.travel_document not in _USABLE_DOCUMENTS:
        codes.append("TRAVEL_DOCUMENT_MISSING")
    if state.arrival is None:
        codes.append("ARRIVAL_NOT_ARRANGED")
    if kind == DepartureMode.ASSISTED and _ASSISTING_SUPPORT.isdisjoint(state.return_support):
        codes.append("RETURN_SUPPORT_MISSING")
    if ReturnSupportKind.IOM_REINTEGRATION in state.return_support:
        codes.extend(_reintegration(state, on))
    if state.birth_year is None:
        codes.append("AGE_UNKNOWN")
    return codes


def _safety_plan(state: ReturnCase, assessed_on: date) -> list[str]:
    plan = state.safety_plan
    if plan is None:
        return ["SAFETY_PLAN_MISSING"]
    if plan.written_on < assessed_on:
        return ["SAFETY_PLAN_OUTDATED"]
    codes = []
    if not set(state.risk_factors) <= set(plan.risk_factors):
        codes.append("SAFETY_PLAN_INCOMPLETE")
    if plan.approved_on is None:
        codes.append("SAFETY_PLAN_NOT_APPROVED")
    return codes


def _reintegration(state: ReturnCase, on: date) -> list[str]:
    plan = state.plan
    if plan is None:
        return ["REINTEGRATION_PLAN_MISSING"]
    if plan.partner_organisation_id is None:
        return ["REINTEGRATION_PLAN_PARTNER_MISSING"]
    consent = state.active_consent(
        plan.partner_organisation_id, ConsentPurpose.REINTEGRATION_SUPPORT
    )
    if consent is None or consent.given_on > on:
        return ["REINTEGRATION_CONSENT_MISSING"]
    return []


def _minor(state: ReturnCase, kind: DepartureMode, on: date) -> list[str]:
    if not may_be_minor(state, on):
        return []
    codes = []
    if state.guardian_appointed_on is None:
        codes.append("GUARDIAN_MISSING")
    if state.best_interests_assessed_on is None:
        codes.append("BEST_INTERESTS_ASSESSMENT_MISSING")
    elif kind != DepartureMode.FORCED and state.return_in_best_interests is False:
        codes.append("RETURN_NOT_IN_BEST_INTERESTS")
    if state.family_assessment is None:
        codes.append("FAMILY_ASSESSMENT_MISSING")
    elif (
        kind != DepartureMode.FORCED
        and state.family_assessment == FamilyAssessmentOutcome.UNSAFE
        and not _received_by_partner(state)
    ):
        codes.append("UNSAFE_FAMILY_NEEDS_PARTNER_RECEPTION")
    return codes


def _received_by_partner(state: ReturnCase) -> bool:
    return (
        state.arrival is not None and state.arrival.receiver == ArrivalReceiver.PARTNER_ORGANISATION
    )
