"""Mutation ``updateReferralStatus``.

Move a referral to a partner organisation to its next status.
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


@strawberry.input(description="A new status of a referral.")
class UpdateReferralStatusInput(CaseCommandInput):
    referral_id: strawberry.ID = strawberry.field(
        description="The referral's global ID (Referral.id)."
    )
    status: v.ReferralStatus = strawberry.field(description="The new status.")
    changed_on: dt.date = strawberry.field(
        description="The day of the change; not before the contact."
    )
    reason: str | None = strawberry.field(
        default=None,
        description="Why; required for REJECTED and WITHDRAWN. Personal data: encrypted, erasable.",
    )


async def update_referral_status(
    info: Info, input: Annotated[UpdateReferralStatusInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Move a referral to a partner organisation to its next status."""
    return await run_case_command(info, rc.UpdateReferralStatus, input)
