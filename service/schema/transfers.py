"""GraphQL types and queries of transfer offers between shelters.

An offer shows each of its two shelters only what the offer shares: the client's
non-personal facts, whether personal data goes along, and (for the sender) its own case.
Neither side ever gets the other side's case id through it.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import strawberry

from service.auth import Tenant
from service.db import tenant_transaction
from service.domain import vocabulary as v
from service.events.projections import return_cases
from service.schema.context import Info
from service.schema.ids import to_global_id
from service.schema.types import ReturnCase
from service.transfers import offers


@strawberry.enum(description="Where a transfer offer stands.")
class TransferStatus(enum.Enum):
    OFFERED = strawberry.enum_value(
        "OFFERED", description="Waiting for the receiving shelter's answer."
    )
    ACCEPTED = strawberry.enum_value(
        "ACCEPTED", description="Accepted: the case continues at the receiving shelter."
    )
    DECLINED = strawberry.enum_value(
        "DECLINED", description="Declined by the receiving shelter; the case stays open."
    )
    WITHDRAWN = strawberry.enum_value(
        "WITHDRAWN", description="Withdrawn by the sending shelter; the case stays open."
    )


@strawberry.type(description="The client's facts a transfer offer shares (no personal data).")
class TransferredFacts:
    pseudonym: str = strawberry.field(description="The client's pseudonym.")
    gender: v.Gender = strawberry.field(description="The client's gender.")
    birth_year: int | None = strawberry.field(description="The client's year of birth.")
    nationality: str = strawberry.field(description="Nationality, ISO 3166-1 alpha-2.")
    country_of_origin: str = strawberry.field(description="Country of origin, ISO alpha-2.")
    languages: list[str] = strawberry.field(description="Languages the client speaks.")
    exploitation_forms: list[v.ExploitationForm] = strawberry.field(
        description="Forms of exploitation recorded for the client."
    )
    first_intake_date: dt.date = strawberry.field(
        description="The intake date at the sending shelter."
    )
    phase: v.Phase = strawberry.field(description="The phase of the case when it was offered.")
    return_conversations: int = strawberry.field(
        description="How many return conversations the sending shelter held."
    )
    latest_wish: v.ReturnWish | None = strawberry.field(
        description="The client's latest recorded wish about return."
    )
    departure_obligation: bool = strawberry.field(
        description="Whether the client must leave the Netherlands."
    )
    residence_status: v.ResidenceStatus | None = strawberry.field(
        description="The client's residence status, if recorded."
    )
    risk_level: v.RiskLevel | None = strawberry.field(
        description="The latest assessed risk level, if any."
    )

    @staticmethod
    def of(facts: dict[str, Any]) -> TransferredFacts:
        def opt(cls: Any, value: Any) -> Any:
            return None if value is None else cls(value)

        return TransferredFacts(
            pseudonym=facts["pseudonym"],
            gender=v.Gender(facts["gender"]),
            birth_year=facts["birth_year"],
            nationality=facts["nationality"],
            country_of_origin=facts["country_of_origin"],
            languages=list(facts["languages"]),
            exploitation_forms=[v.ExploitationForm(x) for x in facts["exploitation_forms"]],
            first_intake_date=dt.date.fromisoformat(facts["first_intake_date"]),
            phase=v.Phase(facts["phase"]),
            return_conversations=int(facts["return_conversations"]),
            latest_wish=opt(v.ReturnWish, facts["latest_wish"]),
            departure_obligation=bool(facts["departure_obligation"]),
            residence_status=opt(v.ResidenceStatus, facts["residence_status"]),
            risk_level=opt(v.RiskLevel, facts["risk_level"]),
        )


@strawberry.type(description="An offer to transfer a case from one shelter to another.")
class TransferOffer:
    id: strawberry.ID = strawberry.field(description="The offer's id.")
    from_shelter: str = strawberry.field(description="Slug of the sending shelter.")
    to_shelter: str = strawberry.field(description="Slug of the receiving shelter.")
    status: TransferStatus = strawberry.field(description="Where the offer stands.")
    offered_on: dt.date = strawberry.field(description="The day the offer was made.")
    answered_on: dt.date | None = strawberry.field(
        description="The day it was accepted, declined or withdrawn."
    )
    shares_personal_data: bool = strawberry.field(
        description="Whether the offer shares the client's name and date of birth (with the "
        "client's consent to the transfer)."
    )
    carries_personal_data: bool = strawberry.field(
        description="Whether personal data still waits in the offer: false once answered, or "
        "after the sending shelter erased the client's data."
    )
    facts: TransferredFacts = strawberry.field(description="The facts the offer shares.")
    case: ReturnCase | None = strawberry.field(
        description="Your own case of this offer: the offered case for the sending shelter, "
        "the case opened on acceptance for the receiving shelter; null otherwise."
    )

    @staticmethod
    def of(
        row: offers.OfferRow,
        tenants: dict[uuid.UUID, Tenant],
        case: ReturnCase | None = None,
    ) -> TransferOffer:
        return TransferOffer(
            id=strawberry.ID(to_global_id("TransferOffer", row.offer_id)),
            from_shelter=tenants[row.sending_tenant_id].slug,
            to_shelter=tenants[row.receiving_tenant_id].slug,
            status=TransferStatus(row.status),
            offered_on=row.offered_on,
            answered_on=row.answered_on,
            shares_personal_data=row.shares_personal_data,
            carries_personal_data=row.carries_personal_data,
            facts=TransferredFacts.of(row.facts),
            case=case,
        )


def tenants_by_id(info: Info) -> dict[uuid.UUID, Tenant]:
    return {t.id: t for t in info.context.deps.tenants.values()}


async def offer_view(info: Info, row: offers.OfferRow) -> TransferOffer:
    """The offer as the caller's shelter sees it, with the caller's own case of it."""
    principal = info.context.principal
    own: uuid.UUID | None = (
        row.sending_case_id
        if row.sending_tenant_id == principal.tenant_id
        else row.receiving_case_id
    )
    case = None
    if own is not None:
        async with tenant_transaction(info.context.deps.engine, principal.tenant_id) as conn:
            found = await return_cases.get_case(conn, own)
        case = None if found is None else ReturnCase.from_row(found)
    return TransferOffer.of(row, tenants_by_id(info), case)


async def incoming_transfers(info: Info) -> list[TransferOffer]:
    principal = info.context.principal
    principal.require_case_access()
    async with tenant_transaction(info.context.deps.engine, principal.tenant_id) as conn:
        rows = await offers.incoming(conn, principal.tenant_id)
    return [await offer_view(info, row) for row in rows]


async def outgoing_transfers(info: Info) -> list[TransferOffer]:
    principal = info.context.principal
    principal.require_case_access()
    async with tenant_transaction(info.context.deps.engine, principal.tenant_id) as conn:
        rows = await offers.outgoing(conn, principal.tenant_id)
    return [await offer_view(info, row) for row in rows]
