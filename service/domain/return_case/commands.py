"""Commands: what a user asks the return case to do.

Each command is an immutable order carrying ``case_id`` first. Commands are validated by
``decide``; a command on its own promises nothing.

Annotations are real types at runtime (no ``from __future__ import annotations``) so that
the API layer can introspect fields with ``dataclasses.fields``.
"""

from dataclasses import dataclass
from datetime import date
from typing import TypeAlias
from uuid import UUID

from service.domain.vocabulary import (
    ArrivalReceiver,
    ClientSituation,
    ClosingReason,
    ConsentPurpose,
    DangerSign,
    DepartureMode,
    ErasureReason,
    EscalationAction,
    ExploitationForm,
    FamilyAssessmentOutcome,
    Gender,
    PlanDomain,
    ProceedingsStage,
    ReachedParty,
    ReferralStatus,
    ResidenceStatus,
    ReturnHelp,
    ReturnSupportKind,
    ReturnWish,
    RiskFactor,
    RiskLevel,
    TravelDocumentStatus,
)

__all__ = [
    "AgreeReintegrationPlan",
    "ApproveSafetyPlan",
    "ArrangeReturnSupport",
    "AssessRisk",
    "AssignCaseworker",
    "CloseReturnCase",
    "Command",
    "ContactPartnerOrganisation",
    "EraseClientPersonalData",
    "EscalateFollowUp",
    "GiveConsent",
    "OpenReturnCase",
    "PlanDeparture",
    "RecordArrivalArrangement",
    "RecordBestInterestsAssessment",
    "RecordDeparture",
    "RecordFamilyAssessment",
    "RecordFollowUp",
    "RecordGuardian",
    "RecordLegalPosition",
    "RecordReturnConversation",
    "RecordReturnHelpRefused",
    "RecordSafetyPlan",
    "RecordTravelDocument",
    "ReopenReturnCase",
    "ReviseReintegrationPlan",
    "TransferCase",
    "UpdateClientProfile",
    "UpdateReferralStatus",
    "WithdrawConsent",
]


@dataclass(frozen=True, slots=True)
class OpenReturnCase:
    case_id: UUID
    intake_date: date
    pseudonym: str
    gender: Gender
    birth_year: int | None
    nationality: str
    country_of_origin: str
    languages: tuple[str, ...]
    exploitation_forms: tuple[ExploitationForm, ...]
    full_name: str | None = None
    date_of_birth: date | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateClientProfile:
    """Replaces the whole profile; fields left ``None`` are cleared."""

    case_id: UUID
    pseudonym: str
    gender: Gender
    birth_year: int | None
    nationality: str
    country_of_origin: str
    languages: tuple[str, ...]
    exploitation_forms: tuple[ExploitationForm, ...]
    full_name: str | None = None
    date_of_birth: date | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class RecordReturnConversation:
    case_id: UUID
    held_on: date
    wish: ReturnWish
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class RecordLegalPosition:
    case_id: UUID
    recorded_on: date
    residence_status: ResidenceStatus
    proceedings_stage: ProceedingsStage
    departure_deadline: date | None = None


@dataclass(frozen=True, slots=True)
class AssessRisk:
    case_id: UUID
    assessed_on: date
    level: RiskLevel
    factors: tuple[RiskFactor, ...] = ()
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class GiveConsent:
    case_id: UUID
    organisation_id: UUID
    organisation_country: str
    purpose: ConsentPurpose
    given_on: date
    transfer_risks_explained: bool = False


@dataclass(frozen=True, slots=True)
class WithdrawConsent:
    case_id: UUID
    organisation_id: UUID
    purpose: ConsentPurpose
    withdrawn_on: date


@dataclass(frozen=True, slots=True)
class ContactPartnerOrganisation:
    case_id: UUID
    referral_id: UUID
    organisation_id: UUID
    organisation_country: str
    purpose: ConsentPurpose
    contacted_on: date
    shares_personal_data: bool
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateReferralStatus:
    case_id: UUID
    referral_id: UUID
    status: ReferralStatus
    changed_on: date
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ArrangeReturnSupport:
    case_id: UUID
    kind: ReturnSupportKind
    arranged_on: date


@dataclass(frozen=True, slots=True)
class RecordTravelDocument:
    case_id: UUID
    status: TravelDocumentStatus
    recorded_on: date
    original_identity_document: bool


