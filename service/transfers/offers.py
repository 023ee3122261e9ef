"""The ``transfer_offers`` table: one row per offer, visible to its two shelters only.

Row-level security keys the table on both tenants (migration 0015). The client's name and
date of birth, when the offer shares them, are sealed with a key of the offer's own: a
``data_keys`` row of the sending tenant keyed by the offer id (so rotation of the
key-encryption key rewraps it like any data key). That key is destroyed when the offer is
answered or withdrawn, and when the sending shelter erases the client's data.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from service.events.sealing import JsonObject, PersonalCipher, SealedItem, is_sealed

OFFER_PURPOSE = "transfer-offer:personal"


@dataclass(frozen=True, slots=True)
class OfferRow:
    offer_id: uuid.UUID
    sending_tenant_id: uuid.UUID
    receiving_tenant_id: uuid.UUID
    sending_case_id: uuid.UUID
    receiving_case_id: uuid.UUID | None
    status: str
    offered_on: dt.date
    answered_on: dt.date | None
    shares_personal_data: bool
    facts: dict[str, Any]
    personal: JsonObject | None

    @property
    def carries_personal_data(self) -> bool:
        return self.personal is not None


_COLUMNS = (
    "offer_id, tenant_id, receiving_tenant_id, sending_case_id, receiving_case_id, status, "
    "offered_on, answered_on, shares_personal_data, facts, personal"
)


def _row(r: Any) -> OfferRow:
    return OfferRow(*r)


async def insert(
    conn: AsyncConnection,
    *,
    offer_id: uuid.UUID,
    sending_tenant_id: uuid.UUID,
    receiving_tenant_id: uuid.UUID,
    sending_case_id: uuid.UUID,
    offered_on: dt.date,
    shares_personal_data: bool,
    facts: dict[str, Any],
    personal: JsonObject | None,
) -> None:
    await conn.execute(
        text(
            "INSERT INTO transfer_offers (tenant_id, offer_id, receiving_tenant_id, "
            "sending_case_id, offered_on, shares_personal_data, facts, personal) "
            "VALUES (:t, :o, :r, :c, :d, :s, :f, :p)"
        ).bindparams(bindparam("f", type_=JSONB), bindparam("p", type_=JSONB)),
        {
            "t": sending_tenant_id,
            "o": offer_id,
            "r": receiving_tenant_id,
            "c": sending_case_id,
            "d": offered_on,
            "s": shares_personal_data,
            "f": facts,
            "p": personal,
        },
    )


async def get(
    conn: AsyncConnection, offer_id: uuid.UUID, *, for_update: bool = False
) -> OfferRow | None:
    """The offer, when the transaction's tenant is one of its two shelters."""
    lock = " FOR UPDATE" if for_update else ""
    row = (
        await conn.execute(
            text(f"SELECT {_COLUMNS} FROM transfer_offers WHERE offer_id = :o{lock}"),  # noqa: S608
            {"o": offer_id},
        )
    ).first()
    return None if row is None else _row(row)


async def incoming(conn: AsyncConnection, tenant_id: uuid.UUID) -> list[OfferRow]:
    rows = await conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM transfer_offers WHERE receiving_tenant_id = :t "  # noqa: S608
            "ORDER BY offered_on DESC, created_at DESC"
        ),
        {"t": tenant_id},
    )
    return [_row(r) for r in rows]


async def outgoing(conn: AsyncConnection, tenant_id: uuid.UUID) -> list[OfferRow]:
    rows = await conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM transfer_offers WHERE tenant_id = :t "  # noqa: S608
            "ORDER BY offered_on DESC, created_at DESC"
        ),
        {"t": tenant_id},
    )
    return [_row(r) for r in rows]


async def answer(
    conn: AsyncConnection,
    offer: OfferRow,
    status: str,
    answered_on: dt.date,
    receiving_case_id: uuid.UUID | None = None,
) -> None:
    """Record the offer's answer; its sealed personal data goes (the key goes separately)."""
    await conn.execute(
        text(
            "UPDATE transfer_offers SET status = :s, answered_on = :d, receiving_case_id = :rc, "
            "personal = NULL, updated_at = now() "
            "WHERE tenant_id = :t AND offer_id = :o AND status = 'OFFERED'"
        ),
        {
            "s": status,
            "d": answered_on,
            "rc": receiving_case_id,
            "t": offer.sending_tenant_id,
            "o": offer.offer_id,
        },
    )


async def seal(
    conn: AsyncConnection,
    cipher: PersonalCipher | None,
    tenant_id: uuid.UUID,
    offer_id: uuid.UUID,
    personal: JsonObject | None,
) -> JsonObject | None:
    """``personal`` sealed with the offer's own key (created here), or ``None``."""
    if not personal:
        return None
    if cipher is None:
        return personal
    (sealed,) = await cipher.seal_many(conn, tenant_id, offer_id, [(OFFER_PURPOSE, personal)])
    return sealed


async def open_personal(
    conn: AsyncConnection, cipher: PersonalCipher | None, offer: OfferRow
) -> JsonObject | None:
    """The offer's personal data; call in a transaction of the sending tenant."""
    if offer.personal is None:
        return None
    if not is_sealed(offer.personal):
        return offer.personal
    if cipher is None:
        return None
    (opened,) = await cipher.open_many(
        conn,
        [SealedItem(offer.sending_tenant_id, offer.offer_id, OFFER_PURPOSE, offer.personal)],
    )
    return opened


async def destroy_key(
    conn: AsyncConnection, cipher: PersonalCipher | None, tenant_id: uuid.UUID, offer_id: uuid.UUID
) -> None:
    """Destroy the offer's own key; call in a transaction of the sending tenant."""
    if cipher is not None:
        await cipher.forget(conn, tenant_id, offer_id)


async def forget_for_case(
    conn: AsyncConnection,
    cipher: PersonalCipher | None,
    tenant_id: uuid.UUID,
    case_id: uuid.UUID,
) -> int:
    """The sending shelter erased the client: waiting offers of the case carry no personal
    data any more (their sealed copy and its key go). Returns how many offers changed."""
    rows = await conn.execute(
        text(
            "UPDATE transfer_offers SET personal = NULL, updated_at = now() "
            "WHERE tenant_id = :t AND sending_case_id = :c AND status = 'OFFERED' "
            "RETURNING offer_id"
        ),
        {"t": tenant_id, "c": case_id},
    )
    offers = [r[0] for r in rows]
    for offer_id in offers:
        await destroy_key(conn, cipher, tenant_id, offer_id)
    return len(offers)
