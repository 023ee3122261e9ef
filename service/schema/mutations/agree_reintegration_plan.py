"""Mutation ``agreeReintegrationPlan``: record that a written reintegration plan was agreed."""

from __future__ import annotations

import datetime as dt

import strawberry

from service.domain import return_case as rc
from service.schema.context import Info
from service.schema.mutations.common import CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input
class AgreeReintegrationPlanInput(CaseCommandInput):
    agreed_on: dt.date
    notes: str | None = None


async def agree_reintegration_plan(
    info: Info, input: AgreeReintegrationPlanInput
) -> ReturnCasePayload:
    """Record that a written reintegration plan was agreed."""
    return await run_case_command(info, rc.AgreeReintegrationPlan, input)
