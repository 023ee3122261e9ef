"""Mutation ``recordFamilyAssessment``: tracing and assessing a minor's family."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="The family assessment in the country of origin.")
class RecordFamilyAssessmentInput(CaseCommandInput):
    assessed_on: dt.date = strawberry.field(description="The day of the assessment.")
    outcome: v.FamilyAssessmentOutcome = strawberry.field(
        description="Family traced and safe, traced and unsafe, or not traced."
    )
    notes: str | None = strawberry.field(
        default=None, description="Notes (personal: kept encrypted)."
    )


async def record_family_assessment(
    info: Info, input: Annotated[RecordFamilyAssessmentInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record the family assessment; any departure of a minor needs one."""
    return await run_case_command(info, rc.RecordFamilyAssessment, input)
