"""Mutation ``arrangeReturnSupport``.

Record the return support arranged (IOM, DT&V or self-organised).
"""

from __future__ import annotations

import datetime as dt

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input
class ArrangeReturnSupportInput(CaseCommandInput):
    kind: v.ReturnSupportKind
    arranged_on: dt.date


async def arrange_return_support(info: Info, input: ArrangeReturnSupportInput) -> ReturnCasePayload:
    """Record the return support arranged (IOM, DT&V or self-organised)."""
    return await run_case_command(info, rc.ArrangeReturnSupport, input)
