"""Mutation ``contactPartnerOrganisation``: refer the client to a partner organisation."""

from __future__ import annotations

import datetime as dt
import uuid
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
    description="A referral of the client to a partner organisation of the social map."
)
class ContactPartnerOrganisationInput(CaseCommandInput):
    organisation_id: strawberry.ID = strawberry.field(
        description="An organisation of the social map; retired ones cannot be contacted."
    )
    purpose: v.ConsentPurpose = strawberry.field(
        description="What the referral is for; with personal data shared, the consent must be for "
        "this purpose."
    )
    contacted_on: dt.date = strawberry.field(
        description="The day the organisation was contacted; on or after the intake date."
    )
    shares_personal_data: bool = strawberry.field(
        description="Personal data is shared: needs the client's active consent for it."
    )
    notes: str | None = strawberry.field(
        default=None,
        description="Notes on the contact (at most 4000 characters). Personal data: encrypted, "
        "erasable.",
    )


async def contact_partner_organisation(
    info: Info, input: Annotated[ContactPartnerOrganisationInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record contact with a partner organisation; starts a referral in status REQUESTED."""
    case_id = from_global_id("ReturnCase", input.case_id, field="caseId")
    referral_id = (
        uuid.uuid5(case_id, input.idempotency_key) if input.idempotency_key else uuid.uuid4()
    )
    command = build_command(
        rc.ContactPartnerOrganisation,
        input,
        case_id,
        referral_id=referral_id,
        organisation_country=COUNTRY_FROM_SOCIAL_MAP,  # the handler fills it in from the map
    )
    return await run(info, command, input.expected_version, input.idempotency_key)
