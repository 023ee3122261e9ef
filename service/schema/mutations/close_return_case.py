"""Mutation ``closeReturnCase``: close the case with a reason."""

from __future__ import annotations

import datetime as dt

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input
class CloseReturnCaseInput(CaseCommandInput):
    reason: v.ClosingReason
    closed_on: dt.date
    notes: str | None = None


async def close_return_case(info: Info, input: CloseReturnCaseInput) -> ReturnCasePayload:
    """Close the case with a reason."""
    return await run_case_command(info, rc.CloseReturnCase, input)
