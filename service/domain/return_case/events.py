"""Events: the facts a return case records, named in the past tense.

Every event carries ``case_id`` first and three class-level attributes:

- ``event_type``: a stable name, equal to the class name, stored with the event;
- ``schema_version``: bumped (with an upcaster elsewhere) whenever the payload changes shape;
- ``personal_fields``: the fields holding personal data (full names, dates of birth, free
  text). The event store keeps these apart and encrypts them per client, so erasing a client's
  key makes them unreadable. Free-text fields are always personal: case workers type them.

Field types are limited to ``str``, ``int``, ``bool``, ``datetime.date``, ``uuid.UUID``, the
``StrEnum`` vocabularies, ``tuple[X, ...]`` of those and ``X | None`` of those, because one
generic JSON codec serialises every event. Annotations are real types at runtime (no
``from __future__ import annotations``), so ``dataclasses.fields`` shows them as such.

``ClientPersonalDataErased.reason`` is a code (``ErasureReason``) and not personal: the record
of why data was erased stays readable after the erasure it describes. Its optional ``note`` is
free text, hence personal: sealed with the client's key, which the same erasure destroys.
Version 1 of that event held a free-text reason in the clear; its upcaster turns the text into
a code (``RETENTION`` for the text retention wrote, ``CLIENT_REQUEST`` for the example the API
suggested, ``OTHER`` for anything else) and serves the text to no one: it stays only in the
stored row.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any, ClassVar, TypeAlias
from uuid import UUID

from service.domain.return_case.safe_return_events import (
    PLAN_PERSONAL,
    ArrivalArranged,
    BestInterestsAssessed,
    EmergencyDepartureRecorded,
    FamilyAssessed,
    GuardianRecorded,
    ReintegrationPlanRevised,
    ReturnHelpRefused,
    SafetyPlanApproved,
    SafetyPlanRecorded,
)
from service.domain.return_case.transfer_events import (
    ReturnCaseReceivedByTransfer,
    TransferOfferDeclined,
    TransferOffered,
    TransferOfferWithdrawn,
)
from service.domain.vocabulary import (
    ClientSituation,
    ClosingReason,
    ConsentPurpose,
    DangerSign,
    DepartureMode,
    ErasureReason,
    EscalationAction,
    ExploitationForm,
    Gender,
    PlanDomain,
    ProceedingsStage,
    ReachedParty,
    ReferralStatus,
    ResidenceStatus,
    ReturnSupportKind,
    ReturnWish,
    RiskFactor,
    RiskLevel,
    TravelDocumentStatus,
)

__all__ = [
    "EVENT_TYPES",
    "EVENT_TYPES_BY_NAME",
    "ArrivalArranged",
    "BestInterestsAssessed",
    "CaseworkerAssigned",
    "ClientPersonalDataErased",
    "ClientProfileUpdated",
    "ConsentGiven",
    "ConsentWithdrawn",
    "DeparturePlanned",
    "DepartureRecorded",
    "EmergencyDepartureRecorded",
    "Event",
    "FamilyAssessed",
    "FollowUpEscalated",
    "FollowUpRecorded",
    "GuardianRecorded",
    "LegalPositionRecorded",
    "PartnerOrganisationContacted",
    "ReferralStatusChanged",
    "ReintegrationPlanAgreed",
    "ReintegrationPlanRevised",
    "ReturnCaseClosed",
    "ReturnCaseOpened",
    "ReturnCaseReceivedByTransfer",
    "ReturnCaseReopened",
    "ReturnCaseTransferred",
    "ReturnConversationRecorded",
    "ReturnHelpRefused",
    "ReturnSupportArranged",
    "RiskAssessed",
    "SafetyPlanApproved",
    "SafetyPlanRecorded",
    "TransferOfferDeclined",
    "TransferOfferWithdrawn",
    "TransferOffered",
    "TravelDocumentRecorded",
    "carries_personal_data",
]

_PROFILE_PERSONAL = frozenset({"full_name", "date_of_birth", "notes"})
_NOTES = frozenset({"notes"})
_NONE: frozenset[str] = frozenset()
_NOTE_ONLY = frozenset({"note"})

Payload: TypeAlias = dict[str, Any]
# Turns a stored payload and personal part of one schema version into the next version's.
Upcaster: TypeAlias = Callable[[Payload, Payload | None], tuple[Payload, Payload | None]]

# The texts version 1 was given by retention and suggested by the API's field description.
_V1_REASON_CODES = MappingProxyType(
    {
        "retention period ended": ErasureReason.RETENTION.value,
        "request of the client": ErasureReason.CLIENT_REQUEST.value,
    }
)


def _erasure_reason_as_code(
    payload: Payload, personal: Payload | None
) -> tuple[Payload, Payload | None]:
    """``ClientPersonalDataErased`` v1 -> v2: the free-text reason becomes a code, no note."""
    text = str(payload.get("reason") or "").strip().casefold()
    code = _V1_REASON_CODES.get(text, ErasureReason.OTHER.value)
    return {**payload, "reason": code}, personal


_Payload = Payload


def _plan_v1_to_v2(
    payload: _Payload, personal: _Payload | None
) -> tuple[_Payload, _Payload | None]:
    """A plan agreed before plans were structured: no partner organisation, no goals."""
    upcast = {
        **payload,
        "partner_organisation_id": None,
        "goal_domains": [],
        "goal_responsible_organisation_ids": [],
        "goal_budgets": [],
        "goal_target_dates": [],
    }
    return upcast, personal


@dataclass(frozen=True, slots=True)
class ReturnCaseOpened:
    event_type: ClassVar[str] = "ReturnCaseOpened"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _PROFILE_PERSONAL

    case_id: UUID
    intake_date: date
    pseudonym: str
    gender: Gender
    birth_year: int | None
    nationality: str
    country_of_origin: str
    languages: tuple[str, ...]
    exploitation_forms: tuple[ExploitationForm, ...]
    full_name: str | None
    date_of_birth: date | None
    notes: str | None


@dataclass(frozen=True, slots=True)
class ClientProfileUpdated:
    event_type: ClassVar[str] = "ClientProfileUpdated"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _PROFILE_PERSONAL

    case_id: UUID
    pseudonym: str
    gender: Gender
    birth_year: int | None
    nationality: str
    country_of_origin: str
    languages: tuple[str, ...]
    exploitation_forms: tuple[ExploitationForm, ...]
    full_name: str | None
    date_of_birth: date | None
    notes: str | None


@dataclass(frozen=True, slots=True)
class ReturnConversationRecorded:
    event_type: ClassVar[str] = "ReturnConversationRecorded"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NOTES

    case_id: UUID
    held_on: date
    wish: ReturnWish
    notes: str | None


@dataclass(frozen=True, slots=True)
class LegalPositionRecorded:
    """``departure_obligation`` is derived by ``decide`` from status and proceedings."""

    event_type: ClassVar[str] = "LegalPositionRecorded"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NONE

    case_id: UUID
    recorded_on: date
    residence_status: ResidenceStatus
    proceedings_stage: ProceedingsStage
    departure_deadline: date | None
    departure_obligation: bool


@dataclass(frozen=True, slots=True)
class RiskAssessed:
    event_type: ClassVar[str] = "RiskAssessed"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NOTES

    case_id: UUID
    assessed_on: date
    level: RiskLevel
    factors: tuple[RiskFactor, ...]
    notes: str | None


@dataclass(frozen=True, slots=True)
class ConsentGiven:
    """``outside_eea`` is derived: the organisation's country is outside the EU/EEA."""

    event_type: ClassVar[str] = "ConsentGiven"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NONE

    case_id: UUID
    organisation_id: UUID
    organisation_country: str
    purpose: ConsentPurpose
    given_on: date
    transfer_risks_explained: bool
    outside_eea: bool


