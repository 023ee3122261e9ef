"""Mutation ``agreeReintegrationPlan``: record that a written reintegration plan was agreed."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="A reintegration plan agreed with the client.")
class AgreeReintegrationPlanInput(CaseCommandInput):
    agreed_on: dt.date = strawberry.field(
        description="The day the plan was agreed; on or after the intake date."
    )
    notes: str | None = strawberry.field(
        default=None,
        description="The plan's content (at most 4000 characters). Personal data: encrypted, "
        "erasable.",
    )


async def agree_reintegration_plan(
    info: Info, input: Annotated[AgreeReintegrationPlanInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record that a written reintegration plan was agreed."""
    return await run_case_command(info, rc.AgreeReintegrationPlan, input)
