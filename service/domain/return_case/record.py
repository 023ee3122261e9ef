"""The case record: everything a case's events record, as typed facts, for reading.

``state`` keeps only what decisions need; the record keeps what a reader wants to see: every
legal position, risk assessment, consent, referral with its status history, return support,
travel document, reintegration plan, planned and actual departure, follow-up, closing (with
transfer and reopening) and erasure, oldest first.

``case_record(events)`` is a pure fold over ``(version, event)`` pairs of one stream. A fact
carries the stream version of the event that recorded it; its personal parts (notes, free-text
reasons) are not copied here: readers allowed to see them look them up in the opened event of
that version, so the record itself holds no personal value.

Adding a fact is one change in this module: a frozen dataclass, a field of ``CaseRecord``
and one ``case`` in ``_apply``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from uuid import UUID

from service.domain.return_case.events import (
    ClientPersonalDataErased,
    ConsentGiven,
    ConsentWithdrawn,
    DeparturePlanned,
    DepartureRecorded,
    Event,
    FollowUpRecorded,
    LegalPositionRecorded,
    PartnerOrganisationContacted,
    ReferralStatusChanged,
    ReturnCaseClosed,
    ReturnCaseReopened,
    ReturnCaseTransferred,
    ReturnConversationRecorded,
    ReturnSupportArranged,
    RiskAssessed,
    TravelDocumentRecorded,
)
from service.domain.vocabulary import (
    ClientSituation,
    ClosingReason,
    ConsentPurpose,
    DepartureMode,
    ErasureReason,
    ProceedingsStage,
    ReferralStatus,
    ResidenceStatus,
    ReturnSupportKind,
    ReturnWish,
    RiskFactor,
    RiskLevel,
    TravelDocumentStatus,
)

__all__ = [
    "CaseRecord",
    "Closing",
    "ConsentRecord",
    "DepartureRecord",
    "Erasure",
    "FollowUp",
    "LegalPosition",
    "PlannedDeparture",
    "ReferralRecord",
    "ReferralStatusChange",
    "ReturnConversation",
    "ReturnSupport",
    "RiskAssessment",
    "TravelDocument",
    "case_record",
]


@dataclass(frozen=True, slots=True)
class ReturnConversation:
    version: int
    held_on: date
    wish: ReturnWish


@dataclass(frozen=True, slots=True)
class LegalPosition:
    version: int
    recorded_on: date
    residence_status: ResidenceStatus
    proceedings_stage: ProceedingsStage
    departure_deadline: date | None
    departure_obligation: bool


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    version: int
    assessed_on: date
    level: RiskLevel
    factors: tuple[RiskFactor, ...]


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    version: int
    organisation_id: UUID
    organisation_country: str
    purpose: ConsentPurpose
    given_on: date
    transfer_risks_explained: bool
    outside_eea: bool
    withdrawn_on: date | None = None


@dataclass(frozen=True, slots=True)
class ReferralStatusChange:
    version: int
    status: ReferralStatus
    changed_on: date


@dataclass(frozen=True, slots=True)
class ReferralRecord:
    version: int
    referral_id: UUID
    organisation_id: UUID
    organisation_country: str
    purpose: ConsentPurpose
    contacted_on: date
    shares_personal_data: bool
    history: tuple[ReferralStatusChange, ...]


@dataclass(frozen=True, slots=True)
class ReturnSupport:
    version: int
    kind: ReturnSupportKind
    arranged_on: date


@dataclass(frozen=True, slots=True)
class TravelDocument:
    version: int
    status: TravelDocumentStatus
    recorded_on: date
    original_identity_document: bool


@dataclass(frozen=True, slots=True)
class PlannedDeparture:
    version: int
    planned_on: date
    destination_country: str


@dataclass(frozen=True, slots=True)
class DepartureRecord:
    version: int
    departed_on: date
    mode: DepartureMode
    destination_country: str


@dataclass(frozen=True, slots=True)
class FollowUp:
    version: int
    contacted_on: date
    reached: bool
    situation: ClientSituation | None
    months_after_departure: int


@dataclass(frozen=True, slots=True)
class Closing:
    """A closing (a transfer closes the case too, with reason TRANSFERRED and the receiving
    shelter), and the reopening that ended it, if any."""

    version: int
    reason: ClosingReason
    closed_on: date
    transferred_to: str | None = None
    reopened_on: date | None = None
    reopening_version: int | None = None


@dataclass(frozen=True, slots=True)
class Erasure:
    version: int
    erased_on: date
    reason: ErasureReason


@dataclass(frozen=True, slots=True)
class CaseRecord:
    return_conversations: tuple[ReturnConversation, ...] = ()
    legal_positions: tuple[LegalPosition, ...] = ()
    risk_assessments: tuple[RiskAssessment, ...] = ()
    consents: tuple[ConsentRecord, ...] = ()
    referrals: tuple[ReferralRecord, ...] = ()
    return_support: tuple[ReturnSupport, ...] = ()
    travel_documents: tuple[TravelDocument, ...] = ()
    planned_departures: tuple[PlannedDeparture, ...] = ()
    departures: tuple[DepartureRecord, ...] = ()
    follow_ups: tuple[FollowUp, ...] = ()
    closings: tuple[Closing, ...] = ()
    erasures: tuple[Erasure, ...] = ()

    @property
    def departure(self) -> DepartureRecord | None:
        return self.departures[-1] if self.departures else None


def case_record(events: Iterable[tuple[int, Event]]) -> CaseRecord:
    """The record of one case from its ``(version, event)`` pairs, oldest first."""
    record = CaseRecord()
    for version, event in events:
        record = _apply(record, version, event)
    return record


def _apply(record: CaseRecord, version: int, event: Event) -> CaseRecord:
    match event:
        case ReturnConversationRecorded():
            fact = ReturnConversation(version, event.held_on, event.wish)
            return replace(record, return_conversations=(*record.return_conversations, fact))
        case LegalPositionRecorded():
            position = LegalPosition(
                version,
                event.recorded_on,
                event.residence_status,
                event.proceedings_stage,
                event.departure_deadline,
                event.departure_obligation,
            )
            return replace(record, legal_positions=(*record.legal_positions, position))
        case RiskAssessed():
            risk = RiskAssessment(version, event.assessed_on, event.level, event.factors)
            return replace(record, risk_assessments=(*record.risk_assessments, risk))
        case ConsentGiven():
            consent = ConsentRecord(
                version,
                event.organisation_id,
                event.organisation_country,
                event.purpose,
                event.given_on,
                event.transfer_risks_explained,
                event.outside_eea,
            )
            return replace(record, consents=(*record.consents, consent))
        case ConsentWithdrawn():
            key = (event.organisation_id, event.purpose)
            consents = tuple(
                replace(c, withdrawn_on=event.withdrawn_on)
                if c.withdrawn_on is None and (c.organisation_id, c.purpose) == key
                else c
                for c in record.consents
            )
            return replace(record, consents=consents)
        case PartnerOrganisationContacted():
            referral = ReferralRecord(
                version,
                event.referral_id,
                event.organisation_id,
                event.organisation_country,
                event.purpose,
                event.contacted_on,
                event.shares_personal_data,
                (ReferralStatusChange(version, ReferralStatus.REQUESTED, event.contacted_on),),
            )
            return replace(record, referrals=(*record.referrals, referral))
        case ReferralStatusChanged():
            change = ReferralStatusChange(version, event.status, event.changed_on)
            referrals = tuple(
                replace(r, history=(*r.history, change))
                if r.referral_id == event.referral_id
                else r
                for r in record.referrals
            )
            return replace(record, referrals=referrals)
        case ReturnSupportArranged():
            support = ReturnSupport(version, event.kind, event.arranged_on)
            return replace(record, return_support=(*record.return_support, support))
        case TravelDocumentRecorded():
            document = TravelDocument(
                version, event.status, event.recorded_on, event.original_identity_document
            )
            return replace(record, travel_documents=(*record.travel_documents, document))
        case DeparturePlanned():
            planned = PlannedDeparture(version, event.planned_on, event.destination_country)
            return replace(record, planned_departures=(*record.planned_departures, planned))
        case DepartureRecorded():
            departure = DepartureRecord(
                version, event.departed_on, event.mode, event.destination_country
            )
            return replace(record, departures=(*record.departures, departure))
        case FollowUpRecorded():
            follow_up = FollowUp(
                version,
                event.contacted_on,
                event.reached,
                event.situation,
                event.months_after_departure,
            )
            return replace(record, follow_ups=(*record.follow_ups, follow_up))
        case ReturnCaseTransferred():
            closing = Closing(
                version, ClosingReason.TRANSFERRED, event.transferred_on, event.to_organisation
            )
            return replace(record, closings=(*record.closings, closing))
        case ReturnCaseClosed():
            closing = Closing(version, event.reason, event.closed_on)
            return replace(record, closings=(*record.closings, closing))
        case ReturnCaseReopened():
            if not record.closings or record.closings[-1].reopened_on is not None:
                return record
            last = replace(
                record.closings[-1], reopened_on=event.reopened_on, reopening_version=version
            )
            return replace(record, closings=(*record.closings[:-1], last))
        case ClientPersonalDataErased():
            erasure = Erasure(version, event.erased_on, event.reason)
            return replace(record, erasures=(*record.erasures, erasure))
        case _:
            # Opening and profile updates are the case's current profile, not history.
            return record
