"""Events of a transfer between two shelters (the two-sided transfer).

On the sending case: ``TransferOffered``, then ``TransferOfferWithdrawn`` (the sender takes it
back), ``TransferOfferDeclined`` (the receiver said no) or ``ReturnCaseTransferred`` (version 2,
naming the offer: the receiver accepted, the case closes TRANSFERRED).

On the receiving side a new case starts with ``ReturnCaseReceivedByTransfer``: where it came
from (the sending shelter's slug and the offer id, never the sender's case id) and the facts
the offer shares, so that the new case folds to the phase the client is in. The client's name
and date of birth travel in its personal part only when the offer shares personal data.

Like ``events``, annotations are real types at runtime (no postponed annotations).
"""

from dataclasses import dataclass
from datetime import date
from typing import ClassVar
from uuid import UUID

from service.domain.vocabulary import (
    ExploitationForm,
    Gender,
    ResidenceStatus,
    ReturnWish,
    RiskLevel,
)

__all__ = [
    "ReturnCaseReceivedByTransfer",
    "TransferOfferDeclined",
    "TransferOfferWithdrawn",
    "TransferOffered",
]

_REASON = frozenset({"reason"})


@dataclass(frozen=True, slots=True)
class TransferOffered:
    """The case was offered to another shelter; ``reason`` is free text, hence personal."""

    event_type: ClassVar[str] = "TransferOffered"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _REASON

    case_id: UUID
    offer_id: UUID
    to_organisation: str
    offered_on: date
    shares_personal_data: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class TransferOfferWithdrawn:
    event_type: ClassVar[str] = "TransferOfferWithdrawn"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _REASON

    case_id: UUID
    offer_id: UUID
    withdrawn_on: date
    reason: str | None


@dataclass(frozen=True, slots=True)
class TransferOfferDeclined:
    """The receiving shelter declined; the case stays open at the sender."""

    event_type: ClassVar[str] = "TransferOfferDeclined"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = _REASON

    case_id: UUID
    offer_id: UUID
    declined_on: date
    reason: str | None


@dataclass(frozen=True, slots=True)
class ReturnCaseReceivedByTransfer:
    """The first event of a case received from another shelter.

    ``intake_date`` is the day the receiving shelter took the client in (acceptance);
    ``first_intake_date`` the intake at the sending shelter. Profile and the facts that set the
    phase (conversations, the latest wish, a departure obligation, the risk level) come from
    the offer. ``full_name`` and ``date_of_birth`` are set only when the offer shared personal
    data, and are sealed with the receiving case's own key.
    """

    event_type: ClassVar[str] = "ReturnCaseReceivedByTransfer"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = frozenset({"full_name", "date_of_birth"})

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
