"""Mutation ``retireReferralMechanism``: take a mechanism out of use (editors only)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from service.schema.context import Info
from service.schema.socialmap.mechanism_inputs import ReferralMechanismPayload
from service.schema.socialmap.queries import country_code
from service.socialmap import mechanism_editing


@strawberry.input(description="Retire a country's referral mechanism.")
class RetireReferralMechanismInput:
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    expected_version: int = strawberry.field(
        description="The version this change was decided on; a stale one gets CONFLICT."
    )
    reason: str = strawberry.field(description="Why it is retired (kept in its history).")


async def retire_referral_mechanism(
    info: Info,
    input: Annotated[
        RetireReferralMechanismInput,
        strawberry.argument(description="The country, the expectedVersion and why."),
    ],
) -> ReferralMechanismPayload:
    """Retire a mechanism: it stays readable with its history, but gives no routes."""
    ctx = info.context
    written = await mechanism_editing.retire(
        ctx.deps.engine, ctx.principal, country_code(input.country, "country"),
        input.expected_version, input.reason, request_id=ctx.request_id,
    )  # fmt: skip
    return ReferralMechanismPayload.of(written)
