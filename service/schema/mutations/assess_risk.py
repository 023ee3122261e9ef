"""Mutation ``assessRisk``: record a risk assessment for the return."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="A risk assessment for the return (PREPARATION).")
class AssessRiskInput(CaseCommandInput):
    assessed_on: dt.date = strawberry.field(
        description="The day of the assessment; on or after the intake date."
    )
    level: v.RiskLevel = strawberry.field(description="The overall risk level.")
    factors: list[v.RiskFactor] = strawberry.field(
        description="The risk factors found, each once; at least one for MEDIUM or HIGH.",
        default_factory=list,
    )
    notes: str | None = strawberry.field(
        default=None,
        description="The assessor's reasoning (at most 4000 characters). Personal data: encrypted, "
        "erasable.",
    )


async def assess_risk(
    info: Info, input: Annotated[AssessRiskInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record a risk assessment for the return."""
    return await run_case_command(info, rc.AssessRisk, input)
