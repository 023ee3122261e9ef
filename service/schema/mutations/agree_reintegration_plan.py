"""Mutation ``agreeReintegrationPlan``: the structured reintegration plan agreed with the client."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.ids import from_global_id, reject_nul
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run
from service.schema.types import ReturnCasePayload


@strawberry.input(description="One goal of a reintegration plan.")
class PlanGoalInput:
    domain: v.PlanDomain = strawberry.field(description="The domain of life of the goal.")
    responsible_organisation_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The social-map organisation responsible; null: the client or family.",
    )
    budget: int | None = strawberry.field(
        default=None, description="Support budget in whole euros (IOM reintegration), if any."
    )
    target_date: dt.date = strawberry.field(description="When the goal should be reached.")
    description: str = strawberry.field(
        description="What the goal is (personal: kept encrypted, never reported)."
    )


@strawberry.input(description="A reintegration plan: partner organisation and goals per domain.")
class AgreeReintegrationPlanInput(CaseCommandInput):
    agreed_on: dt.date = strawberry.field(description="The day the plan was agreed.")
    partner_organisation_id: strawberry.ID = strawberry.field(
        description="The partner organisation (social map) supporting the client after return."
    )
    goals: list[PlanGoalInput] = strawberry.field(description="At least one goal.")
    notes: str | None = strawberry.field(
        default=None, description="Notes (personal: kept encrypted)."
    )


def goal_fields(partner: strawberry.ID, goals: list[PlanGoalInput]) -> dict[str, Any]:
    """The command fields of a plan's partner and goals (parallel tuples, one per goal)."""
    responsible: list[uuid.UUID | None] = []
    for goal in goals:
        reject_nul(goal.description, "goals")
        org = goal.responsible_organisation_id
        responsible.append(
            None if org is None else from_global_id("Organisation", org, field="goals")
        )
    return {
        "partner_organisation_id": from_global_id(
            "Organisation", partner, field="partnerOrganisationId"
        ),
        "goal_domains": tuple(goal.domain for goal in goals),
        "goal_responsible_organisation_ids": tuple(responsible),
        "goal_budgets": tuple(goal.budget for goal in goals),
        "goal_target_dates": tuple(goal.target_date for goal in goals),
        "goal_descriptions": tuple(goal.description for goal in goals),
    }


async def agree_reintegration_plan(
    info: Info, input: Annotated[AgreeReintegrationPlanInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record the agreed reintegration plan; with IOM reintegration support a departure needs
    it, with consent to share with the partner. Change it later with reviseReintegrationPlan."""
    case_id = from_global_id("ReturnCase", input.case_id, field="caseId")
    if input.notes is not None:
        reject_nul(input.notes, "notes")
    command = rc.AgreeReintegrationPlan(
        case_id=case_id,
        agreed_on=input.agreed_on,
        notes=input.notes,
        **goal_fields(input.partner_organisation_id, input.goals),
    )
    return await run(info, command, input.expected_version, input.idempotency_key)
