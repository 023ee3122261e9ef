"""Personal data protection: per-client keys and encryption, erasure, consent, access log,
retention.

- ``keys``: master keys from configuration.
- ``kek``: rotating key-encryption keys (files outside the database) that wrap data keys.
- ``cipher``: per-client data keys (AES-256-GCM), sealing and opening of personal fields,
  crypto-shredding (``PersonalDataCipher``, the event store's ``PersonalCipher``).
- ``rotation``: rotate the key-encryption key (rewrap, then destroy the old one); its schedule.
- ``erasure``: the erasure command for tenant admins and retention; the owner's vacuum.
- ``retention``: erase cases closed longer ago than the retention period.
- ``access_log``: the append-only record of who was shown which personal fields.
- ``consent``: reading and counting consent state.

For readers of the event log (the integrator feed): ``decrypt_personal`` opens the personal
part of a batch of recorded events.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from service.events.sealing import READ_MODEL_PURPOSE, JsonObject, SealedItem
from service.events.store import EventStore
from service.events.types import RecordedEvent
from service.privacy.keys import TamperedCiphertext

__all__ = [
    "TamperedCiphertext",
    "decrypt_personal",
    "open_read_model_personal",
]


async def decrypt_personal(
    conn: AsyncConnection, store: EventStore, events: Sequence[RecordedEvent]
) -> list[RecordedEvent]:
    """``events`` (as ``read_feed``/``EventStore.recorded`` return them) with their personal
    fields decrypted: one key query for the whole batch, however many streams it spans.

    ``conn`` must be a tenant transaction of the events' tenant (row-level security shows it
    only that tenant's keys). Events of an erased client keep ``None`` personal fields (never
    an error); a tampered ciphertext raises ``TamperedCiphertext``. Call it only for callers
    allowed to see personal data; the order and count of ``events`` are kept.
    """
    return await store.open(conn, events)


async def open_read_model_personal(
    conn: AsyncConnection,
    store: EventStore,
    tenant_id: uuid.UUID,
    sealed: Sequence[tuple[uuid.UUID, JsonObject]],
) -> list[JsonObject | None]:
    """The plaintexts of ``return_cases.personal`` envelopes ``(case id, envelope)``, in one
    key query; ``None`` for an erased client."""
    if store.cipher is None:
        return [None for _ in sealed]
    return await store.cipher.open_many(
        conn,
        [SealedItem(tenant_id, case_id, READ_MODEL_PURPOSE, env) for case_id, env in sealed],
    )
