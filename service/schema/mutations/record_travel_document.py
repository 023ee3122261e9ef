"""Mutation ``recordTravelDocument``.

Record a travel document requested from or issued by an embassy.
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
class RecordTravelDocumentInput(CaseCommandInput):
    status: v.TravelDocumentStatus
    recorded_on: dt.date
    original_identity_document: bool


async def record_travel_document(info: Info, input: RecordTravelDocumentInput) -> ReturnCasePayload:
    """Record a travel document requested from or issued by an embassy."""
    return await run_case_command(info, rc.RecordTravelDocument, input)
