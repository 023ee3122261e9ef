"""Mutation ``declineTransfer``: the receiving shelter says no."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.schema.context import Info
from service.schema.ids import from_global_id, reject_nul
from service.schema.mutations.offer_transfer import TransferOfferPayload
from service.schema.transfers import offer_view
from service.transfers.flow import decline_transfer as run_decline


@strawberry.input(description="Decline a transfer offer made to your shelter.")
class DeclineTransferInput:
    offer_id: strawberry.ID = strawberry.field(description="The offer to decline.")
    declined_on: dt.date = strawberry.field(description="The day of the answer.")
    reason: str = strawberry.field(
        description="Why your shelter declines; the sending shelter sees it on its case."
    )


async def decline_transfer(
    info: Info,
    input: Annotated[
        DeclineTransferInput,
        strawberry.argument(description="The offer to decline, with the reason."),
    ],
) -> TransferOfferPayload:
    """Decline an offer; the case stays open at the sending shelter."""
    ctx = info.context
    reject_nul(input.reason, "reason")
    outcome = await run_decline(
        ctx.deps,
        ctx.principal,
        offer_id=from_global_id("TransferOffer", input.offer_id, field="offerId"),
        declined_on=input.declined_on,
        reason=input.reason,
        request_id=ctx.request_id,
    )
    return TransferOfferPayload(offer=await offer_view(info, outcome.offer))
