"""Mutation ``retireOrganisation``: take an organisation off the active map (editors only)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from service.schema.context import Info
from service.schema.ids import from_global_id
from service.schema.socialmap.payloads import OrganisationPayload
from service.socialmap import editing


@strawberry.input(description="The retirement of an organisation of the social map.")
class RetireOrganisationInput:
    id: strawberry.ID = strawberry.field(description="The organisation's global ID.")
    expected_version: int = strawberry.field(
        description="The version this change was decided on; a stale one gets CONFLICT."
    )
    reason: str = strawberry.field(description="Why it is retired (kept in its history).")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Send the same key to repeat a request safely."
    )


async def retire_organisation(
    info: Info,
    input: Annotated[
        RetireOrganisationInput,
        strawberry.argument(description="The organisation to retire, with a reason."),
    ],
) -> OrganisationPayload:
    """Retire an organisation: no new contacts or consents; cases keep resolving it."""
    ctx = info.context
    result = await editing.retire(
        ctx.deps.engine,
        ctx.principal,
        from_global_id("Organisation", input.id),
        input.expected_version,
        input.reason,
        request_id=ctx.request_id,
        idempotency_key=input.idempotency_key,
    )
    return OrganisationPayload.of(result)