@dataclass(frozen=True, slots=True)
class ConsentWithdrawn:
    event_type: ClassVar[str] = "ConsentWithdrawn"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NONE

    case_id: UUID
    organisation_id: UUID
    purpose: ConsentPurpose
    withdrawn_on: date


@dataclass(frozen=True, slots=True)
class PartnerOrganisationContacted:
    """A referral to a partner organisation; it starts in status REQUESTED."""

    event_type: ClassVar[str] = "PartnerOrganisationContacted"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NOTES

    case_id: UUID
    referral_id: UUID
    organisation_id: UUID
    organisation_country: str
    purpose: ConsentPurpose
    contacted_on: date
    shares_personal_data: bool
    notes: str | None


@dataclass(frozen=True, slots=True)
class ReferralStatusChanged:
    event_type: ClassVar[str] = "ReferralStatusChanged"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = frozenset({"reason"})

    case_id: UUID
    referral_id: UUID
    status: ReferralStatus
    changed_on: date
    reason: str | None


@dataclass(frozen=True, slots=True)
class ReturnSupportArranged:
    event_type: ClassVar[str] = "ReturnSupportArranged"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NONE

    case_id: UUID
    kind: ReturnSupportKind
    arranged_on: date


@dataclass(frozen=True, slots=True)
class TravelDocumentRecorded:
    event_type: ClassVar[str] = "TravelDocumentRecorded"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NONE

    case_id: UUID
    status: TravelDocumentStatus
    recorded_on: date
    original_identity_document: bool


