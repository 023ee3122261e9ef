"""Mutation ``offerTransfer``: offer a case to another shelter."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.schema.context import Info
from service.schema.ids import from_global_id, reject_nul
from service.schema.transfers import TransferOffer, offer_view
from service.transfers.flow import offer_transfer as run_offer


@strawberry.input(description="Offer a case to another shelter.")
class OfferTransferInput:
    case_id: strawberry.ID = strawberry.field(description="The case to offer.")
    expected_version: int = strawberry.field(
        description="The case version this offer was decided on; a stale one gets CONFLICT."
    )
    to_shelter: str = strawberry.field(description="Slug of the receiving shelter.")
    offered_on: dt.date = strawberry.field(description="The day of the offer.")
    share_personal_data: bool = strawberry.field(
        description="Send the client's name and date of birth along. Only with the client's "
        "consent to this transfer; the receiving shelter gets them on acceptance."
    )
    reason: str = strawberry.field(
        description="Why the client moves (capacity, safety, region); kept on your case only."
    )


@strawberry.type(description="The result of a transfer mutation.")
class TransferOfferPayload:
    offer: TransferOffer = strawberry.field(description="The offer as your shelter sees it.")


async def offer_transfer(
    info: Info,
    input: Annotated[
        OfferTransferInput,
        strawberry.argument(
            description="The case, the receiving shelter, the reason, and whether personal "
            "data goes along."
        ),
    ],
) -> TransferOfferPayload:
    """Offer a case to another shelter, with the client's consent; it stays open meanwhile."""
    ctx = info.context
    reject_nul(input.to_shelter, "toShelter")
    reject_nul(input.reason, "reason")
    outcome = await run_offer(
        ctx.deps,
        ctx.principal,
        case_id=from_global_id("ReturnCase", input.case_id, field="caseId"),
        expected_version=input.expected_version,
        to_shelter=input.to_shelter,
        offered_on=input.offered_on,
        share_personal_data=input.share_personal_data,
        reason=input.reason,
        request_id=ctx.request_id,
    )
    return TransferOfferPayload(offer=await offer_view(info, outcome.offer))
