"""The report read model: one row per case, a pure function of the case's whole stream.

The row holds what reports count and nothing that identifies a person: no pseudonym, name,
date of birth or free text. Dates are kept at month granularity (intake month, departure
month) or as day offsets from intake; age is an age group computed from the birth year at
intake. Because the row is a fold of the stream, the live projection and a rebuild from the
log give the same row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from service.domain import return_case as rc
from service.domain.errors import InvalidEventSequence
from service.domain.vocabulary import ClosingReason, ReturnWish
from service.domain.work import WorkPolicy, scheduled_follow_ups
from service.events.types import InLog

__all__ = [
    "FOLLOW_UP_MILESTONES",
    "NOT_CLOSED",
    "NOT_DEPARTED",
    "NO_FORM_RECORDED",
    "REPORT_COLUMNS",
    "AgeGroup",
    "Dimension",
    "age_group",
    "report_row",
    "transferred_out",
]


class Dimension(StrEnum):
    """What a caseload can be grouped by; the order here is the canonical order of tables."""

    SHELTER = "SHELTER"
    PHASE = "PHASE"
    COUNTRY_OF_ORIGIN = "COUNTRY_OF_ORIGIN"
    NATIONALITY = "NATIONALITY"
    EXPLOITATION_FORM = "EXPLOITATION_FORM"
    GENDER = "GENDER"
    AGE_GROUP = "AGE_GROUP"
    DEPARTURE_MODE = "DEPARTURE_MODE"
    CLOSING_REASON = "CLOSING_REASON"


class AgeGroup(StrEnum):
    """CoMensha's age groups, from the age reached in the year of intake."""

    MINOR = "MINOR"
    AGE_18_22 = "18-22"
    AGE_23_AND_OVER = "23+"
    UNKNOWN = "UNKNOWN"


NOT_DEPARTED = "NOT_DEPARTED"
NOT_CLOSED = "NOT_CLOSED"
NO_FORM_RECORDED = "NONE_RECORDED"
# A milestone (months after departure) counts when its contact was done on time: someone
# (the client, a partner or family) was reached within the window around its due date, by the
# rule of the work lists (``service.domain.work``). Reports use this one schedule for every
# shelter, whatever a shelter's own policy, so that shelters compare.
FOLLOW_UP_MILESTONES = (3, 6, 12)
REPORT_FOLLOW_UP_SCHEDULE = WorkPolicy(follow_up_months=FOLLOW_UP_MILESTONES)


def age_group(birth_year: int | None, intake: dt.date) -> AgeGroup:
    """The age the client reaches in the year of intake, as a group (no exact age is kept)."""
    if birth_year is None:
        return AgeGroup.UNKNOWN
    age = intake.year - birth_year
    if age < 18:
        return AgeGroup.MINOR
    if age <= 22:
        return AgeGroup.AGE_18_22
    return AgeGroup.AGE_23_AND_OVER


REPORT_COLUMNS = (
    "tenant_id", "case_id", "intake_month", "phase", "gender", "age_group", "nationality",
    "country_of_origin", "exploitation_forms", "departure_mode", "closing_reason",
    "departure_month", "days_to_first_conversation", "days_to_departure",
    "has_partner_contact", "consent_before_partner_contact",
    "partner_contacted_before_departure", "follow_up_3_months", "follow_up_6_months",
    "follow_up_12_months", "emergency_departure", "plan_agreed_within_month",
)  # fmt: skip


def transferred_out(events: Sequence[InLog]) -> bool:
    """Whether the case ended in a transfer another shelter accepted.

    Its client is counted by the receiving shelter's case, which continues it (from the same
    first intake); the sending case has no report row, so a transferred client counts once.
    """
    out = False
    for recorded in events:
        if isinstance(recorded.event, rc.ReturnCaseTransferred):
            out = recorded.event.offer_id is not None
        elif isinstance(recorded.event, rc.ReturnCaseReopened):
            out = False
    return out


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


