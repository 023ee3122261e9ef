"""Mutation ``giveConsent``.

Record the client's consent to share data with a partner organisation for a purpose.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.handlers.return_case import COUNTRY_FROM_SOCIAL_MAP
from service.schema.context import Info
from service.schema.ids import from_global_id
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, build_command, run
from service.schema.types import ReturnCasePayload


@strawberry.input(
    description="The client's consent to share data with one organisation for one purpose."
)
class GiveConsentInput(CaseCommandInput):
    organisation_id: strawberry.ID = strawberry.field(
        description="An organisation of the social map (active); its country is the map's."
    )
    purpose: v.ConsentPurpose = strawberry.field(description="What the consent covers.")
    given_on: dt.date = strawberry.field(
        description="The day consent was given; on or after the intake date."
    )
    transfer_risks_explained: bool = strawberry.field(
        default=False,
        description="True when the client was told the risks of sharing data outside the EU/EEA; "
        "required for such an organisation (GDPR art. 49(1)(a)).",
    )


async def give_consent(
    info: Info, input: Annotated[GiveConsentInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record the client's consent to share data with a partner organisation for a purpose."""
    case_id = from_global_id("ReturnCase", input.case_id, field="caseId")
    command = build_command(
        rc.GiveConsent,
        input,
        case_id,
        organisation_country=COUNTRY_FROM_SOCIAL_MAP,  # the handler fills it in from the map
    )
    return await run(info, command, input.expected_version, input.idempotency_key)
