"""Mutation ``recordFollowUp``: record a follow-up contact after return."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="A follow-up contact after return.")
class RecordFollowUpInput(CaseCommandInput):
    contacted_on: dt.date = strawberry.field(
        description="The day of the contact attempt; not before departure."
    )
    reached: bool = strawberry.field(description="Whether the client was reached.")
    situation: v.ClientSituation | None = strawberry.field(
        default=None,
        description="The client's situation; required when reached, absent otherwise "
        "(SITUATION_MISMATCH).",
    )
    notes: str | None = strawberry.field(
        default=None,
        description="What was found (at most 4000 characters). Personal data: encrypted, erasable.",
    )


async def record_follow_up(
    info: Info, input: Annotated[RecordFollowUpInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record a follow-up contact after return."""
    return await run_case_command(info, rc.RecordFollowUp, input)
