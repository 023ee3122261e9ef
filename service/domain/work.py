"""Work to do on return cases, derived from the facts, the shelter's policy and a date.

Nothing here is typed in by hand: every item follows from a case's state, the shelter's
``WorkPolicy`` and the day asked about (``as_of``), so a work list cannot go stale. Each rule
that yields work is a *source*: a pure function ``(state, policy, as_of) -> items``.
``work_items`` runs the sources in ``WORK_SOURCES`` over one case.

Follow-up after return: contacts fall due ``follow_up_months`` after the departure (3, 6 and 12
by default). A contact's window opens ``follow_up_window_days`` before its due date; a
follow-up that reached someone (the client, a partner organisation or family) on or after a
window's opening completes that contact and any earlier one still open, so a late contact
catches up and the list does not ask for two calls on one day. A contact completed no later
than ``follow_up_window_days`` after its due date was done on time. A follow-up that reached
nobody completes nothing.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from service.domain.return_case import DEFAULT_POLICY as DEFAULT_READINESS
from service.domain.return_case import (
    ReadinessPolicy,
    ReturnCase,
    plan_due_on,
    plan_overdue,
    readiness,
)
from service.domain.vocabulary import DepartureMode, Phase, ReferralStatus, ReturnSupportKind

__all__ = [
    "DEFAULT_POLICY",
    "FOLLOW_UP_SOURCES",
    "WORK_SOURCES",
    "ScheduledContact",
    "WorkItem",
    "WorkPolicy",
    "WorkSource",
    "add_months",
    "escalations_pending",
    "follow_up_schedule",
    "follow_ups_due",
    "follow_ups_to_make",
    "readiness_missing",
    "referrals_awaiting_answer",
    "reintegration_plan_overdue",
    "scheduled_follow_ups",
    "work_items",
]


@dataclass(frozen=True, slots=True)
class WorkPolicy:
    """A shelter's settings for the work rules."""

    follow_up_months: tuple[int, ...] = (3, 6, 12)
    follow_up_window_days: int = 30
    referral_answer_days: int = 14
    # What a departure needs (the service's one readiness policy, not set per shelter).
    readiness: ReadinessPolicy = DEFAULT_READINESS

    def __post_init__(self) -> None:
        months = self.follow_up_months
        if (
            not months
            or list(months) != sorted(set(months))
            or not 1 <= months[0] <= months[-1] <= 60
        ):
            raise ValueError("follow_up_months must be distinct, ascending, from 1 to 60")
        if not 0 <= self.follow_up_window_days <= 90:
            raise ValueError("follow_up_window_days must be from 0 to 90")
        if not 1 <= self.referral_answer_days <= 365:
            raise ValueError("referral_answer_days must be from 1 to 365")


DEFAULT_POLICY = WorkPolicy()


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One open piece of work on a case.

    ``code`` is stable (integrators and frontends may key on it), ``sentence`` says in plain
    English what is to be done and holds no personal data, ``due_on`` is the day by which it
    should be done (``None`` when nothing sets one).
    """

    code: str
    case_id: UUID
    sentence: str
    due_on: date | None

    def overdue(self, as_of: date) -> bool:
        return self.due_on is not None and self.due_on < as_of


WorkSource = Callable[[ReturnCase, WorkPolicy, date], Iterable[WorkItem]]


@dataclass(frozen=True, slots=True)
class ScheduledContact:
    """A follow-up contact the policy schedules after a departure, and when it was done."""

    months_after_departure: int
    due_on: date
    window_opens_on: date
    done_on: date | None
    on_time_until: date

    @property
    def done_on_time(self) -> bool:
        return self.done_on is not None and self.done_on <= self.on_time_until


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` months, the day clamped to the length of the target month."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _shifted(day: date, days: int) -> date:
    """``day`` moved by ``days``, held at the ends of the calendar instead of overflowing."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def follow_up_schedule(departed_on: date, policy: WorkPolicy) -> list[tuple[int, date]]:
    """``(months, due date)`` of each contact the policy schedules after ``departed_on``;
    a contact that would fall due after the last day of the calendar is never due."""
    schedule = []
    for months in policy.follow_up_months:
        try:
            schedule.append((months, add_months(departed_on, months)))
        except ValueError:
            break
    return schedule


def scheduled_follow_ups(state: ReturnCase, policy: WorkPolicy) -> list[ScheduledContact]:
    """Every contact scheduled after the case's departure (none before one), done or not."""
    if state.departure is None:
        return []
    window = policy.follow_up_window_days
    reached = sorted(c.contacted_on for c in state.follow_up_contacts if c.reached)
    done: dict[int, date] = {}
    schedule = follow_up_schedule(state.departure.departed_on, policy)
    for contacted_on in reached:
        for months, due_on in schedule:
            if months not in done and _shifted(due_on, -window) <= contacted_on:
                done[months] = contacted_on
    return [
        ScheduledContact(
            months_after_departure=months,
            due_on=due_on,
            window_opens_on=_shifted(due_on, -window),
            done_on=done.get(months),
            on_time_until=_shifted(due_on, window),
        )
        for months, due_on in schedule
    ]


