"""Mutation ``recordLegalPosition``.

Record the client's residence status and the stage of criminal proceedings.
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
class RecordLegalPositionInput(CaseCommandInput):
    recorded_on: dt.date
    residence_status: v.ResidenceStatus
    proceedings_stage: v.ProceedingsStage
    departure_deadline: dt.date | None = None


async def record_legal_position(info: Info, input: RecordLegalPositionInput) -> ReturnCasePayload:
    """Record the client's residence status and the stage of criminal proceedings."""
    return await run_case_command(info, rc.RecordLegalPosition, input)
