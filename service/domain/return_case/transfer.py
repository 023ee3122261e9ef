"""The two-sided transfer between shelters: commands and the rules that decide them.

The sending shelter offers the case to a named shelter (``OfferTransfer``); the offer needs
the client's active consent for that shelter (a social-map organisation) with purpose
``TRANSFER``. While the offer waits, the sender may withdraw it; the receiver may decline it
(recorded on the sending case by ``RecordTransferDeclined``) or accept it: the sending case
then closes TRANSFERRED naming the offer (``CompleteTransfer``) and a new case starts at the
receiver (``ReceiveTransferredCase``). The case stays open at the sender until acceptance.

Only cases still in care can be transferred (intake, orientation, preparation): a client who
departed is followed up by the shelter that saw them leave.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from uuid import UUID

from service.domain.errors import CaseAlreadyExists, CaseNotFound
from service.domain.return_case.events import Event, ReturnCaseTransferred
from service.domain.return_case.rules import (
    clean_optional_reason,
    clean_required_reason,
    clean_slug,
    require_date_in_range,
    require_not_before,
    violation,
)
from service.domain.return_case.state import ReturnCase, TransferOffer
from service.domain.return_case.transfer_events import (
    ReturnCaseReceivedByTransfer,
    TransferOfferDeclined,
    TransferOffered,
    TransferOfferWithdrawn,
)
from service.domain.vocabulary import (
    ConsentPurpose,
    ExploitationForm,
    Gender,
    Phase,
    ResidenceStatus,
    ReturnWish,
    RiskLevel,
)

__all__ = [
    "TRANSFERABLE_PHASES",
    "CompleteTransfer",
    "OfferTransfer",
    "ReceiveTransferredCase",
    "RecordTransferDeclined",
    "TransferCommand",
    "WithdrawTransferOffer",
    "decide_transfer",
    "receive_transferred_case",
]

TRANSFERABLE_PHASES = frozenset({Phase.INTAKE, Phase.ORIENTATION, Phase.PREPARATION})


@dataclass(frozen=True, slots=True)
class OfferTransfer:
    """Offer the case to another shelter.

    ``to_organisation_id`` is the receiving shelter as a social-map organisation (the one the
    consent names); ``to_organisation`` its tenant slug.
    """

    case_id: UUID
    offer_id: UUID
    to_organisation: str
    to_organisation_id: UUID
    offered_on: date
    share_personal_data: bool
    reason: str


@dataclass(frozen=True, slots=True)
class WithdrawTransferOffer:
    case_id: UUID
    offer_id: UUID
    withdrawn_on: date
    reason: str | None


@dataclass(frozen=True, slots=True)
class RecordTransferDeclined:
    case_id: UUID
    offer_id: UUID
    declined_on: date
    reason: str


@dataclass(frozen=True, slots=True)
class CompleteTransfer:
    """The receiving shelter accepted the offer: close the sending case TRANSFERRED."""

    case_id: UUID
    offer_id: UUID
    to_organisation_id: UUID
    transferred_on: date


TransferCommand = OfferTransfer | WithdrawTransferOffer | RecordTransferDeclined | CompleteTransfer


def decide_transfer(
    state: ReturnCase | None, command: TransferCommand, *, today: date | None = None
) -> list[Event]:
    """The events a transfer command causes on the sending case, or a ``RuleViolation``.

    Its dates follow the rule of every case command: between 1990 and 2099
    (``DATE_OUT_OF_RANGE``) and, with ``today`` (the caller's date), not after it
    (``DATE_IN_FUTURE``): an offer, an answer and a withdrawal are all things that happened.
    """
    for day in (getattr(command, f.name) for f in fields(command)):
        if isinstance(day, date):
            require_date_in_range(day)
            if today is not None and day > today:
                raise violation("DATE_IN_FUTURE")
    if state is None or state.case_id != command.case_id:
        raise CaseNotFound(command.case_id)
    match command:
        case OfferTransfer():
            return [_offer(state, command)]
        case WithdrawTransferOffer():
            _pending(state, command.offer_id, command.withdrawn_on)
            return [
                TransferOfferWithdrawn(
                    case_id=command.case_id,
                    offer_id=command.offer_id,
                    withdrawn_on=command.withdrawn_on,
                    reason=clean_optional_reason(command.reason),
                )
            ]
        case RecordTransferDeclined():
            _pending(state, command.offer_id, command.declined_on)
            reason = clean_required_reason(
                command.reason, "Declining a transfer offer needs a reason."
            )
            return [
                TransferOfferDeclined(
                    case_id=command.case_id,
                    offer_id=command.offer_id,
                    declined_on=command.declined_on,
                    reason=reason,
                )
            ]
        case CompleteTransfer():
            offer = _pending(state, command.offer_id, command.transferred_on)
            if state.closed:
                raise violation("CASE_CLOSED")
            if state.active_consent(command.to_organisation_id, ConsentPurpose.TRANSFER) is None:
                raise violation(
                    "TRANSFER_CONSENT_WITHDRAWN",
                    "The client withdrew the consent to the transfer: the offer can only be "
                    "declined or withdrawn.",
                )
            return [
                ReturnCaseTransferred(
                    case_id=command.case_id,
                    to_organisation=offer.to_organisation,
                    transferred_on=command.transferred_on,
                    offer_id=command.offer_id,
                )
            ]


def _offer(state: ReturnCase, command: OfferTransfer) -> TransferOffered:
    if state.closed:
        raise violation("CASE_CLOSED")
    if state.phase not in TRANSFERABLE_PHASES:
        raise violation(
            "TRANSFER_AFTER_DEPARTURE",
            "A case can be transferred only while the client is in care: before departure.",
        )
    if state.pending_transfer is not None:
        raise violation(
            "TRANSFER_ALREADY_OFFERED",
            "The case is already offered to a shelter: withdraw that offer first.",
        )
    require_not_before(command.offered_on, state.intake_date, "DATE_BEFORE_INTAKE")
    consent = state.active_consent(command.to_organisation_id, ConsentPurpose.TRANSFER)
    if consent is None or command.offered_on < consent.given_on:
        raise violation(
            "TRANSFER_CONSENT_REQUIRED",
            "A transfer needs the client's active consent with purpose TRANSFER for the "
            "receiving shelter, given on or before the offer.",
        )
    reason = clean_required_reason(command.reason, "A transfer offer needs a reason.")
    return TransferOffered(
        case_id=command.case_id,
        offer_id=command.offer_id,
        to_organisation=clean_slug(command.to_organisation),
        offered_on=command.offered_on,
        shares_personal_data=command.share_personal_data,
        reason=reason,
    )


def _pending(state: ReturnCase, offer_id: UUID, on: date) -> TransferOffer:
    offer = state.pending_transfer
    if offer is None or offer.offer_id != offer_id:
        raise violation("NO_PENDING_TRANSFER", "The transfer offer is not waiting for an answer.")
    if on < offer.offered_on:
        raise violation(
            "DATE_BEFORE_TRANSFER_OFFER",
            "An answer to a transfer offer cannot be dated before the offer.",
        )
    return offer


@dataclass(frozen=True, slots=True)
class ReceiveTransferredCase:
    """Open the receiving shelter's case from an accepted offer (facts the offer shares)."""

    case_id: UUID
    offer_id: UUID
    from_organisation: str
    intake_date: date
    first_intake_date: date
    pseudonym: str
    gender: Gender
    birth_year: int | None
    nationality: str
    country_of_origin: str
    languages: tuple[str, ...]
    exploitation_forms: tuple[ExploitationForm, ...]
    return_conversations: int
    latest_wish: ReturnWish | None
    departure_obligation: bool
    residence_status: ResidenceStatus | None
    risk_level: RiskLevel | None
    full_name: str | None
    date_of_birth: date | None


def receive_transferred_case(
    state: ReturnCase | None, command: ReceiveTransferredCase
) -> list[Event]:
    if state is not None:
        raise CaseAlreadyExists(command.case_id)
    require_not_before(command.intake_date, command.first_intake_date, "DATE_BEFORE_INTAKE")
    return [
        ReturnCaseReceivedByTransfer(
            case_id=command.case_id,
            offer_id=command.offer_id,
            from_organisation=clean_slug(command.from_organisation),
            intake_date=command.intake_date,
            first_intake_date=command.first_intake_date,
            pseudonym=command.pseudonym,
            gender=command.gender,
            birth_year=command.birth_year,
            nationality=command.nationality,
            country_of_origin=command.country_of_origin,
            languages=command.languages,
            exploitation_forms=command.exploitation_forms,
            return_conversations=command.return_conversations,
            latest_wish=command.latest_wish,
            departure_obligation=command.departure_obligation,
            residence_status=command.residence_status,
            risk_level=command.risk_level,
            full_name=command.full_name,
            date_of_birth=command.date_of_birth,
        )
    ]
