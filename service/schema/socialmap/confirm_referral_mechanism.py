"""Mutation ``confirmReferralMechanism``: an editor checked it and it is still right."""

from __future__ import annotations

from typing import Annotated

import strawberry

from service.schema.context import Info
from service.schema.socialmap.loaders import utc_today
from service.schema.socialmap.mechanism_inputs import ReferralMechanismPayload
from service.schema.socialmap.queries import country_code
from service.socialmap import mechanism_editing


@strawberry.input(description="Confirm a mechanism as checked today, changing nothing else.")
class ConfirmReferralMechanismInput:
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    expected_version: int = strawberry.field(
        description="The version you checked; a stale one gets CONFLICT."
    )


async def confirm_referral_mechanism(
    info: Info,
    input: Annotated[
        ConfirmReferralMechanismInput,
        strawberry.argument(description="The country and the version you checked."),
    ],
) -> ReferralMechanismPayload:
    """Set the mechanism's last-verified date to today (a CONFIRMED entry in its history)."""
    ctx = info.context
    written = await mechanism_editing.confirm(
        ctx.deps.engine, ctx.principal, country_code(input.country, "country"),
        input.expected_version, request_id=ctx.request_id, today=utc_today(),
    )  # fmt: skip
    return ReferralMechanismPayload.of(written)
