"""Mutation ``recordDeparture``.

Record that the client has left (independent, assisted or forced).
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
class RecordDepartureInput(CaseCommandInput):
    departed_on: dt.date
    mode: v.DepartureMode
    destination_country: str


async def record_departure(info: Info, input: RecordDepartureInput) -> ReturnCasePayload:
    """Record that the client has left (independent, assisted or forced)."""
    return await run_case_command(info, rc.RecordDeparture, input)
