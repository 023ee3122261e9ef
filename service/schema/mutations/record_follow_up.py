"""Mutation ``recordFollowUp``: record a follow-up contact after return."""

from __future__ import annotations

import datetime as dt

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input
class RecordFollowUpInput(CaseCommandInput):
    contacted_on: dt.date
    reached: bool
    situation: v.ClientSituation | None = None
    notes: str | None = None


async def record_follow_up(info: Info, input: RecordFollowUpInput) -> ReturnCasePayload:
    """Record a follow-up contact after return."""
    return await run_case_command(info, rc.RecordFollowUp, input)
