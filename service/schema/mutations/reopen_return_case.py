"""Mutation ``reopenReturnCase``: reopen a closed case."""

from __future__ import annotations

import datetime as dt

import strawberry

from service.domain import return_case as rc
from service.schema.context import Info
from service.schema.mutations.common import CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input
class ReopenReturnCaseInput(CaseCommandInput):
    reopened_on: dt.date
    reason: str


async def reopen_return_case(info: Info, input: ReopenReturnCaseInput) -> ReturnCasePayload:
    """Reopen a closed case."""
    return await run_case_command(info, rc.ReopenReturnCase, input)
