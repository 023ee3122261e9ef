"""Inline projections: run in the append's transaction, so a caller reads its own writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from service.domain.return_case import ClientPersonalDataErased
from service.events.projections import return_cases, timeline
from service.events.sealing import PersonalCipher
from service.events.types import RecordedEvent


async def project_case(
    conn: AsyncConnection,
    stream: Sequence[RecordedEvent],
    new: Sequence[RecordedEvent],
    cipher: PersonalCipher | None = None,
) -> dict[str, Any]:
    """Bring the case read models up to date: ``stream`` is the whole stream, ``new`` its
    tail (as appended); with a ``cipher`` the row's personal fields are stored sealed.

    The events before ``new`` may still be sealed (personal fields unread), as a command
    reads them, except those after an erasure: whether they carry personal data again is
    read from their values. The row's personal part is taken from ``new`` when one of its
    events sets it (``return_cases.SETS_PERSONAL``), and otherwise kept as stored.

    Returns the ``return_cases`` row as stored (personal fields still sealed)."""
    if _unread_after_erasure(stream):
        raise ValueError("the events after an erasure are projected from their values")
    row = return_cases.case_row(stream)
    entries = [timeline.entry(e) for e in new]
    if not any(e.event_type in return_cases.SETS_PERSONAL for e in new):
        return await return_cases.upsert_returning(conn, row, entries, keep_personal=True)
    row = await return_cases.seal_personal(conn, cipher, row)
    return await return_cases.upsert_returning(conn, row, entries)


def _unread_after_erasure(stream: Sequence[RecordedEvent]) -> bool:
    erased = False
    for recorded in stream:
        if erased and recorded.sealed is not None:
            return True
        erased = erased or recorded.event_type == ClientPersonalDataErased.event_type
    return False
