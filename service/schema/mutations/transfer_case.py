"""Mutation ``transferCase``.

Transfer the case to another shelter; it closes here as TRANSFERRED.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from service.domain import return_case as rc
from service.schema.context import Info
from service.schema.mutations.common import CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input
class TransferCaseInput(CaseCommandInput):
    to_organisation: str
    transferred_on: dt.date


async def transfer_case(info: Info, input: TransferCaseInput) -> ReturnCasePayload:
    """Transfer the case to another shelter; it closes here as TRANSFERRED."""
    return await run_case_command(info, rc.TransferCase, input)