# The events ``_Facts.apply`` reads, and those the row's own loop in ``report_row`` reads:
# every other event is passed over after one ``isinstance`` against the whole tuple.
_FACT_EVENTS = (
    rc.ReturnCaseOpened, rc.ReturnCaseReceivedByTransfer, rc.ReturnConversationRecorded,
    rc.LegalPositionRecorded, rc.DepartureRecorded, rc.FollowUpRecorded,
    rc.ReturnCaseTransferred, rc.ReturnCaseClosed, rc.ReturnCaseReopened,
    rc.EmergencyDepartureRecorded, rc.ReintegrationPlanAgreed, rc.ReintegrationPlanRevised,
    rc.SafetyPlanRecorded, rc.SafetyPlanApproved,
)  # fmt: skip
_ROW_EVENTS = (
    rc.ClientProfileUpdated, rc.ReturnConversationRecorded, rc.ConsentGiven,
    rc.ConsentWithdrawn, rc.PartnerOrganisationContacted, rc.DepartureRecorded,
)  # fmt: skip


class _Facts:
    """What the report row needs of the domain state, folded without copying the state per
    event: the phase's facts, the closure, the departure, the follow-up contacts, the plan's
    first agreement and an emergency departure. ``state`` hands them to the domain's own
    functions as a ``ReturnCase`` holding those facts only; the property tests check that
    every figure equals the one from ``rc.fold``.

    ``apply`` refuses what ``rc.evolve`` refuses in a stream's structure (a second opening,
    an event of another case, a safety plan approved before it was written).
    """

    def __init__(self, opened: rc.ReturnCaseOpened | rc.ReturnCaseReceivedByTransfer) -> None:
        self.opened = opened
        self.conversations = 0
        self.wish: ReturnWish | None = None
        self.obliged = False
        if isinstance(opened, rc.ReturnCaseReceivedByTransfer):
            self.conversations = opened.return_conversations
            self.wish = opened.latest_wish
            self.obliged = opened.departure_obligation
        self.departure: rc.Departure | None = None
        self.follow_ups: list[rc.FollowUpContact] = []
        self.closure: rc.Closure | None = None
        self.emergency = False
        self.agreed_on: dt.date | None = None
        self.safety_plan = False

    def apply(self, e: Any, case_id: uuid.UUID) -> None:
        if e.case_id != case_id:
            raise InvalidEventSequence("The event belongs to another return case.")
        if not isinstance(e, _FACT_EVENTS):
            return  # most events of a case change none of these facts: one check for them
        if isinstance(e, rc.ReturnCaseOpened | rc.ReturnCaseReceivedByTransfer):
            raise InvalidEventSequence("A return case can be opened only once.")
        if isinstance(e, rc.ReturnConversationRecorded):
            self.conversations += 1
            self.wish = e.wish
        elif isinstance(e, rc.LegalPositionRecorded):
            self.obliged = e.departure_obligation
        elif isinstance(e, rc.DepartureRecorded):
            self.departure = rc.Departure(e.departed_on, e.mode, e.destination_country)
        elif isinstance(e, rc.FollowUpRecorded):
            self.follow_ups.append(
                rc.FollowUpContact(e.contacted_on, e.reached, e.escalation_needed)
            )
        elif isinstance(e, rc.ReturnCaseTransferred):
            self.closure = rc.Closure(
                ClosingReason.TRANSFERRED, e.transferred_on, e.to_organisation
            )
        elif isinstance(e, rc.ReturnCaseClosed):
            self.closure = rc.Closure(e.reason, e.closed_on)
        elif isinstance(e, rc.ReturnCaseReopened):
            self.closure = None
        elif isinstance(e, rc.EmergencyDepartureRecorded):
            self.emergency = True
        elif isinstance(e, rc.ReintegrationPlanAgreed):
            self.agreed_on = e.agreed_on
        elif isinstance(e, rc.ReintegrationPlanRevised):
            self.agreed_on = self.agreed_on or e.revised_on
        elif isinstance(e, rc.SafetyPlanRecorded):
            self.safety_plan = True
        elif isinstance(e, rc.SafetyPlanApproved) and not self.safety_plan:
            raise InvalidEventSequence("A safety plan is approved only after it is written.")

    def state(self, version: int) -> rc.ReturnCase:
        plan = None
        if self.agreed_on is not None:
            plan = rc.ReintegrationPlan(self.agreed_on, None, 1, None, ())
        return rc.ReturnCase(
            case_id=self.opened.case_id,
            intake_date=self.opened.intake_date,
            version=version,
            return_conversations=self.conversations,
            latest_wish=self.wish,
            departure_obligation=self.obliged,
            departure=self.departure,
            follow_ups=len(self.follow_ups),
            follow_up_contacts=tuple(self.follow_ups),
            closure=self.closure,
            emergency_departure=self.emergency,
            plan=plan,
        )


