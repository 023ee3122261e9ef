"""Mutation ``recordDeparture``.

Record that the client has left (independent, assisted or forced).
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


@strawberry.input(description="The client's actual departure.")
class RecordDepartureInput(CaseCommandInput):
    departed_on: dt.date = strawberry.field(
        description="The day the client left; on or after the intake date."
    )
    mode: v.DepartureMode = strawberry.field(
        description="Independent, assisted (needs IOM or DT&V support) or forced (by DT&V)."
    )
    destination_country: str = strawberry.field(
        description="ISO 3166-1 alpha-2 code of the country the client left for."
    )


async def record_departure(
    info: Info, input: Annotated[RecordDepartureInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record that the client has left (independent, assisted or forced)."""
    return await run_case_command(info, rc.RecordDeparture, input)
