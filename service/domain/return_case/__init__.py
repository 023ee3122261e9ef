"""The return case as a decider: commands, events, state, ``decide``, ``evolve``, ``fold``.

A return case follows one client of one shelter from intake to closing (DESIGN.md section 6).
``decide(state, command)`` returns the events a command causes or raises a ``DomainError``;
``evolve(state, event)`` applies one event; ``fold(events)`` replays a whole stream. All of it
is pure: no I/O, no clock, no randomness.

Modules: ``commands``, ``events``, ``state`` (state, ``evolve``, ``fold``), ``rules`` (rule
codes, messages, input checks), ``decider`` (``decide``: the checks every command passes, then
dispatch) and one module per stage of the case for the command-specific rules: ``intake``
(profile, conversations, legal position, risk), ``sharing`` (consent, referrals),
``departure`` (preparation, departure), ``follow_up`` (follow-up contacts, escalation,
the assigned case worker) and ``closing`` (transfer, closing,
reopening, erasure).

Decisions beyond the written rules, with the reason for each:

- Strings are stripped. Blank optional text (notes, full name, optional reasons) is stored as
  ``None``; a blank required one (pseudonym, reopening reason, the reason for a rejected or
  withdrawn referral) is refused. An erasure's reason is a code, its note optional.
- ``UpdateClientProfile`` is allowed after erasure: the client may give their data again. An
  event that carries personal data again clears ``personal_data_erased``, so a later erasure
  request is not a no-op.
- ``EraseClientPersonalData`` is validated (date, note) before the idempotency check: an
  invalid request is refused even when there is nothing left to erase.
- Sharing personal data with a partner needs a consent that was given on or before the
  contact date, and for an organisation in the same country as the consent named; otherwise a
  consent for an organisation in the EU could cover a transfer outside it
  (``CONSENT_COUNTRY_MISMATCH``).
- Consent cannot be withdrawn before it was given (``DATE_BEFORE_CONSENT``), nor before a
  referral that shared personal data under it was contacted, accepted or completed
  (``WITHDRAWAL_BEFORE_USE``: the record would otherwise show data shared after withdrawal),
  and a case cannot be reopened before it was closed (``DATE_BEFORE_CLOSING``).
- A travel document may be requested again after it was issued (a lost document); it is
  recorded as issued only after some request.
- Withdrawing consent leaves existing referrals as they are; stopping the flow of data to the
  partner is a matter for the people handling the referral.
- Reopening clears the closure (reason, date, receiving shelter); every other fact stays, so
  the phase is recomputed from them.
- The state holds no personal values; see ``state``.
"""

from service.domain.return_case.commands import (
    AgreeReintegrationPlan,
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
    RecordDeparture,
    RecordFollowUp,
    RecordLegalPosition,
    RecordReturnConversation,
    RecordTravelDocument,
    ReopenReturnCase,
    TransferCase,
    UpdateClientProfile,
    UpdateReferralStatus,
    WithdrawConsent,
)
from service.domain.return_case.decider import decide
from service.domain.return_case.departure import whole_months_between
from service.domain.return_case.events import (
    EVENT_TYPES,
    EVENT_TYPES_BY_NAME,
    CaseworkerAssigned,
    ClientPersonalDataErased,
    ClientProfileUpdated,
    ConsentGiven,
    ConsentWithdrawn,
    DeparturePlanned,
    DepartureRecorded,
    Event,
    FollowUpEscalated,
    FollowUpRecorded,
    LegalPositionRecorded,
    PartnerOrganisationContacted,
    ReferralStatusChanged,
    ReintegrationPlanAgreed,
    ReturnCaseClosed,
    ReturnCaseOpened,
    ReturnCaseReopened,
    ReturnCaseTransferred,
    ReturnConversationRecorded,
    ReturnSupportArranged,
    RiskAssessed,
    TravelDocumentRecorded,
    carries_personal_data,
)
from service.domain.return_case.intake import has_departure_obligation
from service.domain.return_case.rules import RULES
from service.domain.return_case.sharing import REFERRAL_TRANSITIONS
from service.domain.return_case.state import (
    Closure,
    Consent,
    Departure,
    FollowUpContact,
    Referral,
    ReturnCase,
    evolve,
    fold,
)
from service.domain.return_case.transfer_events import (
    ReturnCaseReceivedByTransfer,
    TransferOfferDeclined,
    TransferOffered,
    TransferOfferWithdrawn,
)

COMMAND_TYPES: tuple[type[Command], ...] = (
    OpenReturnCase,
    UpdateClientProfile,
    RecordReturnConversation,
    RecordLegalPosition,
    AssessRisk,
    GiveConsent,
    WithdrawConsent,
    ContactPartnerOrganisation,
    UpdateReferralStatus,
    ArrangeReturnSupport,
    RecordTravelDocument,
    AgreeReintegrationPlan,
    PlanDeparture,
    RecordDeparture,
    RecordFollowUp,
    EscalateFollowUp,
    AssignCaseworker,
    TransferCase,
    CloseReturnCase,
    ReopenReturnCase,
    EraseClientPersonalData,
)

__all__ = [
    "COMMAND_TYPES",
    "EVENT_TYPES",
    "EVENT_TYPES_BY_NAME",
    "REFERRAL_TRANSITIONS",
    "RULES",
    "AgreeReintegrationPlan",
    "ArrangeReturnSupport",
    "AssessRisk",
    "AssignCaseworker",
    "CaseworkerAssigned",
    "ClientPersonalDataErased",
    "ClientProfileUpdated",
    "CloseReturnCase",
    "Closure",
    "Command",
    "Consent",
    "ConsentGiven",
    "ConsentWithdrawn",
    "ContactPartnerOrganisation",
    "Departure",
    "DeparturePlanned",
    "DepartureRecorded",
    "EraseClientPersonalData",
    "EscalateFollowUp",
    "Event",
    "FollowUpContact",
    "FollowUpEscalated",
    "FollowUpRecorded",
    "GiveConsent",
    "LegalPositionRecorded",
    "OpenReturnCase",
    "PartnerOrganisationContacted",
    "PlanDeparture",
    "RecordDeparture",
    "RecordFollowUp",
    "RecordLegalPosition",
    "RecordReturnConversation",
    "RecordTravelDocument",
    "Referral",
    "ReferralStatusChanged",
    "ReintegrationPlanAgreed",
    "ReopenReturnCase",
    "ReturnCase",
    "ReturnCaseClosed",
    "ReturnCaseOpened",
    "ReturnCaseReceivedByTransfer",
    "ReturnCaseReopened",
    "ReturnCaseTransferred",
    "ReturnConversationRecorded",
    "ReturnSupportArranged",
    "RiskAssessed",
    "TransferCase",
    "TransferOfferDeclined",
    "TransferOfferWithdrawn",
    "TransferOffered",
    "TravelDocumentRecorded",
    "UpdateClientProfile",
    "UpdateReferralStatus",
    "WithdrawConsent",
    "carries_personal_data",
    "decide",
    "evolve",
    "fold",
    "has_departure_obligation",
    "whole_months_between",
]
