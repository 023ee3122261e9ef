"""Reading many events of the log at once, with one JSON decode per row.

Readers that go through thousands of events (a rebuild, a projection catching up) select
``JSON_TEXT_COLUMNS`` instead of the store's ``COLUMNS``: the same columns in the same order
(derived from ``COLUMNS``), except that ``payload`` and ``personal`` arrive as one JSON text
(a two-item array, in ``payload``'s place) that ``recorded`` decodes with one call of the
JSON scanner, and ``metadata`` as its fields, one text column each, in its place (the
driver decodes text columns in C, and ``Metadata`` is filled from them without a dictionary
in between). Through the driver's JSONB codec each JSON column is a parse of its own (a call
per column and row, plus the codec's per-value work), which was the largest single cost of
such readers; scanning the metadata's JSON (about half of each row's) and building it from a
dictionary was then about a fifth of an event's decoding in a rebuild.

``recorded`` turns a row into the same ``RecordedEvent`` as ``EventStore.recorded`` does for
a row of ``COLUMNS`` (the store's decoder, upcasters and sealing rules, unchanged).

A reader that needs only the events and their places in the log (the report projection, which
counts cases and never shows who did what) selects ``LOGGED_COLUMNS`` instead: no metadata, no
times, no personal part, and the payload alone as JSON text. ``logged`` turns such a row into a
``LoggedEvent``, through the same registry and upcasters, with the personal fields ``None`` as
a sealed event's are. The metadata was half of each row's JSON; reading it, sending it and
decoding it was about half of such a reader's cost per event.

``recorded_rows`` decodes a whole batch with the cyclic garbage collector paused
(``collector_paused``): a batch's events (tens of thousands of small, acyclic objects, freed
by reference counting) all stay alive until the batch is folded, and while they pile up the
collector would otherwise walk them again and again (a fifth to a third of the decoding time
measured).

A bulk reader also holds the pause over a whole batch, across its statements (read, fold,
write): while a batch is alive, every allocation of the driver during those statements
triggered collections that walked the batch's objects, promoted them and, every few batches,
walked the whole heap (a sixth to a fifth of a rebuild's and a catch-up's time measured). The
pause is counted, so batches of several tasks at once (shelters caught up side by side) keep
the collector paused until the last one ends; the collector runs as usual after it. Cyclic
garbage that other tasks make meanwhile waits for that (one batch: well under a second),
and nothing else changes: a batch's own objects are freed by reference counting either way.

A bulk reader inside the service's process (the report projection) shares the event loop
with the feed's fan-outs and the requests: a catch-up that decodes and folds a case's whole
stream (hundreds of events for a long case) would hold the loop for all of it (up to 22 ms on
the bench's machine), and every live event committed meanwhile would wait that long for its
subscribers. Such a reader decodes and folds in turns (``Turns``, ``logged_rows_in_turns``):
it hands the loop back whenever it has held it for ``TURN_SECONDS``, so other work waits
about that long (plus one case's fold, which is one call).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from service.events.store import COLUMNS, EventStore
from service.events.types import (
    METADATA_FIELDS,
    METADATA_REQUIRED,
    LoggedEvent,
    Metadata,
    RecordedEvent,
    slot_filler,
)

__all__ = [
    "JSON_TEXT_COLUMNS",
    "LOGGED_COLUMNS",
    "TURN_SECONDS",
    "Turns",
    "collector_paused",
    "logged",
    "logged_rows_in_turns",
    "recorded",
    "recorded_rows",
]

_T = TypeVar("_T")

_JSON_PARTS = ("payload", "personal", "metadata")


def _folded(columns: str) -> tuple[str, int]:
    """``columns`` (the store's select list) with the JSON parts, which must follow each other
    in that order: the first two as one JSON text in the first one's place, then the
    metadata's fields (``METADATA_FIELDS``) one column each; and the JSON text's place."""
    names = [c.strip() for c in columns.split(",")]
    at = names.index(_JSON_PARTS[0])
    if tuple(names[at : at + len(_JSON_PARTS)]) != _JSON_PARTS:
        raise ValueError(f"the store's columns no longer hold {_JSON_PARTS} side by side")
    text = f"json_build_array({', '.join(_JSON_PARTS[:2])})::text"
    # Field names are the dataclass's identifiers, never input.
    fields = [f"{_JSON_PARTS[2]}->>'{name}'" for name in METADATA_FIELDS]
    return ", ".join([*names[:at], text, *fields, *names[at + len(_JSON_PARTS) :]]), at


JSON_TEXT_COLUMNS, _JSON_AT = _folded(COLUMNS)
# Where the metadata's fields end in such a row.
_METADATA_END = _JSON_AT + 1 + len(METADATA_FIELDS)
_new_metadata: Callable[..., Metadata] = slot_filler(Metadata)
# The JSON scanner itself: ``json.loads`` adds two whitespace matches and two Python calls per
# row around it, a third of the decoding time of a row's JSON here. The text is the database's
# own rendering of a JSON array, which has no surrounding whitespace.
_scan: Callable[[str, int], tuple[Any, int]] = getattr(json.JSONDecoder(), "scan_once")  # noqa: B009


def recorded(store: EventStore, row: Any) -> RecordedEvent:
    """A row selected as ``JSON_TEXT_COLUMNS`` as a recorded event (see the module)."""
    at = _JSON_AT
    try:
        payload, personal = _scan(row[at], 0)[0]
    except StopIteration as exc:  # what the scanner raises for text that is not JSON
        raise ValueError("an event's stored JSON does not decode") from exc
    fields = row[at + 1 : _METADATA_END]
    if None in fields[:METADATA_REQUIRED]:  # as ``Metadata.from_json`` refuses it
        raise ValueError("an event's stored metadata lacks a required field")
    metadata = _new_metadata(*fields)
    return store.recorded((*row[:at], payload, personal, metadata, *row[_METADATA_END:]))


# An event and its place in the log, the payload as JSON text (``logged``). Its last column is
# named ``transaction_id`` like ``COLUMNS``' last one: order such a select by ``FEED_ORDER``.
LOGGED_COLUMNS = (
    "global_position, tenant_id, stream_id, stream_type, version, event_type, schema_version, "
    "payload::text, transaction_id::text::bigint"
)
_new_logged: Callable[..., LoggedEvent] = slot_filler(LoggedEvent)


def logged(store: EventStore, row: Any) -> LoggedEvent:
    """A row selected as ``LOGGED_COLUMNS`` as a logged event (see the module)."""
    try:
        payload = _scan(row[7], 0)[0]
    except StopIteration as exc:  # what the scanner raises for text that is not JSON
        raise ValueError("an event's stored JSON does not decode") from exc
    event = store.registry.decode(row[5], row[6], payload, None)
    return _new_logged(row[0], row[1], row[2], row[3], row[4], row[5], event, row[8])


class _Pause:
    """How many stretches hold the collector paused, and whether it ran before the first."""

    holders = 0
    resume = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused for a stretch of bulk decoding or folding, or for a
    batch's statements (see the module). Stretches may overlap (several tasks, or nested):
    the collector resumes, if it ran before the first, when the last one ends."""
    if _Pause.holders == 0:
        _Pause.resume = gc.isenabled()
        gc.disable()
    _Pause.holders += 1
    try:
        yield
    finally:
        _Pause.holders -= 1
        if _Pause.holders == 0 and _Pause.resume:
            gc.enable()


def recorded_rows(store: EventStore, rows: Iterable[Any]) -> list[RecordedEvent]:
    """Every row of ``rows`` (selected as ``JSON_TEXT_COLUMNS``), in order, decoded with the
    collector paused."""
    with collector_paused():
        return [recorded(store, row) for row in rows]


# How long a bulk reader in the service's process holds the event loop before it hands it back
# (``Turns``): a live event's delivery then waits about this long behind a catch-up at most.
TURN_SECONDS = 0.002
# Rows decoded between two looks at the clock: well under a millisecond of work.
ROWS_PER_TURN_LOOK = 32


class Turns:
    """One stretch of bulk work that hands the event loop back every ``seconds`` it held it.

    The work calls ``take`` between small steps (a few dozen rows, one case's fold); ``take``
    yields to the loop only once the stretch has held it for ``seconds`` since it last did,
    so a stretch that ends sooner yields nothing.
    """

    __slots__ = ("_clock", "_since", "seconds")

    def __init__(
        self, seconds: float | None = None, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.seconds = TURN_SECONDS if seconds is None else seconds
        self._clock = clock
        self._since = clock()

    async def take(self) -> None:
        """Hand the loop back (one of its turns) if this stretch has held it long enough."""
        if self._clock() - self._since >= self.seconds:
            await asyncio.sleep(0)
            self._since = self._clock()

    async def slices(self, items: Sequence[_T]) -> AsyncIterator[Sequence[_T]]:
        """``items`` a few dozen at a time, with ``take`` after each slice."""
        for start in range(0, len(items), ROWS_PER_TURN_LOOK):
            yield items[start : start + ROWS_PER_TURN_LOOK]
            await self.take()


async def logged_rows_in_turns(
    store: EventStore, rows: Sequence[Any], turns: Turns
) -> list[LoggedEvent]:
    """Every row of ``rows`` (selected as ``LOGGED_COLUMNS``), in order, decoded with the
    collector paused, handing the loop back between slices of rows (``Turns``)."""
    events: list[LoggedEvent] = []
    with collector_paused():
        async for part in turns.slices(rows):
            events += [logged(store, row) for row in part]
    return events


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def compact_json(value: Any) -> str:
    """``value`` as compact JSON text for a bulk statement or a COPY record (dates in ISO
    form, UUIDs as text)."""
    return json.dumps(value, default=_json_default, separators=(",", ":"))
