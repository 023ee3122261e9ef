"""Follow-up as work to do: the schedule, what completes a contact, and the work sources.

States are folded from events (``evolve`` checks no rules), so these tests pin the work rules
whatever the preconditions of a departure are.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.errors import RuleViolation
from service.domain.return_case import (
    AssignCaseworker,
    CaseworkerAssigned,
    DepartureRecorded,
    EscalateFollowUp,
    FollowUpEscalated,
    FollowUpRecorded,
    PartnerOrganisationContacted,
    RecordFollowUp,
    ReferralStatusChanged,
    ReturnCase,
    ReturnCaseClosed,
    ReturnCaseOpened,
    decide,
    evolve,
    fold,
)
from service.domain.vocabulary import (
    ClientSituation,
    ClosingReason,
    ConsentPurpose,
    DangerSign,
    DepartureMode,
    EscalationAction,
    ExploitationForm,
    Gender,
    Phase,
    PlanDomain,
    ReachedParty,
    ReferralStatus,
)
from service.domain.work import (
    DEFAULT_POLICY,
    FOLLOW_UP_SOURCES,
    WorkPolicy,
    follow_ups_due,
    scheduled_follow_ups,
    work_items,
)
from service.events.types import EventRegistry

CASE = UUID("00000000-0000-4000-8000-000000000001")
ORGANISATION = UUID("00000000-0000-4000-8000-0000000000a1")
REFERRAL = UUID("00000000-0000-4000-8000-0000000000b1")
INTAKE = date(2026, 1, 5)
DEPARTED = date(2026, 3, 10)


def opened() -> ReturnCase:
    return fold(
        [
            ReturnCaseOpened(
                case_id=CASE,
                intake_date=INTAKE,
                pseudonym="Client A",
                gender=Gender.FEMALE,
                birth_year=1998,
                nationality="RO",
                country_of_origin="RO",
                languages=("ro",),
                exploitation_forms=(ExploitationForm.FORCED_LABOUR,),
                full_name=None,
                date_of_birth=None,
                notes=None,
            )
        ]
    )  # type: ignore[return-value]


def departed(mode: DepartureMode = DepartureMode.ASSISTED) -> ReturnCase:
    return evolve(
        opened(),
        DepartureRecorded(case_id=CASE, departed_on=DEPARTED, mode=mode, destination_country="RO"),
    )


def contact(on: date, *, reached: bool = True, escalation: bool = False) -> FollowUpRecorded:
    return FollowUpRecorded(
        case_id=CASE,
        contacted_on=on,
        reached=reached,
        situation=ClientSituation.STABLE if reached else None,
        notes=None,
        months_after_departure=0,
        reached_parties=(ReachedParty.CLIENT,) if reached else (),
        domains_stable=(),
        domains_vulnerable=(),
        domains_at_risk=(),
        danger_signs=(),
        escalation_needed=escalation,
    )


def with_events(state: ReturnCase, *events: Any) -> ReturnCase:
    for event in events:
        state = evolve(state, event)
    return state


def codes(state: ReturnCase, as_of: date, policy: WorkPolicy = DEFAULT_POLICY) -> list[str]:
    return [item.code for item in work_items(state, policy, as_of, FOLLOW_UP_SOURCES)]


# -- the schedule -----------------------------------------------------------------------------


def test_contacts_fall_due_3_6_and_12_months_after_departure_by_default() -> None:
    due = [
        (c.months_after_departure, c.due_on)
        for c in scheduled_follow_ups(departed(), DEFAULT_POLICY)
    ]

    assert due == [(3, date(2026, 6, 10)), (6, date(2026, 9, 10)), (12, date(2027, 3, 10))]


def test_a_shelter_policy_sets_its_own_schedule() -> None:
    policy = WorkPolicy(follow_up_months=(1, 4))

    due = [c.due_on for c in scheduled_follow_ups(departed(), policy)]

    assert due == [date(2026, 4, 10), date(2026, 7, 10)]


def test_no_contact_is_scheduled_before_departure() -> None:
    assert scheduled_follow_ups(opened(), DEFAULT_POLICY) == []


def test_a_forced_return_gets_the_same_follow_up_schedule() -> None:
    forced = departed(DepartureMode.FORCED)

    assert [c.due_on for c in follow_ups_due(forced, DEFAULT_POLICY, date(2027, 12, 31))] == [
        date(2026, 6, 10),
        date(2026, 9, 10),
        date(2027, 3, 10),
    ]


@pytest.mark.parametrize(
    ("policy_args", "message"),
    [
        ({"follow_up_months": ()}, "follow_up_months"),
        ({"follow_up_months": (6, 3)}, "follow_up_months"),
        ({"follow_up_months": (3, 3)}, "follow_up_months"),
        ({"follow_up_window_days": -1}, "follow_up_window_days"),
        ({"referral_answer_days": 0}, "referral_answer_days"),
    ],
)
def test_a_policy_refuses_a_schedule_that_makes_no_sense(
    policy_args: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        WorkPolicy(**policy_args)


# -- what completes a contact -----------------------------------------------------------------


def test_a_contact_reaching_someone_in_the_window_completes_it_on_time() -> None:
    state = with_events(departed(), contact(date(2026, 6, 1)))

    three, six, twelve = scheduled_follow_ups(state, DEFAULT_POLICY)

    assert (three.done_on, three.done_on_time) == (date(2026, 6, 1), True)
    assert six.done_on is None
    assert twelve.done_on is None


def test_a_contact_that_reached_nobody_completes_nothing() -> None:
    state = with_events(departed(), contact(date(2026, 6, 10), reached=False))

    assert [
        c.months_after_departure for c in follow_ups_due(state, DEFAULT_POLICY, date(2026, 7, 1))
    ] == [3]


def test_a_contact_before_the_window_opens_completes_nothing() -> None:
    state = with_events(departed(), contact(date(2026, 4, 1)))

    assert all(c.done_on is None for c in scheduled_follow_ups(state, DEFAULT_POLICY))


def test_a_late_contact_completes_every_open_contact_but_not_on_time() -> None:
    state = with_events(departed(), contact(date(2026, 9, 1)))

    three, six, _ = scheduled_follow_ups(state, DEFAULT_POLICY)

    assert (three.done_on, three.done_on_time) == (date(2026, 9, 1), False)
    assert (six.done_on, six.done_on_time) == (date(2026, 9, 1), True)


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=500), max_size=6),
    reached=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_a_contact_is_never_completed_before_its_window_nor_by_an_unreached_attempt(
    offsets: list[int], reached: list[bool]
) -> None:
    events = [
        contact(DEPARTED + timedelta(days=o), reached=r)
        for o, r in zip(offsets, reached, strict=False)
    ]
    reached_days = {e.contacted_on for e in events if e.reached}

    for scheduled in scheduled_follow_ups(with_events(departed(), *events), DEFAULT_POLICY):
        if scheduled.done_on is not None:
            assert scheduled.window_opens_on <= scheduled.done_on
            assert scheduled.done_on in reached_days
        else:
            assert not any(scheduled.window_opens_on <= d for d in reached_days)


# -- the work sources -------------------------------------------------------------------------


def test_a_follow_up_becomes_work_when_its_window_opens_and_overdue_after_its_due_day() -> None:
    state = departed()

    before_window = work_items(state, DEFAULT_POLICY, date(2026, 5, 10), FOLLOW_UP_SOURCES)
    in_window = work_items(state, DEFAULT_POLICY, date(2026, 5, 11), FOLLOW_UP_SOURCES)
    after_due = work_items(state, DEFAULT_POLICY, date(2026, 6, 11), FOLLOW_UP_SOURCES)

    assert before_window == []
    assert [(i.code, i.due_on, i.overdue(date(2026, 5, 11))) for i in in_window] == [
        ("FOLLOW_UP_DUE", date(2026, 6, 10), False)
    ]
    assert [i.overdue(date(2026, 6, 11)) for i in after_due] == [True]


def test_a_closed_case_has_no_work() -> None:
    state = with_events(
        departed(),
        ReturnCaseClosed(
            case_id=CASE, reason=ClosingReason.LOST_CONTACT, closed_on=date(2026, 5, 1), notes=None
        ),
    )

    assert codes(state, date(2027, 6, 1)) == []
    assert follow_ups_due(state, DEFAULT_POLICY, date(2027, 6, 1)) == []


def _referred(on: date) -> ReturnCase:
    return with_events(
        opened(),
        PartnerOrganisationContacted(
            case_id=CASE,
            referral_id=REFERRAL,
            organisation_id=ORGANISATION,
            organisation_country="RO",
            purpose=ConsentPurpose.REFERRAL,
            contacted_on=on,
            shares_personal_data=False,
            notes=None,
        ),
    )


def test_a_referral_unanswered_longer_than_the_policy_allows_is_work() -> None:
    state = _referred(date(2026, 2, 1))

    assert codes(state, date(2026, 2, 15)) == []
    assert codes(state, date(2026, 2, 16)) == ["REFERRAL_AWAITING_ANSWER"]
    assert codes(state, date(2026, 2, 10), WorkPolicy(referral_answer_days=7)) == [
        "REFERRAL_AWAITING_ANSWER"
    ]


def test_an_answered_referral_is_no_longer_work() -> None:
    state = with_events(
        _referred(date(2026, 2, 1)),
        ReferralStatusChanged(
            case_id=CASE,
            referral_id=REFERRAL,
            status=ReferralStatus.ACCEPTED,
            changed_on=date(2026, 2, 20),
            reason=None,
        ),
    )

    assert codes(state, date(2026, 3, 1)) == []


def test_a_follow_up_calling_for_escalation_is_work_until_an_escalation_is_recorded() -> None:
    called = with_events(departed(), contact(date(2026, 6, 1), escalation=True))
    escalated = with_events(
        called,
        FollowUpEscalated(
            case_id=CASE,
            escalated_on=date(2026, 6, 2),
            action=EscalationAction.PARTNER_ORGANISATION_ALERTED,
            notes=None,
        ),
    )

    assert codes(called, date(2026, 6, 2)) == ["ESCALATION_PENDING"]
    assert codes(escalated, date(2026, 6, 2)) == []


def test_an_escalation_before_the_follow_up_does_not_settle_it() -> None:
    state = with_events(
        departed(),
        FollowUpEscalated(
            case_id=CASE,
            escalated_on=date(2026, 5, 1),
            action=EscalationAction.OTHER,
            notes=None,
        ),
        contact(date(2026, 6, 1), escalation=True),
    )

    assert "ESCALATION_PENDING" in codes(state, date(2026, 6, 2))


def test_work_items_come_earliest_due_first() -> None:
    state = with_events(
        _referred(date(2026, 1, 10)),
        DepartureRecorded(
            case_id=CASE, departed_on=DEPARTED, mode=DepartureMode.FORCED, destination_country="RO"
        ),
    )

    items = work_items(state, DEFAULT_POLICY, date(2026, 6, 1), FOLLOW_UP_SOURCES)

    assert [(i.code, i.due_on) for i in items] == [
        ("REFERRAL_AWAITING_ANSWER", date(2026, 1, 24)),
        ("FOLLOW_UP_DUE", date(2026, 6, 10)),
    ]


# -- deciding on follow-ups, escalation and assignment ----------------------------------------


def test_a_follow_up_after_a_forced_return_is_accepted_and_enters_follow_up() -> None:
    state = departed(DepartureMode.FORCED)

    (event,) = decide(state, RecordFollowUp(CASE, date(2026, 6, 10), True, ClientSituation.STABLE))

    assert evolve(state, event).phase == Phase.FOLLOW_UP


def test_a_follow_up_records_who_was_reached_the_domains_and_the_danger() -> None:
    command = RecordFollowUp(
        CASE,
        date(2026, 6, 10),
        True,
        ClientSituation.VULNERABLE,
        reached_parties=(ReachedParty.PARTNER_ORGANISATION, ReachedParty.FAMILY),
        domain_situations=(
            (PlanDomain.HOUSING, ClientSituation.STABLE),
            (PlanDomain.SAFETY, ClientSituation.AT_RISK),
            (PlanDomain.INCOME_AND_WORK, ClientSituation.VULNERABLE),
        ),
        danger_signs=(DangerSign.APPROACHED_BY_RECRUITERS,),
        escalation_needed=True,
    )

    (event,) = decide(departed(), command)

    assert isinstance(event, FollowUpRecorded)
    assert event.reached_parties == (ReachedParty.PARTNER_ORGANISATION, ReachedParty.FAMILY)
    assert (event.domains_stable, event.domains_vulnerable, event.domains_at_risk) == (
        (PlanDomain.HOUSING,),
        (PlanDomain.INCOME_AND_WORK,),
        (PlanDomain.SAFETY,),
    )
    assert event.danger_signs == (DangerSign.APPROACHED_BY_RECRUITERS,)
    assert event.escalation_needed is True
    assert event.months_after_departure == 3


def test_a_reached_follow_up_without_parties_reached_the_client() -> None:
    (event,) = decide(
        departed(), RecordFollowUp(CASE, date(2026, 6, 10), True, ClientSituation.STABLE)
    )

    assert isinstance(event, FollowUpRecorded)
    assert event.reached_parties == (ReachedParty.CLIENT,)


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        (
            {"reached": False, "situation": None, "reached_parties": (ReachedParty.FAMILY,)},
            "REACHED_MISMATCH",
        ),
        (
            {
                "reached": False,
                "situation": None,
                "domain_situations": ((PlanDomain.HEALTH, ClientSituation.STABLE),),
            },
            "SITUATION_MISMATCH",
        ),
        (
            {"reached_parties": (ReachedParty.FAMILY, ReachedParty.FAMILY)},
            "DUPLICATE_REACHED_PARTY",
        ),
        (
            {
                "domain_situations": (
                    (PlanDomain.HEALTH, ClientSituation.STABLE),
                    (PlanDomain.HEALTH, ClientSituation.AT_RISK),
                )
            },
            "DUPLICATE_PLAN_DOMAIN",
        ),
        ({"danger_signs": (DangerSign.OTHER, DangerSign.OTHER)}, "DUPLICATE_DANGER_SIGN"),
    ],
)
def test_a_follow_up_that_contradicts_itself_is_refused(changes: dict[str, Any], rule: str) -> None:
    base: dict[str, Any] = {
        "case_id": CASE,
        "contacted_on": date(2026, 6, 10),
        "reached": True,
        "situation": ClientSituation.STABLE,
    }

    with pytest.raises(RuleViolation) as refused:
        decide(departed(), RecordFollowUp(**{**base, **changes}))

    assert refused.value.rule == rule


def test_an_escalation_needs_a_departure() -> None:
    with pytest.raises(RuleViolation) as refused:
        decide(opened(), EscalateFollowUp(CASE, date(2026, 2, 1), EscalationAction.OTHER))

    assert refused.value.rule == "ESCALATION_BEFORE_DEPARTURE"


def test_an_escalation_is_its_own_event_with_the_action_taken() -> None:
    (event,) = decide(
        departed(),
        EscalateFollowUp(
            CASE, date(2026, 6, 11), EscalationAction.REFERRED_TO_PROTECTION, " Safe house. "
        ),
    )

    assert event == FollowUpEscalated(
        case_id=CASE,
        escalated_on=date(2026, 6, 11),
        action=EscalationAction.REFERRED_TO_PROTECTION,
        notes="Safe house.",
    )


@pytest.mark.parametrize("subject", ["", "  ", "two words", "tab\there", "x" * 256])
def test_a_caseworker_must_be_named_by_a_token_subject(subject: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        decide(opened(), AssignCaseworker(CASE, subject, INTAKE))

    assert refused.value.rule == "INVALID_CASEWORKER"


def test_assigning_the_same_caseworker_twice_is_refused_and_another_replaces_them() -> None:
    state = with_events(
        opened(), CaseworkerAssigned(case_id=CASE, caseworker="anna", assigned_on=INTAKE)
    )

    with pytest.raises(RuleViolation) as refused:
        decide(state, AssignCaseworker(CASE, "anna", INTAKE))
    (event,) = decide(state, AssignCaseworker(CASE, "bram@example.org", INTAKE))

    assert refused.value.rule == "CASEWORKER_ALREADY_ASSIGNED"
    assert evolve(state, event).caseworker == "bram@example.org"


# -- the stored shape -------------------------------------------------------------------------


def test_a_version_1_follow_up_reads_as_having_reached_the_client_and_nothing_more() -> None:
    registry = EventRegistry([FollowUpRecorded])
    stored = {
        "case_id": str(CASE),
        "contacted_on": "2026-06-10",
        "reached": True,
        "situation": "STABLE",
        "months_after_departure": 3,
    }

    event = registry.decode("FollowUpRecorded", 1, stored, {"notes": "Doing well."})

    assert event == FollowUpRecorded(
        case_id=CASE,
        contacted_on=date(2026, 6, 10),
        reached=True,
        situation=ClientSituation.STABLE,
        notes="Doing well.",
        months_after_departure=3,
        reached_parties=(ReachedParty.CLIENT,),
        domains_stable=(),
        domains_vulnerable=(),
        domains_at_risk=(),
        danger_signs=(),
        escalation_needed=False,
    )


def test_a_version_1_follow_up_that_reached_nobody_reads_with_nobody_reached() -> None:
    registry = EventRegistry([FollowUpRecorded])
    stored = {
        "case_id": str(CASE),
        "contacted_on": "2026-06-10",
        "reached": False,
        "situation": None,
        "months_after_departure": 3,
    }

    event = registry.decode("FollowUpRecorded", 1, stored, None)

    assert (event.reached, event.reached_parties, event.notes) == (False, (), None)


@given(
    departed_on=st.dates(min_value=date(1900, 1, 1)),
    contacted=st.lists(st.dates(min_value=date(1900, 1, 1)), max_size=4),
    as_of=st.dates(),
    window=st.integers(min_value=0, max_value=90),
)
def test_the_work_rules_answer_for_any_dates_even_at_the_ends_of_the_calendar(
    departed_on: date, contacted: list[date], as_of: date, window: int
) -> None:
    policy = WorkPolicy(follow_up_window_days=window)
    state = evolve(
        _referred(departed_on),
        DepartureRecorded(
            case_id=CASE,
            departed_on=departed_on,
            mode=DepartureMode.FORCED,
            destination_country="RO",
        ),
    )
    state = with_events(state, *(contact(day, escalation=True) for day in contacted))

    scheduled = scheduled_follow_ups(state, policy)
    items = work_items(state, policy, as_of, FOLLOW_UP_SOURCES)

    assert [c.due_on for c in scheduled] == sorted(c.due_on for c in scheduled)
    assert all(c.window_opens_on <= c.due_on <= c.on_time_until for c in scheduled)
    assert {i.code for i in items} <= {
        "FOLLOW_UP_DUE",
        "REFERRAL_AWAITING_ANSWER",
        "ESCALATION_PENDING",
    }


def test_a_contact_that_would_fall_due_after_the_calendar_ends_is_never_due() -> None:
    state = with_events(
        opened(),
        DepartureRecorded(
            case_id=CASE,
            departed_on=date(9999, 5, 1),
            mode=DepartureMode.FORCED,
            destination_country="RO",
        ),
    )

    assert [c.months_after_departure for c in scheduled_follow_ups(state, DEFAULT_POLICY)] == [3, 6]
