"""Mutation ``reviseReintegrationPlan``: a new version of the agreed plan."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.schema.context import Info
from service.schema.ids import from_global_id, reject_nul
from service.schema.mutations.agree_reintegration_plan import PlanGoalInput, goal_fields
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run
from service.schema.types import ReturnCasePayload


@strawberry.input(description="The revised plan as a whole: partner organisation and goals.")
class ReviseReintegrationPlanInput(CaseCommandInput):
    revised_on: dt.date = strawberry.field(description="The day of the revision.")
    partner_organisation_id: strawberry.ID = strawberry.field(
        description="The partner organisation (social map) supporting the client after return."
    )
    goals: list[PlanGoalInput] = strawberry.field(description="At least one goal.")
    notes: str | None = strawberry.field(
        default=None, description="Notes (personal: kept encrypted)."
    )


async def revise_reintegration_plan(
    info: Info, input: Annotated[ReviseReintegrationPlanInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Revise the agreed reintegration plan; every revision is kept as its own event."""
    case_id = from_global_id("ReturnCase", input.case_id, field="caseId")
    if input.notes is not None:
        reject_nul(input.notes, "notes")
    command = rc.ReviseReintegrationPlan(
        case_id=case_id,
        revised_on=input.revised_on,
        notes=input.notes,
        **goal_fields(input.partner_organisation_id, input.goals),
    )
    return await run(info, command, input.expected_version, input.idempotency_key)