def follow_ups_due(state: ReturnCase, policy: WorkPolicy, before: date) -> list[ScheduledContact]:
    """The contacts of an open case still to be made that fall due before ``before``."""
    if state.closed:
        return []
    return [
        contact
        for contact in scheduled_follow_ups(state, policy)
        if contact.done_on is None and contact.due_on < before
    ]


def follow_ups_to_make(state: ReturnCase, policy: WorkPolicy, as_of: date) -> list[WorkItem]:
    """Source: contacts not yet made whose window has opened by ``as_of``."""
    if state.closed:
        return []
    return [
        WorkItem(
            code="FOLLOW_UP_DUE",
            case_id=state.case_id,
            sentence=(
                f"Make the {contact.months_after_departure}-month follow-up contact after "
                f"return, due on {contact.due_on.isoformat()}."
            ),
            due_on=contact.due_on,
        )
        for contact in scheduled_follow_ups(state, policy)
        if contact.done_on is None and contact.window_opens_on <= as_of
    ]


def referrals_awaiting_answer(state: ReturnCase, policy: WorkPolicy, as_of: date) -> list[WorkItem]:
    """Source: referrals still REQUESTED longer than the policy's answer time."""
    if state.closed:
        return []
    wait = policy.referral_answer_days
    return [
        WorkItem(
            code="REFERRAL_AWAITING_ANSWER",
            case_id=state.case_id,
            sentence=(
                f"A referral sent on {referral.contacted_on.isoformat()} has had no answer for "
                f"more than {wait} days: ask the organisation."
            ),
            due_on=_shifted(referral.contacted_on, wait),
        )
        for referral in state.referrals
        if referral.status == ReferralStatus.REQUESTED
        and _shifted(referral.contacted_on, wait) < as_of
    ]


def escalations_pending(state: ReturnCase, policy: WorkPolicy, as_of: date) -> list[WorkItem]:
    """Source: follow-ups that called for escalation with no escalation recorded since."""
    del policy, as_of  # pending from the contact on, whatever the day
    if state.closed:
        return []
    return [
        WorkItem(
            code="ESCALATION_PENDING",
            case_id=state.case_id,
            sentence=(
                f"The follow-up of {contact.contacted_on.isoformat()} called for escalation: "
                "record the action taken."
            ),
            due_on=contact.contacted_on,
        )
        for contact in state.follow_up_contacts
        if contact.escalation_needed
        and not any(day >= contact.contacted_on for day in state.escalations)
    ]


_ASSISTING = frozenset(
    {ReturnSupportKind.IOM_BASIC, ReturnSupportKind.IOM_REINTEGRATION, ReturnSupportKind.DTV}
)


def readiness_missing(state: ReturnCase, policy: WorkPolicy, as_of: date) -> list[WorkItem]:
    """Source: what the return a case in PREPARATION is prepared for still needs.

    The return is assisted when IOM or DT&V support was arranged, else independent (a forced
    return is DT&V's act, not the shelter's work); readiness is judged on the planned day of
    departure, or today while none is planned. Each missing item is one work item, due on the
    planned day.
    """
    if state.closed or state.departed or state.phase is not Phase.PREPARATION:
        return []
    kind = (
        DepartureMode.ASSISTED
        if _ASSISTING.intersection(state.return_support)
        else DepartureMode.INDEPENDENT
    )
    on = state.planned_departure_on or as_of
    found = readiness(state, kind, on, policy.readiness)
    return [
        WorkItem(
            code=f"READINESS_{item.code}",
            case_id=state.case_id,
            sentence=item.message,
            due_on=state.planned_departure_on,
        )
        for item in found.missing
    ]


def reintegration_plan_overdue(
    state: ReturnCase, policy: WorkPolicy, as_of: date
) -> list[WorkItem]:
    """Source: departed a month ago or more with no reintegration plan agreed."""
    del policy
    if not plan_overdue(state, as_of):
        return []
    return [
        WorkItem(
            code="REINTEGRATION_PLAN_OVERDUE",
            case_id=state.case_id,
            sentence="Agree the reintegration plan with the client and the partner: it was due "
            "a month after arrival.",
            due_on=plan_due_on(state),
        )
    ]


# The sources of the work after return and of referrals (``FOLLOW_UP_SOURCES``), and all of them.
FOLLOW_UP_SOURCES: tuple[WorkSource, ...] = (
    follow_ups_to_make,
    referrals_awaiting_answer,
    escalations_pending,
)
WORK_SOURCES: tuple[WorkSource, ...] = (
    readiness_missing,
    reintegration_plan_overdue,
    *FOLLOW_UP_SOURCES,
)


def work_items(
    state: ReturnCase,
    policy: WorkPolicy,
    as_of: date,
    sources: Sequence[WorkSource] = WORK_SOURCES,
) -> list[WorkItem]:
    """Every open item of one case from ``sources``, earliest due first (undated last)."""
    items = [item for source in sources for item in source(state, policy, as_of)]
    return sorted(items, key=lambda i: (i.due_on is None, i.due_on or as_of, i.code))
