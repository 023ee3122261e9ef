"""Mutation ``recordTravelDocument``.

Record a travel document requested from or issued by an embassy.
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


@strawberry.input(description="A step with the client's travel document (PREPARATION).")
class RecordTravelDocumentInput(CaseCommandInput):
    status: v.TravelDocumentStatus = strawberry.field(
        description="REQUESTED from the embassy, or ISSUED after a request."
    )
    recorded_on: dt.date = strawberry.field(
        description="The day of this step; on or after the intake date."
    )
    original_identity_document: bool = strawberry.field(
        description="Whether the original identity document is available; a request needs it "
        "(ORIGINAL_ID_REQUIRED)."
    )


async def record_travel_document(
    info: Info, input: Annotated[RecordTravelDocumentInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record a travel document requested from or issued by an embassy."""
    return await run_case_command(info, rc.RecordTravelDocument, input)
