"""Mutation ``reopenReturnCase``: reopen a closed case."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="The reopening of a closed case.")
class ReopenReturnCaseInput(CaseCommandInput):
    reopened_on: dt.date = strawberry.field(
        description="The day of reopening; not before the closing."
    )
    reason: str = strawberry.field(
        description="Why the case is reopened (required, at most 500 characters). Personal data: "
        "encrypted, erasable."
    )


async def reopen_return_case(
    info: Info, input: Annotated[ReopenReturnCaseInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Reopen a closed case."""
    return await run_case_command(info, rc.ReopenReturnCase, input)
