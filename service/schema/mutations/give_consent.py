"""Mutation ``giveConsent``.

Record the client's consent to share data with a partner organisation for a purpose.
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
class GiveConsentInput(CaseCommandInput):
    organisation_id: strawberry.ID
    organisation_country: str
    purpose: v.ConsentPurpose
    given_on: dt.date
    transfer_risks_explained: bool = False


async def give_consent(info: Info, input: GiveConsentInput) -> ReturnCasePayload:
    """Record the client's consent to share data with a partner organisation for a purpose."""
    return await run_case_command(info, rc.GiveConsent, input)
