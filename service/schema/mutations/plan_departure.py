"""Mutation ``planDeparture``: plan the departure date and destination."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="A planned departure (PREPARATION).")
class PlanDepartureInput(CaseCommandInput):
    planned_on: dt.date = strawberry.field(
        description="The planned day of departure; may lie ahead."
    )
    destination_country: str = strawberry.field(
        description="ISO 3166-1 alpha-2 code of the country of return."
    )


async def plan_departure(
    info: Info, input: Annotated[PlanDepartureInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Plan the departure date and destination."""
    return await run_case_command(info, rc.PlanDeparture, input)
