"""Mutation ``withdrawTransfer``: the sending shelter takes its offer back."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.schema.context import Info
from service.schema.ids import from_global_id, reject_nul
from service.schema.mutations.offer_transfer import TransferOfferPayload
from service.schema.transfers import offer_view
from service.transfers.flow import withdraw_transfer as run_withdraw


@strawberry.input(description="Withdraw a transfer offer your shelter made.")
class WithdrawTransferInput:
    offer_id: strawberry.ID = strawberry.field(description="The offer to withdraw.")
    withdrawn_on: dt.date = strawberry.field(description="The day of the withdrawal.")
    reason: str | None = strawberry.field(
        default=None, description="Why the offer is withdrawn; kept on your case only."
    )


async def withdraw_transfer(
    info: Info,
    input: Annotated[
        WithdrawTransferInput, strawberry.argument(description="The waiting offer to withdraw.")
    ],
) -> TransferOfferPayload:
    """Withdraw a waiting transfer offer; the case stays open at your shelter."""
    ctx = info.context
    if input.reason is not None:
        reject_nul(input.reason, "reason")
    outcome = await run_withdraw(
        ctx.deps,
        ctx.principal,
        offer_id=from_global_id("TransferOffer", input.offer_id, field="offerId"),
        withdrawn_on=input.withdrawn_on,
        reason=input.reason,
        request_id=ctx.request_id,
    )
    return TransferOfferPayload(offer=await offer_view(info, outcome.offer))
