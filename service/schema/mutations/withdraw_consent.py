"""Mutation ``withdrawConsent``: record that the client withdrew a consent."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="The withdrawal of an active consent.")
class WithdrawConsentInput(CaseCommandInput):
    organisation_id: strawberry.ID = strawberry.field(
        description="The organisation the consent was given for."
    )
    purpose: v.ConsentPurpose = strawberry.field(
        description="The purpose the consent was given for."
    )
    withdrawn_on: dt.date = strawberry.field(
        description="The day of withdrawal; not before the consent was given."
    )


async def withdraw_consent(
    info: Info, input: Annotated[WithdrawConsentInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record that the client withdrew a consent."""
    return await run_case_command(info, rc.WithdrawConsent, input)
