"""Mutation ``recordReturnHelpRefused``: the client refused the return help offered."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="A refusal of return help by the client.")
class RecordReturnHelpRefusedInput(CaseCommandInput):
    refused_on: dt.date = strawberry.field(description="The day the client refused.")
    help_offered: list[v.ReturnHelp] = strawberry.field(
        description="Which help was offered (at least one, each once)."
    )
    notes: str | None = strawberry.field(
        default=None, description="Notes (personal: kept encrypted)."
    )


async def record_return_help_refused(
    info: Info, input: Annotated[RecordReturnHelpRefusedInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record that the client refused return help; with a departure obligation, a forced
    return by DT&V may follow."""
    return await run_case_command(info, rc.RecordReturnHelpRefused, input)
