"""Inline projections: run in the append's transaction, so a caller reads its own writes; most
ride on the append's own statement (``RidingCase``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from service.domain.return_case import ClientPersonalDataErased
from service.events.projections import return_cases, timeline
from service.events.sealing import PersonalCipher
from service.events.store import Rider
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


def rides(events: Iterable[Any]) -> bool:
    """Whether the case read models of an append of ``events`` can ride on its statement
    (``RidingCase``): none of them sets the row's personal part, which would first be sealed
    with the client's key (made by the append's own sealing for a new case)."""
    return not any(type(e).event_type in return_cases.SETS_PERSONAL for e in events)


class RidingCase:
    """``project_case`` for events that ``rides`` allows, as writes riding on their append
    (``EventStore.append`` with ``riding``): the row and the timeline entries are folded from
    the events as they are about to be recorded, and what the database stamps on them is taken
    from the append's own statement. One round trip for the events and both read models.

    ``stream`` is the stream the command read (personal parts may be sealed, as
    ``project_case`` allows). Pass the instance as the append's ``riding``; then ``stored``
    gives the row as stored, as ``project_case`` returns it."""

    __slots__ = ("_returned", "_row", "_stream")

    def __init__(self, stream: Sequence[RecordedEvent]) -> None:
        if _unread_after_erasure(stream):
            raise ValueError("the events after an erasure are projected from their values")
        self._stream = stream
        self._row: dict[str, Any] | None = None
        self._returned: tuple[Any, ...] | None = None

    def __call__(self, pending: Sequence[RecordedEvent]) -> Rider:
        if not rides(e.event for e in pending):
            raise ValueError("an event that sets the personal part does not ride")
        self._row = return_cases.case_row([*self._stream, *pending])
        entries = [timeline.entry(e) for e in pending]
        return return_cases.riding_upsert(self._row, entries, self._keep)

    def _keep(self, returned: tuple[Any, ...]) -> None:
        self._returned = returned

    def stored(self, recorded: Sequence[RecordedEvent]) -> dict[str, Any]:
        """The row as stored, once the append has recorded the events."""
        assert self._row is not None, "the append has not called the rider"
        assert self._returned is not None, "the append has not returned the rider's row"
        return return_cases.stored_after_riding(self._row, recorded, self._returned)


def _unread_after_erasure(stream: Sequence[RecordedEvent]) -> bool:
    erased = False
    for recorded in stream:
        if erased and recorded.sealed is not None:
            return True
        erased = erased or recorded.event_type == ClientPersonalDataErased.event_type
    return False
