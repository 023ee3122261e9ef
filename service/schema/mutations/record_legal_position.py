"""Mutation ``recordLegalPosition``.

Record the client's residence status and the stage of criminal proceedings.
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


@strawberry.input(description="The client's legal position in the Netherlands.")
class RecordLegalPositionInput(CaseCommandInput):
    recorded_on: dt.date = strawberry.field(
        description="The day of this position; on or after the intake date."
    )
    residence_status: v.ResidenceStatus = strawberry.field(description="The residence status.")
    proceedings_stage: v.ProceedingsStage = strawberry.field(
        description="The stage of the criminal proceedings."
    )
    departure_deadline: dt.date | None = strawberry.field(
        default=None,
        description="The day by which the client must leave; only with a departure obligation "
        "(DEADLINE_WITHOUT_OBLIGATION).",
    )


async def record_legal_position(
    info: Info, input: Annotated[RecordLegalPositionInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record the client's residence status and the stage of criminal proceedings."""
    return await run_case_command(info, rc.RecordLegalPosition, input)
