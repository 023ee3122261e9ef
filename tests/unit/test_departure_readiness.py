"""Readiness by example: the policy's age limit, the plan's due date, and old plans."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import pytest

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.domain.errors import RuleViolation
from service.events.types import EventRegistry

CASE = UUID(int=11)
PARTNER = UUID(int=12)
INTAKE = date(2026, 1, 5)


def apply(state: rc.ReturnCase | None, *commands: rc.Command) -> rc.ReturnCase:
    for command in commands:
        for event in rc.decide(state, command):
            state = rc.evolve(state, event)
    assert state is not None
    return state


def ready_adult(assessed_on: date = date(2026, 1, 10)) -> rc.ReturnCase:
    return apply(
        None,
        rc.OpenReturnCase(CASE, INTAKE, "A", v.Gender.MALE, 1990, "NG", "NG", ("en",), ()),
        rc.RecordReturnConversation(CASE, date(2026, 1, 6), v.ReturnWish.WANTS_TO_RETURN),
        rc.AssessRisk(CASE, assessed_on, v.RiskLevel.LOW),
        rc.RecordTravelDocument(CASE, v.TravelDocumentStatus.OWN_VALID, date(2026, 1, 10), False),
        rc.RecordArrivalArrangement(
            CASE, date(2026, 1, 10), "NG", "Abuja", v.ArrivalReceiver.NOBODY, reason="Wishes so."
        ),
    )


def test_a_risk_assessment_is_recent_for_as_many_days_as_the_policy_says() -> None:
    state = ready_adult()
    last_day = date(2026, 1, 10) + timedelta(days=90)
    kind = v.DepartureMode.INDEPENDENT
    assert rc.readiness(state, kind, last_day).ready
    assert rc.readiness(state, kind, last_day + timedelta(days=1)).codes == (
        "RISK_ASSESSMENT_OUTDATED",
    )
    strict = rc.ReadinessPolicy(risk_assessment_max_age_days=30)
    assert not rc.readiness(state, kind, date(2026, 2, 10), strict).ready


def test_nobody_receiving_the_client_needs_a_reason() -> None:
    arrival = rc.RecordArrivalArrangement(
        CASE, date(2026, 1, 10), "NG", "Abuja", v.ArrivalReceiver.NOBODY
    )
    state = apply(
        None,
        rc.OpenReturnCase(CASE, INTAKE, "A", v.Gender.MALE, 1990, "NG", "NG", ("en",), ()),
    )
    with pytest.raises(RuleViolation) as refused:
        rc.decide(state, arrival)
    assert refused.value.rule == "REASON_REQUIRED"


def test_the_plan_is_due_a_month_after_arrival_and_overdue_after_that() -> None:
    departed = apply(
        ready_adult(),
        rc.RecordDeparture(CASE, date(2026, 1, 31), v.DepartureMode.INDEPENDENT, "NG"),
    )
    assert rc.plan_due_on(departed) == date(2026, 2, 28)
    assert not rc.plan_overdue(departed, date(2026, 2, 28))
    assert rc.plan_overdue(departed, date(2026, 3, 1))
    plan = rc.AgreeReintegrationPlan(
        CASE, date(2026, 3, 2), PARTNER, (v.PlanDomain.HEALTH,), (None,), (None,),
        (date(2026, 6, 1),), ("Therapy.",),
    )  # fmt: skip
    late = apply(departed, plan)
    assert not rc.plan_overdue(late, date(2026, 3, 5))
    assert not rc.agreed_within_due(late)


def test_a_plan_agreed_before_plans_were_structured_reads_as_a_plan_without_partner() -> None:
    registry = EventRegistry(rc.EVENT_TYPES)
    old = registry.decode(
        "ReintegrationPlanAgreed",
        1,
        {"case_id": str(CASE), "agreed_on": "2026-01-12"},
        {"notes": "Small shop."},
    )
    assert isinstance(old, rc.ReintegrationPlanAgreed)
    assert (old.partner_organisation_id, old.goal_domains, old.notes) == (None, (), "Small shop.")
    state = apply(
        ready_adult(), rc.ArrangeReturnSupport(CASE, v.ReturnSupportKind.IOM_REINTEGRATION,
                                               date(2026, 1, 11)),
    )  # fmt: skip
    state = rc.evolve(state, old)
    assert rc.readiness(state, v.DepartureMode.ASSISTED, date(2026, 2, 1)).codes == (
        "REINTEGRATION_PLAN_PARTNER_MISSING",
    )


def test_a_plan_has_between_one_and_fifty_described_goals_with_sensible_budgets() -> None:
    state = ready_adult()
    day = date(2026, 1, 12)

    def plan(count: int, budget: int | None = None, text: str = "Goal.") -> rc.Command:
        return rc.AgreeReintegrationPlan(
            CASE, day, PARTNER, (v.PlanDomain.SAFETY,) * count, (None,) * count,
            (budget,) * count, (day,) * count, (text,) * count,
        )  # fmt: skip

    def rule(command: rc.Command) -> str:
        with pytest.raises(RuleViolation) as refused:
            rc.decide(state, command)
        return refused.value.rule

    assert rule(plan(0)) == "PLAN_GOALS_REQUIRED"
    assert rule(plan(51)) == "PLAN_GOALS_TOO_MANY"
    assert rule(plan(1, text="  ")) == "PLAN_GOALS_REQUIRED"
    assert rule(plan(1, budget=-1)) == "INVALID_BUDGET"
    assert rc.decide(state, plan(50, budget=2000))
