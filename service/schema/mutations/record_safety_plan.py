"""Mutation ``recordSafetyPlan``: the measures against each risk factor of the assessment."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.ids import from_global_id, reject_nul
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run
from service.schema.types import ReturnCasePayload


@strawberry.input(description="The measures taken against one risk factor.")
class SafetyMeasureInput:
    risk_factor: v.RiskFactor = strawberry.field(description="The risk factor addressed.")
    measure: str = strawberry.field(
        description="What is done against it (personal: kept encrypted, never reported)."
    )


@strawberry.input(description="A safety plan; a new one replaces the previous plan and approval.")
class RecordSafetyPlanInput(CaseCommandInput):
    written_on: dt.date = strawberry.field(description="The day the plan was written.")
    measures: list[SafetyMeasureInput] = strawberry.field(
        description="Measures per risk factor; every factor of the latest assessment needs one."
    )


async def record_safety_plan(
    info: Info, input: Annotated[RecordSafetyPlanInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record a safety plan; with HIGH risk a departure needs it, approved by a second person."""
    case_id = from_global_id("ReturnCase", input.case_id, field="caseId")
    for item in input.measures:
        reject_nul(item.measure, "measures")
    command = rc.RecordSafetyPlan(
        case_id=case_id,
        written_on=input.written_on,
        risk_factors=tuple(item.risk_factor for item in input.measures),
        measures=tuple(item.measure for item in input.measures),
    )
    return await run(info, command, input.expected_version, input.idempotency_key)
