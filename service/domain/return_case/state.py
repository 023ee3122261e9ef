"""The state of a return case, and how events change it (``evolve`` and ``fold``).

The state holds only what decisions need. It holds no personal values (no names, dates of
birth or free text): decisions never depend on them, and so a case still folds to the same
state after its personal fields were made unreadable by erasure.

The phase is derived from the facts every time it is read, never stored:
closed -> CLOSED; else a follow-up -> FOLLOW_UP; else departed -> DEPARTED; else (the latest
wish is WANTS_TO_RETURN or there is a departure obligation) -> PREPARATION; else a return
conversation -> ORIENTATION; else INTAKE.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import assert_never
from uuid import UUID

from service.domain.errors import InvalidEventSequence
from service.domain.records import replacer
from service.domain.return_case.events import (
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
    ReturnCaseReceivedByTransfer,
    ReturnCaseReopened,
    ReturnCaseTransferred,
    ReturnConversationRecorded,
    ReturnHelpRefused,
    ReturnSupportArranged,
    RiskAssessed,
    SafetyPlanApproved,
    SafetyPlanRecorded,
    TransferOfferDeclined,
    TransferOffered,
    TransferOfferWithdrawn,
    TravelDocumentRecorded,
    carries_personal_data,
)
from service.domain.return_case.safe_return_state import (
    Arrival,
    PlanGoal,
    ReintegrationPlan,
    SafetyPlan,
)
from service.domain.vocabulary import (
    ClosingReason,
    ConsentPurpose,
    DepartureMode,
    FamilyAssessmentOutcome,
    Phase,
    ReferralStatus,
    ReturnHelp,
    ReturnSupportKind,
    ReturnWish,
    RiskFactor,
    RiskLevel,
    TravelDocumentStatus,
)

__all__ = [
    "Arrival",
    "Closure",
    "Consent",
    "ConsentUse",
    "Departure",
    "FollowUpContact",
    "PlanGoal",
    "Referral",
    "ReintegrationPlan",
    "ReturnCase",
    "SafetyPlan",
    "TransferOffer",
    "evolve",
    "fold",
    "phase_of",
]


@dataclass(frozen=True, slots=True)
class ConsentUse:
    """The latest event that relied on a consent: a referral sharing personal data under it
    (``PartnerOrganisationContacted``) or that referral's acceptance or completion
    (``ReferralStatusChanged``)."""

    event_type: str
    on: date
    referral_id: UUID


@dataclass(frozen=True, slots=True)
class Consent:
    """An active (given and not withdrawn) consent to share data with one organisation.

    ``last_use`` is the latest event that shared personal data under it: a withdrawal may not
    be dated before that (rule ``WITHDRAWAL_BEFORE_USE``).
    """

    organisation_id: UUID
    organisation_country: str
    purpose: ConsentPurpose
    given_on: date
    outside_eea: bool
    last_use: ConsentUse | None = None

    def used(self, use: ConsentUse) -> Consent:
        if self.last_use is not None and self.last_use.on > use.on:
            return self
        return replace(self, last_use=use)


@dataclass(frozen=True, slots=True)
class Referral:
    referral_id: UUID
    organisation_id: UUID
    organisation_country: str
    purpose: ConsentPurpose
    contacted_on: date
    shares_personal_data: bool
    status: ReferralStatus


@dataclass(frozen=True, slots=True)
class Departure:
    departed_on: date
    mode: DepartureMode
    destination_country: str


@dataclass(frozen=True, slots=True)
class FollowUpContact:
    """One follow-up contact after return, as the work rules need it."""

    contacted_on: date
    reached: bool
    escalation_needed: bool


@dataclass(frozen=True, slots=True)
class Closure:
    """Why and when the case was closed; ``transferred_to`` is set for TRANSFERRED only."""

    reason: ClosingReason
    closed_on: date
    transferred_to: str | None = None


@dataclass(frozen=True, slots=True)
class TransferOffer:
    """The transfer offer waiting for the receiving shelter's answer."""

    offer_id: UUID
    to_organisation: str
    offered_on: date
    shares_personal_data: bool