@dataclass(frozen=True, slots=True)
class AgreeReintegrationPlan:
    """The plan's goals come as parallel tuples, one entry per goal.

    A goal's responsible organisation is a social-map organisation, or ``None`` for the
    client and their family; its budget is the support budget in whole euros, if any.
    """

    case_id: UUID
    agreed_on: date
    partner_organisation_id: UUID
    goal_domains: tuple[PlanDomain, ...]
    goal_responsible_organisation_ids: tuple[UUID | None, ...]
    goal_budgets: tuple[int | None, ...]
    goal_target_dates: tuple[date, ...]
    goal_descriptions: tuple[str, ...]
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class ReviseReintegrationPlan:
    """Replaces the agreed plan's partner and goals as a whole (same shape as agreeing)."""

    case_id: UUID
    revised_on: date
    partner_organisation_id: UUID
    goal_domains: tuple[PlanDomain, ...]
    goal_responsible_organisation_ids: tuple[UUID | None, ...]
    goal_budgets: tuple[int | None, ...]
    goal_target_dates: tuple[date, ...]
    goal_descriptions: tuple[str, ...]
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class PlanDeparture:
    case_id: UUID
    planned_on: date
    destination_country: str
    mode: DepartureMode = DepartureMode.ASSISTED


@dataclass(frozen=True, slots=True)
class RecordDeparture:
    """``emergency_authorised`` is filled in by the server from the caller's roles."""

    case_id: UUID
    departed_on: date
    mode: DepartureMode
    destination_country: str
    emergency_reason: str | None = None
    emergency_authorised: bool = False


@dataclass(frozen=True, slots=True)
class RecordSafetyPlan:
    """Measures per risk factor (parallel tuples); ``written_by`` is filled in by the server."""

    case_id: UUID
    written_on: date
    risk_factors: tuple[RiskFactor, ...]
    measures: tuple[str, ...]
    written_by: str = ""


@dataclass(frozen=True, slots=True)
class ApproveSafetyPlan:
    """``approved_by`` is filled in by the server: the approving admin or supervisor."""

    case_id: UUID
    approved_on: date
    approved_by: str = ""


@dataclass(frozen=True, slots=True)
class RecordReturnHelpRefused:
    case_id: UUID
    refused_on: date
    help_offered: tuple[ReturnHelp, ...]
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class RecordArrivalArrangement:
    """Destination and who receives the client; ``organisation_country`` comes from the map."""

    case_id: UUID
    arranged_on: date
    destination_country: str
    destination_place: str
    receiver: ArrivalReceiver
    organisation_id: UUID | None = None
    organisation_country: str = ""
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RecordGuardian:
    case_id: UUID
    appointed_on: date
    guardian_organisation: str
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class RecordBestInterestsAssessment:
    case_id: UUID
    assessed_on: date
    return_in_best_interests: bool
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class RecordFamilyAssessment:
    case_id: UUID
    assessed_on: date
    outcome: FamilyAssessmentOutcome
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class RecordFollowUp:
    """A follow-up contact after return.

    ``reached`` says whether anyone was reached; ``reached_parties`` who (the client when
    left empty on a contact that reached someone). ``domain_situations`` pairs plan domains
    with the situation found there, each domain at most once.
    """

    case_id: UUID
    contacted_on: date
    reached: bool
    situation: ClientSituation | None = None
    notes: str | None = None
    reached_parties: tuple[ReachedParty, ...] = ()
    domain_situations: tuple[tuple[PlanDomain, ClientSituation], ...] = ()
    danger_signs: tuple[DangerSign, ...] = ()
    escalation_needed: bool = False


@dataclass(frozen=True, slots=True)
class EscalateFollowUp:
    """Danger after return was acted upon: what was done, and when."""

    case_id: UUID
    escalated_on: date
    action: EscalationAction
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class AssignCaseworker:
    """Make ``caseworker`` (a user's token subject) responsible for the case."""

    case_id: UUID
    caseworker: str
    assigned_on: date


@dataclass(frozen=True, slots=True)
class TransferCase:
    case_id: UUID
    to_organisation: str
    transferred_on: date


@dataclass(frozen=True, slots=True)
class CloseReturnCase:
    case_id: UUID
    reason: ClosingReason
    closed_on: date
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class ReopenReturnCase:
    case_id: UUID
    reopened_on: date
    reason: str


@dataclass(frozen=True, slots=True)
class EraseClientPersonalData:
    """``reason`` is a code; ``note`` is free text and so personal: it is sealed with the
    client's key and erased with the rest in the same transaction."""

    case_id: UUID
    erased_on: date
    reason: ErasureReason
    note: str | None = None


Command: TypeAlias = (
    OpenReturnCase
    | UpdateClientProfile
    | RecordReturnConversation
    | RecordLegalPosition
    | AssessRisk
    | GiveConsent
    | WithdrawConsent
    | ContactPartnerOrganisation
    | UpdateReferralStatus
    | ArrangeReturnSupport
    | RecordTravelDocument
    | AgreeReintegrationPlan
    | PlanDeparture
    | RecordDeparture
    | RecordFollowUp
    | EscalateFollowUp
    | AssignCaseworker
    | TransferCase
    | CloseReturnCase
    | ReopenReturnCase
    | EraseClientPersonalData
    | RecordSafetyPlan
    | ApproveSafetyPlan
    | RecordReturnHelpRefused
    | RecordArrivalArrangement
    | ReviseReintegrationPlan
    | RecordGuardian
    | RecordBestInterestsAssessment
    | RecordFamilyAssessment
)
