"""Mutation ``confirmOrganisation``: an editor checked an organisation and it is still right."""

from __future__ import annotations

from typing import Annotated

import strawberry

from service.schema.context import Info
from service.schema.ids import from_global_id
from service.schema.socialmap.loaders import utc_today
from service.schema.socialmap.payloads import OrganisationPayload
from service.socialmap import editing


@strawberry.input(description="Confirm an organisation as checked today, changing nothing else.")
class ConfirmOrganisationInput:
    id: strawberry.ID = strawberry.field(description="The organisation.")
    expected_version: int = strawberry.field(
        description="The version you checked; a stale one gets CONFLICT."
    )


async def confirm_organisation(
    info: Info,
    input: Annotated[
        ConfirmOrganisationInput,
        strawberry.argument(description="The organisation and the version you checked."),
    ],
) -> OrganisationPayload:
    """Set the organisation's last-verified date to today (a CONFIRMED entry in its history)."""
    ctx = info.context
    result = await editing.confirm(
        ctx.deps.engine, ctx.principal, from_global_id("Organisation", input.id),
        input.expected_version, request_id=ctx.request_id, today=utc_today(),
    )  # fmt: skip
    return OrganisationPayload.of(result)
