"""Mutation ``withdrawConsent``: record that the client withdrew a consent."""

from __future__ import annotations

import datetime as dt

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input
class WithdrawConsentInput(CaseCommandInput):
    organisation_id: strawberry.ID
    purpose: v.ConsentPurpose
    withdrawn_on: dt.date


async def withdraw_consent(info: Info, input: WithdrawConsentInput) -> ReturnCasePayload:
    """Record that the client withdrew a consent."""
    return await run_case_command(info, rc.WithdrawConsent, input)
