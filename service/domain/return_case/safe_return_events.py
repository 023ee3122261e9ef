"""Events of a safe return: the safety plan and its approval, refused return help, the
arrival arrangement, a revised reintegration plan, what a minor needs, and an emergency.

They follow the rules of ``events`` (stable ``event_type``, ``schema_version``, personal
fields kept apart and encrypted); ``events`` lists them with every other event.
"""

from dataclasses import dataclass
from datetime import date
from typing import ClassVar
from uuid import UUID

from service.domain.vocabulary import (
    ArrivalReceiver,
    FamilyAssessmentOutcome,
    PlanDomain,
    ReturnHelp,
    RiskFactor,
)

__all__ = [
    "ArrivalArranged",
    "BestInterestsAssessed",
    "EmergencyDepartureRecorded",
    "FamilyAssessed",
    "GuardianRecorded",
    "ReintegrationPlanRevised",
    "ReturnHelpRefused",
    "SafetyPlanApproved",
    "SafetyPlanRecorded",
]

_NOTES = frozenset({"notes"})
_NONE: frozenset[str] = frozenset()
PLAN_PERSONAL = frozenset({"notes", "goal_descriptions"})


@dataclass(frozen=True, slots=True)
class ReintegrationPlanRevised:
    """A new version of the agreed plan; ``revision`` counts from 2 (the agreed plan is 1)."""

    event_type: ClassVar[str] = "ReintegrationPlanRevised"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = PLAN_PERSONAL

    case_id: UUID
    revised_on: date
    revision: int
    notes: str | None
    partner_organisation_id: UUID
    goal_domains: tuple[PlanDomain, ...]
    goal_responsible_organisation_ids: tuple[UUID | None, ...]
    goal_budgets: tuple[int | None, ...]
    goal_target_dates: tuple[date, ...]
    goal_descriptions: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class SafetyPlanRecorded:
    """Measures per risk factor; a new plan replaces the previous one and its approval."""

    event_type: ClassVar[str] = "SafetyPlanRecorded"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = frozenset({"measures"})

    case_id: UUID
    written_on: date
    risk_factors: tuple[RiskFactor, ...]
    measures: tuple[str, ...] | None
    written_by: str


@dataclass(frozen=True, slots=True)
class SafetyPlanApproved:
    """A second person (tenant admin or supervisor, not the author) approved the plan."""

    event_type: ClassVar[str] = "SafetyPlanApproved"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NONE

    case_id: UUID
    approved_on: date
    approved_by: str


@dataclass(frozen=True, slots=True)
class ReturnHelpRefused:
    event_type: ClassVar[str] = "ReturnHelpRefused"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NOTES

    case_id: UUID
    refused_on: date
    help_offered: tuple[ReturnHelp, ...]
    notes: str | None


@dataclass(frozen=True, slots=True)
class ArrivalArranged:
    """Destination (country, and city or region) and who receives the client on arrival.

    ``reason`` (free text, personal) explains an arrival where nobody receives the client.
    """

    event_type: ClassVar[str] = "ArrivalArranged"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = frozenset({"reason"})

    case_id: UUID
    arranged_on: date
    destination_country: str
    destination_place: str
    receiver: ArrivalReceiver
    organisation_id: UUID | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class GuardianRecorded:
    event_type: ClassVar[str] = "GuardianRecorded"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NOTES

    case_id: UUID
    appointed_on: date
    guardian_organisation: str
    notes: str | None


@dataclass(frozen=True, slots=True)
class BestInterestsAssessed:
    event_type: ClassVar[str] = "BestInterestsAssessed"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NOTES

    case_id: UUID
    assessed_on: date
    return_in_best_interests: bool
    notes: str | None


@dataclass(frozen=True, slots=True)
class FamilyAssessed:
    event_type: ClassVar[str] = "FamilyAssessed"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NOTES

    case_id: UUID
    assessed_on: date
    outcome: FamilyAssessmentOutcome
    notes: str | None


@dataclass(frozen=True, slots=True)
class EmergencyDepartureRecorded:
    """The departure recorded with it was not ready; ``missing`` lists the readiness codes."""

    event_type: ClassVar[str] = "EmergencyDepartureRecorded"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = frozenset({"reason"})

    case_id: UUID
    departed_on: date
    missing: tuple[str, ...]
    reason: str | None
