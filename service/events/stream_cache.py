"""The streams this process's commands last read or wrote, kept for the next command.

A command reads its case's whole stream to decide. Events are never changed or removed, so a
stream read (or written) once stays a true beginning of that stream: the next command on the
case reads only the events after it (``EventStore.read_stream_after_receipt``), written by
this process or any other.

What is kept is what the log holds: each event as the store reads it before opening it, its
personal fields ``None`` and a sealed part, if any, still sealed. No personal value is kept in
the clear, so erasure (which destroys the client's key) leaves nothing readable here, as it
leaves nothing readable in the log. Streams are kept by (tenant, stream): a tenant's command
is only ever given its own tenant's events, as row-level security gives them. Only committed
streams are kept (the store puts them after its transaction commits); the least recently
used are dropped beyond ``size``.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from service.events.types import RecordedEvent

# Measured in the command bench: about 13 KiB per stream of a case walked through the method
# (12 events), so some 15 MiB when full.
DEFAULT_STREAMS = 1_000


def holds_no_personal_value(events: Iterable[RecordedEvent]) -> bool:
    """Whether every personal field of ``events`` is ``None`` (sealed, or never given)."""
    return all(
        getattr(e.event, name) is None for e in events for name in type(e.event).personal_fields
    )


class StreamCache:
    def __init__(self, size: int = DEFAULT_STREAMS) -> None:
        self._size = size
        self._streams: OrderedDict[tuple[uuid.UUID, uuid.UUID], tuple[RecordedEvent, ...]] = (
            OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._streams)

    def get(self, tenant_id: uuid.UUID, stream_id: uuid.UUID) -> tuple[RecordedEvent, ...]:
        """The kept beginning of the stream (empty when none is kept)."""
        key = (tenant_id, stream_id)
        events = self._streams.get(key)
        if events is None:
            return ()
        self._streams.move_to_end(key)
        return events

    def put(
        self, tenant_id: uuid.UUID, stream_id: uuid.UUID, events: Sequence[RecordedEvent]
    ) -> None:
        """Keep ``events``, a committed stream from its first version on, unless a longer
        beginning of it is kept already (commits may report in another order).

        Raises ``ValueError`` for an event holding a personal value in the clear."""
        if not events:
            return
        key = (tenant_id, stream_id)
        kept = self._streams.get(key, ())
        if kept and kept[-1].version >= events[-1].version:
            self._streams.move_to_end(key)
            return
        # What is kept was checked when it was put; ``events`` begins with it.
        if not holds_no_personal_value(events[len(kept) :]):
            raise ValueError("a stream is kept only as stored: sealed, no personal value")
        self._streams[key] = tuple(events)
        self._streams.move_to_end(key)
        while len(self._streams) > self._size:
            self._streams.popitem(last=False)
