"""Mutation ``escalateFollowUp``: record the action taken on danger found after return."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="An escalation after return: what was done about danger.")
class EscalateFollowUpInput(CaseCommandInput):
    escalated_on: dt.date = strawberry.field(description="The day the action was taken.")
    action: v.EscalationAction = strawberry.field(description="The action taken.")
    notes: str | None = strawberry.field(
        default=None, description="Free text; personal data, encrypted per client."
    )


async def escalate_follow_up(
    info: Info, input: Annotated[EscalateFollowUpInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record the action taken on danger found after return. It settles every earlier
    follow-up that called for escalation."""
    return await run_case_command(info, rc.EscalateFollowUp, input)
