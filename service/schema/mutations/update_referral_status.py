"""Mutation ``updateReferralStatus``.

Move a referral to a partner organisation to its next status.
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
class UpdateReferralStatusInput(CaseCommandInput):
    referral_id: strawberry.ID
    status: v.ReferralStatus
    changed_on: dt.date
    reason: str | None = None


async def update_referral_status(info: Info, input: UpdateReferralStatusInput) -> ReturnCasePayload:
    """Move a referral to a partner organisation to its next status."""
    return await run_case_command(info, rc.UpdateReferralStatus, input)
