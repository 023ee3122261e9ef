"""Mutation ``recordBestInterestsAssessment``: the best-interests assessment of a minor."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="The outcome of a best-interests assessment of a minor.")
class RecordBestInterestsAssessmentInput(CaseCommandInput):
    assessed_on: dt.date = strawberry.field(description="The day of the assessment.")
    return_in_best_interests: bool = strawberry.field(
        description="Whether return is in the child's best interests."
    )
    notes: str | None = strawberry.field(
        default=None, description="Notes (personal: kept encrypted)."
    )


async def record_best_interests_assessment(
    info: Info, input: Annotated[RecordBestInterestsAssessmentInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record a best-interests assessment; any departure of a minor needs one."""
    return await run_case_command(info, rc.RecordBestInterestsAssessment, input)
