"""Mutation ``transferCase``.

Transfer the case to another shelter; it closes here as TRANSFERRED.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="The transfer of a case to another shelter.")
class TransferCaseInput(CaseCommandInput):
    to_organisation: str = strawberry.field(
        description="The receiving shelter's slug, e.g. moviera."
    )
    transferred_on: dt.date = strawberry.field(
        description="The day of the transfer; on or after the intake date."
    )


async def transfer_case(
    info: Info, input: Annotated[TransferCaseInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Transfer the case to another shelter; it closes here as TRANSFERRED."""
    return await run_case_command(info, rc.TransferCase, input)
