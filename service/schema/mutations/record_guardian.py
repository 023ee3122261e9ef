"""Mutation ``recordGuardian``: the guardian of a client who is a minor."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="The guardian of a minor client.")
class RecordGuardianInput(CaseCommandInput):
    appointed_on: dt.date = strawberry.field(description="Since when the guardian acts.")
    guardian_organisation: str = strawberry.field(
        description="The guardianship organisation, such as Nidos (not a person's name)."
    )
    notes: str | None = strawberry.field(
        default=None, description="Notes (personal: kept encrypted)."
    )


async def record_guardian(
    info: Info, input: Annotated[RecordGuardianInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record the guardian of a minor client; any departure of a minor needs one."""
    return await run_case_command(info, rc.RecordGuardian, input)
