"""Mutation ``planDeparture``: plan the departure date and destination."""

from __future__ import annotations

import datetime as dt

import strawberry

from service.domain import return_case as rc
from service.schema.context import Info
from service.schema.mutations.common import CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input
class PlanDepartureInput(CaseCommandInput):
    planned_on: dt.date
    destination_country: str


async def plan_departure(info: Info, input: PlanDepartureInput) -> ReturnCasePayload:
    """Plan the departure date and destination."""
    return await run_case_command(info, rc.PlanDeparture, input)
