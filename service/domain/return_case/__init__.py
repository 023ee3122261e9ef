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
the assigned case worker) and ``closing`` (transfer, closing, reopening, erasure). A safe
return adds ``readiness`` (what a departure still needs: the one function both the query and
the departure commands use), ``age`` (minors from the birth year), ``safe_return`` (safety
plan, refused help, arrival, guardian and assessments), ``reintegration`` (the structured plan,
its revisions and due date), and the events and state parts in ``safe_return_events`` and
``safe_return_state``.

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

from service.domain.return_case.age import age_on, age_range_on, possibly_minor_on
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
from service.domain.return_case.decider import decide
from service.domain.return_case.departure import whole_months_between
from service.domain.return_case.events import (
    EVENT_TYPES,
    EVENT_TYPES_BY_NAME,
    ArrivalArranged,
    BestInterestsAssessed,
    CaseworkerAssigned,
    ClientPersonalDataErased,
    ClientProfileUpdated,
    ConsentGiven,
    ConsentWithdrawn,
    DeparturePlanned,
    DepartureRecorded,
    EmergencyDepartureRecorded,
    Event,
    FamilyAssessed,
    FollowUpEscalated,
    FollowUpRecorded,
    GuardianRecorded,
    LegalPositionRecorded,
    PartnerOrganisationContacted,
    ReferralStatusChanged,
    ReintegrationPlanAgreed,
    ReintegrationPlanRevised,
    ReturnCaseClosed,
    ReturnCaseOpened,
    ReturnCaseReopened,
    ReturnCaseTransferred,
    ReturnConversationRecorded,
    ReturnHelpRefused,
    ReturnSupportArranged,
    RiskAssessed,
    SafetyPlanApproved,
    SafetyPlanRecorded,
    TravelDocumentRecorded,
    carries_personal_data,
)
from service.domain.return_case.intake import has_departure_obligation
from service.domain.return_case.readiness import (
    DEFAULT_POLICY,
    Readiness,
    ReadinessItem,
    ReadinessPolicy,
    may_be_minor,
    readiness,
)
from service.domain.return_case.reintegration import (
    agreed_within_due,
    plan_due_on,
    plan_overdue,
)
from service.domain.return_case.rules import RULES
from service.domain.return_case.sharing import REFERRAL_TRANSITIONS
from service.domain.return_case.state import (
    Arrival,
    Closure,
    Consent,
    Departure,
    FollowUpContact,
    PlanGoal,
    Referral,
    ReintegrationPlan,
    ReturnCase,
    SafetyPlan,
    evolve,
    fold,
    folds_without_personal_values,
    phase_of,
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
    RecordSafetyPlan,
    ApproveSafetyPlan,
    RecordReturnHelpRefused,
    RecordArrivalArrangement,
    ReviseReintegrationPlan,
    RecordGuardian,
    RecordBestInterestsAssessment,
    RecordFamilyAssessment,
)

__all__ = [
    "COMMAND_TYPES",
    "DEFAULT_POLICY",
    "EVENT_TYPES",
    "EVENT_TYPES_BY_NAME",
    "REFERRAL_TRANSITIONS",
    "RULES",
    "AgreeReintegrationPlan",
    "ApproveSafetyPlan",
    "ArrangeReturnSupport",
    "Arrival",
    "ArrivalArranged",
    "AssessRisk",
    "AssignCaseworker",
    "BestInterestsAssessed",
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
    "EmergencyDepartureRecorded",
    "EraseClientPersonalData",
    "EscalateFollowUp",
    "Event",
    "FamilyAssessed",
    "FollowUpContact",
    "FollowUpEscalated",
    "FollowUpRecorded",
    "GiveConsent",
    "GuardianRecorded",
    "LegalPositionRecorded",
    "OpenReturnCase",
    "PartnerOrganisationContacted",
    "PlanDeparture",
    "PlanGoal",
    "Readiness",
    "ReadinessItem",
    "ReadinessPolicy",
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
    "Referral",
    "ReferralStatusChanged",
    "ReintegrationPlan",
    "ReintegrationPlanAgreed",
    "ReintegrationPlanRevised",
    "ReopenReturnCase",
    "ReturnCase",
    "ReturnCaseClosed",
    "ReturnCaseOpened",
    "ReturnCaseReceivedByTransfer",
    "ReturnCaseReopened",
    "ReturnCaseTransferred",
    "ReturnConversationRecorded",
    "ReturnHelpRefused",
    "ReturnSupportArranged",
    "ReviseReintegrationPlan",
    "RiskAssessed",
    "SafetyPlan",
    "SafetyPlanApproved",
    "SafetyPlanRecorded",
    "TransferCase",
    "TransferOfferDeclined",
    "TransferOfferWithdrawn",
    "TransferOffered",
    "TravelDocumentRecorded",
    "UpdateClientProfile",
    "UpdateReferralStatus",
    "WithdrawConsent",
    "age_on",
    "age_range_on",
    "agreed_within_due",
    "carries_personal_data",
    "decide",
    "evolve",
    "fold",
    "folds_without_personal_values",
    "has_departure_obligation",
    "may_be_minor",
    "phase_of",
    "plan_due_on",
    "plan_overdue",
    "possibly_minor_on",
    "readiness",
    "whole_months_between",
]
