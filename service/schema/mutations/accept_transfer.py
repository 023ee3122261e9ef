"""Mutation ``acceptTransfer``: the receiving shelter takes the case over."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.schema.context import Info
from service.schema.ids import from_global_id
from service.schema.mutations.offer_transfer import TransferOfferPayload
from service.schema.transfers import offer_view
from service.transfers.flow import accept_transfer as run_accept


@strawberry.input(description="Accept a transfer offer made to your shelter.")
class AcceptTransferInput:
    offer_id: strawberry.ID = strawberry.field(description="The offer to accept.")
    accepted_on: dt.date = strawberry.field(
        description="The day your shelter takes the client in; the new case's intake date."
    )


async def accept_transfer(
    info: Info,
    input: Annotated[AcceptTransferInput, strawberry.argument(description="The offer to accept.")],
) -> TransferOfferPayload:
    """Accept an offer: a case opens at your shelter with what the offer shares."""
    ctx = info.context
    outcome = await run_accept(
        ctx.deps,
        ctx.principal,
        offer_id=from_global_id("TransferOffer", input.offer_id, field="offerId"),
        accepted_on=input.accepted_on,
        request_id=ctx.request_id,
    )
    return TransferOfferPayload(offer=await offer_view(info, outcome.offer))
