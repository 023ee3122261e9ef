"""Inline projections: run in the append's transaction, so a caller reads its own writes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from service.events.projections import return_cases, timeline
from service.events.types import RecordedEvent


async def project_case(
    conn: AsyncConnection, stream: Sequence[RecordedEvent], new: Sequence[RecordedEvent]
) -> None:
    """Bring the case read models up to date: ``stream`` is the whole stream, ``new`` its tail."""
    await return_cases.upsert(conn, return_cases.case_row(stream))
    await timeline.append_entries(conn, new)
