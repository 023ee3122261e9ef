"""Inline projections: run in the append's transaction, so a caller reads its own writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from service.events.projections import return_cases, timeline
from service.events.sealing import PersonalCipher
from service.events.types import RecordedEvent


async def project_case(
    conn: AsyncConnection,
    stream: Sequence[RecordedEvent],
    new: Sequence[RecordedEvent],
    cipher: PersonalCipher | None = None,
) -> dict[str, Any]:
    """Bring the case read models up to date: ``stream`` is the whole (decrypted) stream,
    ``new`` its tail; with a ``cipher`` the row's personal fields are stored sealed.

    Returns the ``return_cases`` row as stored (personal fields still sealed)."""
    row = await return_cases.seal_personal(conn, cipher, return_cases.case_row(stream))
    return await return_cases.upsert_returning(conn, row, [timeline.entry(e) for e in new])
