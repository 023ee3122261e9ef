"""Mutation ``arrangeReturnSupport``.

Record the return support arranged (IOM, DT&V or self-organised).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="Return support arranged for the client (PREPARATION).")
class ArrangeReturnSupportInput(CaseCommandInput):
    kind: v.ReturnSupportKind = strawberry.field(
        description="Who supports the return; each kind once (SUPPORT_ALREADY_ARRANGED)."
    )
    arranged_on: dt.date = strawberry.field(
        description="The day it was arranged; on or after the intake date."
    )


async def arrange_return_support(
    info: Info, input: Annotated[ArrangeReturnSupportInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record the return support arranged (IOM, DT&V or self-organised)."""
    return await run_case_command(info, rc.ArrangeReturnSupport, input)
