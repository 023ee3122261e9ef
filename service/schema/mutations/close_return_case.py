"""Mutation ``closeReturnCase``: close the case with a reason."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="The closing of a case, with its reason.")
class CloseReturnCaseInput(CaseCommandInput):
    reason: v.ClosingReason = strawberry.field(
        description="Why the case closes; TRANSFERRED only through transferCase."
    )
    closed_on: dt.date = strawberry.field(
        description="The day of closing; on or after the intake date."
    )
    notes: str | None = strawberry.field(
        default=None,
        description="Notes on the closing (at most 4000 characters). Personal data: encrypted, "
        "erasable.",
    )


async def close_return_case(
    info: Info, input: Annotated[CloseReturnCaseInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Close the case with a reason."""
    return await run_case_command(info, rc.CloseReturnCase, input)