def report_row(events: Sequence[InLog]) -> dict[str, Any]:
    """The report row of one case from its whole stream (oldest event first).

    Raises ``InvalidEventSequence`` (from the domain fold) for a stream that is not a case.
    """
    first = events[0]
    opened = first.event
    if isinstance(opened, rc.ReturnCaseReceivedByTransfer):
        # The client continues here: counted from the first intake, at the sending shelter.
        intake = opened.first_intake_date
    elif isinstance(opened, rc.ReturnCaseOpened):
        intake = opened.intake_date
    else:
        raise InvalidEventSequence("The first event of a return case must open it.")
    profile: rc.ReturnCaseOpened | rc.ClientProfileUpdated | rc.ReturnCaseReceivedByTransfer = (
        opened
    )
    first_conversation: dt.date | None = None
    departure: rc.DepartureRecorded | None = None
    contacts: list[tuple[dt.date, bool]] = []  # (contacted on, consent for that organisation)
    consents: dict[tuple[uuid.UUID, str], dt.date] = {}
    # The facts of the domain state that reports read, kept in this one pass (see _state).
    facts = _Facts(opened)
    for recorded in events[1:]:
        facts.apply(recorded.event, opened.case_id)
    for recorded in events:
        e = recorded.event
        if not isinstance(e, _ROW_EVENTS):
            continue
        if isinstance(e, rc.ClientProfileUpdated):
            profile = e
        elif isinstance(e, rc.ReturnConversationRecorded):
            if first_conversation is None or e.held_on < first_conversation:
                first_conversation = e.held_on
        elif isinstance(e, rc.ConsentGiven):
            consents[(e.organisation_id, e.purpose.value)] = e.given_on
        elif isinstance(e, rc.ConsentWithdrawn):
            consents.pop((e.organisation_id, e.purpose.value), None)
        elif isinstance(e, rc.PartnerOrganisationContacted):
            consented = any(
                org == e.organisation_id and given_on <= e.contacted_on
                for (org, _purpose), given_on in consents.items()
            )
            contacts.append((e.contacted_on, consented))
        elif isinstance(e, rc.DepartureRecorded):
            departure = e
    state = facts.state(len(events))
    forms = sorted({f.value for f in profile.exploitation_forms}) or [NO_FORM_RECORDED]
    row: dict[str, Any] = {
        "tenant_id": first.tenant_id,
        "case_id": first.stream_id,
        "intake_month": _month(intake),
        "phase": state.phase.value,
        "gender": profile.gender.value,
        "age_group": age_group(profile.birth_year, intake).value,
        "nationality": profile.nationality,
        "country_of_origin": profile.country_of_origin,
        "exploitation_forms": forms,
        "departure_mode": departure.mode.value if departure else NOT_DEPARTED,
        "closing_reason": state.closure.reason.value if state.closure else NOT_CLOSED,
        "departure_month": _month(departure.departed_on) if departure else None,
        "days_to_first_conversation": (
            (first_conversation - intake).days if first_conversation else None
        ),
        "days_to_departure": (departure.departed_on - intake).days if departure else None,
        "has_partner_contact": bool(contacts),
        "consent_before_partner_contact": bool(contacts) and all(c for _, c in contacts),
        "partner_contacted_before_departure": departure is not None
        and any(on <= departure.departed_on for on, _ in contacts),
        "emergency_departure": state.emergency_departure,
        "plan_agreed_within_month": rc.agreed_within_due(state),
    }
    on_time = {
        contact.months_after_departure: contact.done_on_time
        for contact in scheduled_follow_ups(state, REPORT_FOLLOW_UP_SCHEDULE)
    }
    for milestone in FOLLOW_UP_MILESTONES:
        row[f"follow_up_{milestone}_months"] = on_time.get(milestone, False)
    return row