@dataclass(frozen=True, slots=True)
class ReturnCase:
    case_id: UUID
    intake_date: date
    version: int
    return_conversations: int = 0
    latest_wish: ReturnWish | None = None
    birth_year: int | None = None
    departure_obligation: bool = False
    departure_deadline: date | None = None
    risk_level: RiskLevel | None = None
    risk_assessed_on: date | None = None
    risk_factors: tuple[RiskFactor, ...] = ()
    safety_plan: SafetyPlan | None = None
    help_refusals: tuple[tuple[date, tuple[ReturnHelp, ...]], ...] = ()
    arrival: Arrival | None = None
    plan: ReintegrationPlan | None = None
    guardian_appointed_on: date | None = None
    guardian_organisation: str | None = None
    best_interests_assessed_on: date | None = None
    return_in_best_interests: bool | None = None
    family_assessed_on: date | None = None
    family_assessment: FamilyAssessmentOutcome | None = None
    planned_departure_on: date | None = None
    emergency_departure: bool = False
    active_consents: tuple[Consent, ...] = ()
    referrals: tuple[Referral, ...] = ()
    return_support: tuple[ReturnSupportKind, ...] = ()
    travel_document: TravelDocumentStatus | None = None
    travel_document_requested: bool = False
    planned_destination: str | None = None
    departure: Departure | None = None
    follow_ups: int = 0
    follow_up_contacts: tuple[FollowUpContact, ...] = ()
    escalations: tuple[date, ...] = ()
    caseworker: str | None = None
    closure: Closure | None = None
    personal_data_erased: bool = False
    pending_transfer: TransferOffer | None = None

    @property
    def closed(self) -> bool:
        return self.closure is not None

    @property
    def departed(self) -> bool:
        return self.departure is not None

    @property
    def reintegration_plan_agreed(self) -> bool:
        return self.plan is not None

    @property
    def phase(self) -> Phase:
        return phase_of(
            closed=self.closure is not None,
            follow_ups=self.follow_ups,
            departed=self.departure is not None,
            latest_wish=self.latest_wish,
            departure_obligation=self.departure_obligation,
            return_conversations=self.return_conversations,
        )

    def active_consent(self, organisation_id: UUID, purpose: ConsentPurpose) -> Consent | None:
        for consent in self.active_consents:
            if consent.organisation_id == organisation_id and consent.purpose == purpose:
                return consent
        return None

    def referral(self, referral_id: UUID) -> Referral | None:
        for referral in self.referrals:
            if referral.referral_id == referral_id:
                return referral
        return None


# ``dataclasses.replace`` for case states, generated once: folding a stream copies the state
# at every event (``service.domain.records``).
_changed: Callable[..., ReturnCase] = replacer(ReturnCase)


def phase_of(
    *,
    closed: bool,
    follow_ups: int,
    departed: bool,
    latest_wish: ReturnWish | None,
    departure_obligation: bool,
    return_conversations: int,
) -> Phase:
    """The phase from the facts that set it (the rule in this module's docstring).

    The one place the rule is written: ``ReturnCase.phase`` reads it from the folded state,
    and bulk folds that keep these facts in their own accumulators (a rebuild of the read
    models) call it directly.
    """
    if closed:
        return Phase.CLOSED
    if follow_ups > 0:
        return Phase.FOLLOW_UP
    if departed:
        return Phase.DEPARTED
    if latest_wish == ReturnWish.WANTS_TO_RETURN or departure_obligation:
        return Phase.PREPARATION
    if return_conversations > 0:
        return Phase.ORIENTATION
    return Phase.INTAKE


def evolve(state: ReturnCase | None, event: Event) -> ReturnCase:
    """The state after ``event``; ``version`` counts the events applied.

    Raises ``InvalidEventSequence`` for a stream that ``decide`` could not have produced in
    its structure: a first event that does not open the case, a second opening, or an event
    of another case.
    """
    if state is None:
        if isinstance(event, ReturnCaseReceivedByTransfer):
            return ReturnCase(
                case_id=event.case_id,
                intake_date=event.intake_date,
                version=1,
                return_conversations=event.return_conversations,
                latest_wish=event.latest_wish,
                departure_obligation=event.departure_obligation,
                risk_level=event.risk_level,
            )
        if not isinstance(event, ReturnCaseOpened):
            raise InvalidEventSequence("The first event of a return case must open it.")
        return ReturnCase(
            case_id=event.case_id,
            intake_date=event.intake_date,
            version=1,
            birth_year=event.birth_year,
            personal_data_erased=False,
        )
    if event.case_id != state.case_id:
        raise InvalidEventSequence("The event belongs to another return case.")
    applied = _apply(state, event)
    if isinstance(event, ClientPersonalDataErased):
        erased = True
    elif carries_personal_data(event):
        erased = False
    else:
        erased = state.personal_data_erased
    return _changed(applied, version=state.version + 1, personal_data_erased=erased)


