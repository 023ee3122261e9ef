"""Mutation ``approveSafetyPlan``: a second person approves the current safety plan."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.schema.context import Info
from service.schema.ids import from_global_id
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, build_command, run
from service.schema.types import ReturnCasePayload


@strawberry.input(description="Approval of the case's current safety plan.")
class ApproveSafetyPlanInput(CaseCommandInput):
    approved_on: dt.date = strawberry.field(description="The day of approval.")


async def approve_safety_plan(
    info: Info, input: Annotated[ApproveSafetyPlanInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Approve the current safety plan: tenant admins and supervisors only, never its author."""
    case_id = from_global_id("ReturnCase", input.case_id, field="caseId")
    command = build_command(rc.ApproveSafetyPlan, input, case_id, approved_by="")
    return await run(info, command, input.expected_version, input.idempotency_key)
