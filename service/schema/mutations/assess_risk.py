"""Mutation ``assessRisk``: record a risk assessment for the return."""

from __future__ import annotations

import datetime as dt

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input
class AssessRiskInput(CaseCommandInput):
    assessed_on: dt.date
    level: v.RiskLevel
    factors: list[v.RiskFactor] = strawberry.field(default_factory=list)
    notes: str | None = None


async def assess_risk(info: Info, input: AssessRiskInput) -> ReturnCasePayload:
    """Record a risk assessment for the return."""
    return await run_case_command(info, rc.AssessRisk, input)