@dataclass(frozen=True, slots=True)
class ReintegrationPlanAgreed:
    """A structured plan (version 2); goals are parallel tuples, one entry per goal.

    Version 1 held only a date and notes; it reads as a plan without partner and goals.
    ``goal_descriptions`` is personal (free text) and reads as ``None`` once erased.
    """

    event_type: ClassVar[str] = "ReintegrationPlanAgreed"
    schema_version: ClassVar[int] = 2
    personal_fields: ClassVar[frozenset[str]] = PLAN_PERSONAL
    upcasters: ClassVar[Mapping[int, Upcaster]] = MappingProxyType({1: _plan_v1_to_v2})

    case_id: UUID
    agreed_on: date
    notes: str | None
    partner_organisation_id: UUID | None
    goal_domains: tuple[PlanDomain, ...]
    goal_responsible_organisation_ids: tuple[UUID | None, ...]
    goal_budgets: tuple[int | None, ...]
    goal_target_dates: tuple[date, ...]
    goal_descriptions: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class DeparturePlanned:
    event_type: ClassVar[str] = "DeparturePlanned"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NONE

    case_id: UUID
    planned_on: date
    destination_country: str


@dataclass(frozen=True, slots=True)
class DepartureRecorded:
    event_type: ClassVar[str] = "DepartureRecorded"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NONE

    case_id: UUID
    departed_on: date
    mode: DepartureMode
    destination_country: str