# A partner that accepts or completes a referral works with the data shared under the consent.
_STATUSES_USING_CONSENT = frozenset({ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED})


def _consent_used(
    state: ReturnCase, organisation_id: UUID, purpose: ConsentPurpose, use: ConsentUse
) -> ReturnCase:
    consents = tuple(
        consent.used(use)
        if (consent.organisation_id, consent.purpose) == (organisation_id, purpose)
        else consent
        for consent in state.active_consents
    )
    return _changed(state, active_consents=consents)


def fold(events: Iterable[Event]) -> ReturnCase | None:
    """The state after all ``events`` in order; ``None`` when there are none."""
    state: ReturnCase | None = None
    for event in events:
        state = evolve(state, event)
    return state


def folds_without_personal_values(event_types: Iterable[str]) -> bool:
    """True when events of these types fold to the same state with their personal fields
    unread (``None``), as a store reads them before it opens their sealed parts.

    The state holds no personal values; the fold reads them only to tell whether an event
    after an erasure carries personal data again (``personal_data_erased``). Without an
    erasure among the events, nothing the fold keeps depends on them.
    """
    return ClientPersonalDataErased.event_type not in event_types


def _apply(state: ReturnCase, event: Event) -> ReturnCase:
    match event:
        case ReturnCaseOpened() | ReturnCaseReceivedByTransfer():
            raise InvalidEventSequence("A return case can be opened only once.")
        case TransferOffered():
            offer = TransferOffer(
                offer_id=event.offer_id,
                to_organisation=event.to_organisation,
                offered_on=event.offered_on,
                shares_personal_data=event.shares_personal_data,
            )
            return _changed(state, pending_transfer=offer)
        case TransferOfferWithdrawn() | TransferOfferDeclined():
            return _changed(state, pending_transfer=None)
        case ClientProfileUpdated():
            return _changed(state, birth_year=event.birth_year)
        case RiskAssessed():
            return _changed(
                state,
                risk_level=event.level,
                risk_assessed_on=event.assessed_on,
                risk_factors=event.factors,
            )
        case ReturnConversationRecorded():
            return _changed(
                state,
                return_conversations=state.return_conversations + 1,
                latest_wish=event.wish,
            )
        case LegalPositionRecorded():
            return _changed(
                state,
                departure_obligation=event.departure_obligation,
                departure_deadline=event.departure_deadline,
            )
        case ConsentGiven():
            consent = Consent(
                organisation_id=event.organisation_id,
                organisation_country=event.organisation_country,
                purpose=event.purpose,
                given_on=event.given_on,
                outside_eea=event.outside_eea,
            )
            return _changed(state, active_consents=(*state.active_consents, consent))
        case ConsentWithdrawn():
            remaining = tuple(
                consent
                for consent in state.active_consents
                if (consent.organisation_id, consent.purpose)
                != (event.organisation_id, event.purpose)
            )
            return _changed(state, active_consents=remaining)
        case PartnerOrganisationContacted():
            referral = Referral(
                referral_id=event.referral_id,
                organisation_id=event.organisation_id,
                organisation_country=event.organisation_country,
                purpose=event.purpose,
                contacted_on=event.contacted_on,
                shares_personal_data=event.shares_personal_data,
                status=ReferralStatus.REQUESTED,
            )
            state = _changed(state, referrals=(*state.referrals, referral))
            if event.shares_personal_data:
                use = ConsentUse(event.event_type, event.contacted_on, event.referral_id)
                state = _consent_used(state, event.organisation_id, event.purpose, use)
            return state
        case ReferralStatusChanged():
            changed = state.referral(event.referral_id)
            referrals = tuple(
                replace(referral, status=event.status)
                if referral.referral_id == event.referral_id
                else referral
                for referral in state.referrals
            )
            state = _changed(state, referrals=referrals)
            if (
                changed is not None
                and changed.shares_personal_data
                and event.status in _STATUSES_USING_CONSENT
            ):
                use = ConsentUse(event.event_type, event.changed_on, event.referral_id)
                state = _consent_used(state, changed.organisation_id, changed.purpose, use)
            return state
        case ReturnSupportArranged():
            return _changed(state, return_support=(*state.return_support, event.kind))
        case TravelDocumentRecorded():
            return _changed(
                state,
                travel_document=event.status,
                travel_document_requested=state.travel_document_requested
                or event.status == TravelDocumentStatus.REQUESTED,
            )
        case ReintegrationPlanAgreed():
            plan = ReintegrationPlan(
                agreed_on=event.agreed_on,
                revised_on=None,
                revision=1,
                partner_organisation_id=event.partner_organisation_id,
                goals=_goals(event),
            )
            return _changed(state, plan=plan)
        case ReintegrationPlanRevised():
            agreed_on = state.plan.agreed_on if state.plan is not None else event.revised_on
            plan = ReintegrationPlan(
                agreed_on=agreed_on,
                revised_on=event.revised_on,
                revision=event.revision,
                partner_organisation_id=event.partner_organisation_id,
                goals=_goals(event),
            )
            return _changed(state, plan=plan)
        case DeparturePlanned():
            return _changed(
                state,
                planned_destination=event.destination_country,
                planned_departure_on=event.planned_on,
            )
        case SafetyPlanRecorded():
            safety_plan = SafetyPlan(
                written_on=event.written_on,
                written_by=event.written_by,
                risk_factors=event.risk_factors,
            )
            return _changed(state, safety_plan=safety_plan)
        case SafetyPlanApproved():
            if state.safety_plan is None:
                raise InvalidEventSequence("A safety plan is approved only after it is written.")
            approved = replace(
                state.safety_plan, approved_on=event.approved_on, approved_by=event.approved_by
            )
            return _changed(state, safety_plan=approved)
        case ReturnHelpRefused():
            refusal = (event.refused_on, event.help_offered)
            return _changed(state, help_refusals=(*state.help_refusals, refusal))
        case ArrivalArranged():
            arrival = Arrival(
                destination_country=event.destination_country,
                destination_place=event.destination_place,
                receiver=event.receiver,
                organisation_id=event.organisation_id,
                arranged_on=event.arranged_on,
            )
            return _changed(state, arrival=arrival)
        case GuardianRecorded():
            return _changed(
                state,
                guardian_appointed_on=event.appointed_on,
                guardian_organisation=event.guardian_organisation,
            )
        case BestInterestsAssessed():
            return _changed(
                state,
                best_interests_assessed_on=event.assessed_on,
                return_in_best_interests=event.return_in_best_interests,
            )
        case FamilyAssessed():
            return _changed(
                state, family_assessed_on=event.assessed_on, family_assessment=event.outcome
            )
        case EmergencyDepartureRecorded():
            return _changed(state, emergency_departure=True)
        case DepartureRecorded():
            departure = Departure(
                departed_on=event.departed_on,
                mode=event.mode,
                destination_country=event.destination_country,
            )
            return _changed(state, departure=departure)
        case FollowUpRecorded():
            contact = FollowUpContact(
                contacted_on=event.contacted_on,
                reached=event.reached,
                escalation_needed=event.escalation_needed,
            )
            return _changed(
                state,
                follow_ups=state.follow_ups + 1,
                follow_up_contacts=(*state.follow_up_contacts, contact),
            )
        case FollowUpEscalated():
            return _changed(state, escalations=(*state.escalations, event.escalated_on))
        case CaseworkerAssigned():
            return _changed(state, caseworker=event.caseworker)
        case ReturnCaseTransferred():
            closure = Closure(
                reason=ClosingReason.TRANSFERRED,
                closed_on=event.transferred_on,
                transferred_to=event.to_organisation,
            )
            return _changed(state, closure=closure, pending_transfer=None)
        case ReturnCaseClosed():
            return _changed(state, closure=Closure(reason=event.reason, closed_on=event.closed_on))
        case ReturnCaseReopened():
            return _changed(state, closure=None)
        case ClientPersonalDataErased():
            return state
        case _:
            assert_never(event)


def _goals(event: ReintegrationPlanAgreed | ReintegrationPlanRevised) -> tuple[PlanGoal, ...]:
    return tuple(
        PlanGoal(domain=domain, responsible_organisation_id=org, budget=budget, target_date=day)
        for domain, org, budget, day in zip(
            event.goal_domains,
            event.goal_responsible_organisation_ids,
            event.goal_budgets,
            event.goal_target_dates,
            strict=True,
        )
    )
