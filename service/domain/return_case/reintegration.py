"""Deciding on the reintegration plan: agreeing it, revising it, and when it is due.

A plan names the partner organisation that supports the client after return and sets goals per
domain of life, each with the organisation responsible (or the client and family), the support
budget if any (IOM reintegration support) and a target date. It is best agreed within a month
of arrival (DESIGN.md section 6): ``plan_due_on`` and ``plan_overdue`` derive that.
"""

from __future__ import annotations

from datetime import date

from service.domain.return_case.commands import AgreeReintegrationPlan, ReviseReintegrationPlan
from service.domain.return_case.departure import add_months
from service.domain.return_case.events import ReintegrationPlanAgreed, ReintegrationPlanRevised
from service.domain.return_case.rules import clean_notes, require_not_before, violation
from service.domain.return_case.state import ReturnCase
from service.domain.vocabulary import Phase

__all__ = [
    "MAX_BUDGET",
    "MAX_GOALS",
    "PLAN_DUE_MONTHS",
    "agree_plan",
    "agreed_within_due",
    "plan_due_on",
    "plan_overdue",
    "revise_plan",
]

MAX_BUDGET = 1_000_000
MAX_GOALS = 50
PLAN_DUE_MONTHS = 1
_PLAN_PHASES = frozenset({Phase.PREPARATION, Phase.DEPARTED, Phase.FOLLOW_UP})


def _check_goals(
    command: AgreeReintegrationPlan | ReviseReintegrationPlan, on: date
) -> tuple[str, ...]:
    goals = (
        command.goal_domains,
        command.goal_responsible_organisation_ids,
        command.goal_budgets,
        command.goal_target_dates,
        command.goal_descriptions,
    )
    if len({len(part) for part in goals}) != 1:
        raise violation("PLAN_GOALS_MISMATCH")
    if len(command.goal_domains) > MAX_GOALS:
        raise violation("PLAN_GOALS_TOO_MANY")
    descriptions = tuple(clean_notes(text) for text in command.goal_descriptions)
    if not descriptions or any(text is None for text in descriptions):
        raise violation("PLAN_GOALS_REQUIRED")
    for budget in command.goal_budgets:
        if budget is not None and not 0 <= budget <= MAX_BUDGET:
            raise violation("INVALID_BUDGET")
    for target in command.goal_target_dates:
        require_not_before(target, on, "TARGET_DATE_BEFORE_PLAN")
    return tuple(text for text in descriptions if text is not None)


def _require_plan_phase(state: ReturnCase) -> None:
    if state.phase not in _PLAN_PHASES:
        raise violation(
            "NOT_IN_PREPARATION",
            "A reintegration plan can be agreed only while a return is being prepared or "
            "after departure.",
        )


def agree_plan(state: ReturnCase, command: AgreeReintegrationPlan) -> ReintegrationPlanAgreed:
    _require_plan_phase(state)
    if state.plan is not None:
        raise violation("PLAN_ALREADY_AGREED")
    descriptions = _check_goals(command, command.agreed_on)
    return ReintegrationPlanAgreed(
        case_id=command.case_id,
        agreed_on=command.agreed_on,
        notes=clean_notes(command.notes),
        partner_organisation_id=command.partner_organisation_id,
        goal_domains=command.goal_domains,
        goal_responsible_organisation_ids=command.goal_responsible_organisation_ids,
        goal_budgets=command.goal_budgets,
        goal_target_dates=command.goal_target_dates,
        goal_descriptions=descriptions,
    )


def revise_plan(state: ReturnCase, command: ReviseReintegrationPlan) -> ReintegrationPlanRevised:
    _require_plan_phase(state)
    plan = state.plan
    if plan is None:
        raise violation("NO_PLAN_TO_REVISE")
    require_not_before(command.revised_on, plan.revised_on or plan.agreed_on, "DATE_BEFORE_PLAN")
    descriptions = _check_goals(command, command.revised_on)
    return ReintegrationPlanRevised(
        case_id=command.case_id,
        revised_on=command.revised_on,
        revision=plan.revision + 1,
        notes=clean_notes(command.notes),
        partner_organisation_id=command.partner_organisation_id,
        goal_domains=command.goal_domains,
        goal_responsible_organisation_ids=command.goal_responsible_organisation_ids,
        goal_budgets=command.goal_budgets,
        goal_target_dates=command.goal_target_dates,
        goal_descriptions=descriptions,
    )


def plan_due_on(state: ReturnCase) -> date | None:
    """A month after arrival (the day of departure); ``None`` before departure."""
    if state.departure is None:
        return None
    return add_months(state.departure.departed_on, PLAN_DUE_MONTHS)


def plan_overdue(state: ReturnCase, as_of: date) -> bool:
    """Departed, no plan agreed, and the month after arrival is over (not for a closed case)."""
    due = plan_due_on(state)
    return due is not None and state.plan is None and not state.closed and as_of > due


def agreed_within_due(state: ReturnCase) -> bool:
    """A plan was agreed by the time it was due (before departure counts as in time)."""
    due = plan_due_on(state)
    return due is not None and state.plan is not None and state.plan.agreed_on <= due
