"""Mutation ``planDeparture``: plan the departure date and destination."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="A planned independent or assisted departure.")
class PlanDepartureInput(CaseCommandInput):
    planned_on: dt.date = strawberry.field(description="The planned day of departure.")
    destination_country: str = strawberry.field(
        description="ISO 3166-1 alpha-2 code; the one in the arrival arrangement."
    )
    mode: v.DepartureMode = strawberry.field(
        description="INDEPENDENT or ASSISTED; a forced return is never planned by the shelter."
    )


async def plan_departure(
    info: Info, input: Annotated[PlanDepartureInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Plan the departure date and destination; refused with NOT_READY, naming every missing
    item, unless the departure is ready on the planned day."""
    return await run_case_command(info, rc.PlanDeparture, input)