def _follow_up_v1_to_v2(
    payload: dict[str, Any], personal: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Version 1 knew only whether the client was reached: that is who was reached then."""
    return {
        **payload,
        "reached_parties": [ReachedParty.CLIENT.value] if payload.get("reached") else [],
        "domains_stable": [],
        "domains_vulnerable": [],
        "domains_at_risk": [],
        "danger_signs": [],
        "escalation_needed": False,
    }, personal


@dataclass(frozen=True, slots=True)
class FollowUpRecorded:
    """A follow-up contact after return.

    ``months_after_departure`` is derived: whole months from departure to this contact.
    ``reached`` is derived too: whether anyone (``reached_parties``) was reached. The
    situation per plan domain is kept as three lists of domains, one per situation, so each
    domain appears at most once. Version 2 added who was reached, the domains, the danger
    signs and ``escalation_needed``; ``upcasters`` turns a version 1 payload into version 2.
    """

    event_type: ClassVar[str] = "FollowUpRecorded"
    schema_version: ClassVar[int] = 2
    personal_fields: ClassVar[frozenset[str]] = _NOTES
    upcasters: ClassVar[Mapping[int, Upcaster]] = MappingProxyType({1: _follow_up_v1_to_v2})

    case_id: UUID
    contacted_on: date
    reached: bool
    situation: ClientSituation | None
    notes: str | None
    months_after_departure: int
    reached_parties: tuple[ReachedParty, ...]
    domains_stable: tuple[PlanDomain, ...]
    domains_vulnerable: tuple[PlanDomain, ...]
    domains_at_risk: tuple[PlanDomain, ...]
    danger_signs: tuple[DangerSign, ...]
    escalation_needed: bool


@dataclass(frozen=True, slots=True)
class FollowUpEscalated:
    """Danger after return was acted upon; ``action`` says what was done."""

    event_type: ClassVar[str] = "FollowUpEscalated"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NOTES

    case_id: UUID
    escalated_on: date
    action: EscalationAction
    notes: str | None


@dataclass(frozen=True, slots=True)
class CaseworkerAssigned:
    """``caseworker`` is the token subject of the user now responsible for the case."""

    event_type: ClassVar[str] = "CaseworkerAssigned"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NONE

    case_id: UUID
    caseworker: str
    assigned_on: date


def _transfer_without_offer(
    payload: Payload, personal: Payload | None
) -> tuple[Payload, Payload | None]:
    """``ReturnCaseTransferred`` v1 -> v2: a one-sided transfer named no offer."""
    return {**payload, "offer_id": None}, personal


@dataclass(frozen=True, slots=True)
class ReturnCaseTransferred:
    """The case moved to another shelter; here it is closed with reason TRANSFERRED.

    Version 2 added ``offer_id``: the accepted transfer offer, set when the receiving shelter
    accepted an offer (``None`` for a one-sided transfer, and for every version 1 event).
    """

    event_type: ClassVar[str] = "ReturnCaseTransferred"
    schema_version: ClassVar[int] = 2
    personal_fields: ClassVar[frozenset[str]] = _NONE
    upcasters: ClassVar[Mapping[int, Upcaster]] = MappingProxyType({1: _transfer_without_offer})

    case_id: UUID
    to_organisation: str
    transferred_on: date
    offer_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class ReturnCaseClosed:
    event_type: ClassVar[str] = "ReturnCaseClosed"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _NOTES

    case_id: UUID
    reason: ClosingReason
    closed_on: date
    notes: str | None


@dataclass(frozen=True, slots=True)
class ReturnCaseReopened:
    event_type: ClassVar[str] = "ReturnCaseReopened"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = frozenset({"reason"})

    case_id: UUID
    reopened_on: date
    reason: str


@dataclass(frozen=True, slots=True)
class ClientPersonalDataErased:
    event_type: ClassVar[str] = "ClientPersonalDataErased"
    schema_version: ClassVar[int] = 2
    personal_fields: ClassVar[frozenset[str]] = _NOTE_ONLY
    upcasters: ClassVar[Mapping[int, Upcaster]] = MappingProxyType({1: _erasure_reason_as_code})

    case_id: UUID
    erased_on: date
    reason: ErasureReason
    note: str | None


Event: TypeAlias = (
    ReturnCaseOpened
    | ClientProfileUpdated
    | ReturnConversationRecorded
    | LegalPositionRecorded
    | RiskAssessed
    | ConsentGiven
    | ConsentWithdrawn
    | PartnerOrganisationContacted
    | ReferralStatusChanged
    | ReturnSupportArranged
    | TravelDocumentRecorded
    | ReintegrationPlanAgreed
    | DeparturePlanned
    | DepartureRecorded
    | FollowUpRecorded
    | FollowUpEscalated
    | CaseworkerAssigned
    | ReturnCaseTransferred
    | ReturnCaseClosed
    | ReturnCaseReopened
    | ClientPersonalDataErased
    | SafetyPlanRecorded
    | SafetyPlanApproved
    | ReturnHelpRefused
    | ArrivalArranged
    | ReintegrationPlanRevised
    | GuardianRecorded
    | BestInterestsAssessed
    | FamilyAssessed
    | EmergencyDepartureRecorded
    | TransferOffered
    | TransferOfferWithdrawn
    | TransferOfferDeclined
    | ReturnCaseReceivedByTransfer
)

EVENT_TYPES: tuple[type[Event], ...] = (
    ReturnCaseOpened,
    ClientProfileUpdated,
    ReturnConversationRecorded,
    LegalPositionRecorded,
    RiskAssessed,
    ConsentGiven,
    ConsentWithdrawn,
    PartnerOrganisationContacted,
    ReferralStatusChanged,
    ReturnSupportArranged,
    TravelDocumentRecorded,
    ReintegrationPlanAgreed,
    DeparturePlanned,
    DepartureRecorded,
    FollowUpRecorded,
    FollowUpEscalated,
    CaseworkerAssigned,
    ReturnCaseTransferred,
    ReturnCaseClosed,
    ReturnCaseReopened,
    ClientPersonalDataErased,
    SafetyPlanRecorded,
    SafetyPlanApproved,
    ReturnHelpRefused,
    ArrivalArranged,
    ReintegrationPlanRevised,
    GuardianRecorded,
    BestInterestsAssessed,
    FamilyAssessed,
    EmergencyDepartureRecorded,
    TransferOffered,
    TransferOfferWithdrawn,
    TransferOfferDeclined,
    ReturnCaseReceivedByTransfer,
)

EVENT_TYPES_BY_NAME: Mapping[str, type[Event]] = MappingProxyType(
    {cls.event_type: cls for cls in EVENT_TYPES}
)


def carries_personal_data(event: Event) -> bool:
    """True when any personal field of ``event`` holds a value (not ``None``, not empty)."""
    return any(getattr(event, name) not in (None, "", ()) for name in event.personal_fields)
