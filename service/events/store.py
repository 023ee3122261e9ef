"""The event store: append with optimistic concurrency, read a stream, command receipts.

Every function takes an open connection inside a tenant transaction (see
``service.db.tenant_transaction``): the caller owns the unit of work, so that an append, its
inline projections and its idempotency receipt commit or roll back together.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db import after_commit, driver, transaction_memo, transaction_tenant
from service.events.sealing import (
    JsonObject,
    PersonalCipher,
    SealedItem,
    event_purpose,
    is_sealed,
)
from service.events.stream_cache import StreamCache, holds_no_personal_value
from service.events.types import (
    EventRegistry,
    Metadata,
    RecordedEvent,
    SealedPersonal,
    slot_filler,
)


class ConcurrencyConflict(Exception):
    """The stream moved on since the version the command was decided on."""

    def __init__(self, stream_id: uuid.UUID, expected: int, current: int) -> None:
        super().__init__(f"stream is at version {current}, not {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.current = current


class DuplicateReceipt(Exception):
    """A concurrent request with the same idempotency key committed first."""


@dataclass(frozen=True, slots=True)
class Receipt:
    stream_id: uuid.UUID
    command_type: str
    fingerprint: str
    result_version: int


EVENTS_CHANNEL = "safe_future_events"
_WRITER_BEGIN = "SELECT events_writer_begin()"
WRITER_BEGIN = text(_WRITER_BEGIN)

# The whole append in one statement and one round trip, whatever the number of events: the
# version check, one row per event (from arrays, in order; a single event from plain
# parameters, which the driver encodes with less work) and the stream's current version,
# which comes back even when nothing was inserted, so a conflict names it without another
# query. ``events_writer_begin()`` (a filter, so it runs before any row and its identity value
# are made) announces the transaction as an event writer before it takes a transaction id:
# the feed's horizon waits for event writers only (``service.events.feed``). A concurrent
# writer that inserted the same version first makes the insert do nothing
# (``ON CONFLICT DO NOTHING`` waits for it to commit). ``transaction_id`` and ``recorded_at``
# are stamped by the database. ``{notify}`` is empty when the commit is announced after it
# (``EventStore`` with an announcer, in a ``tenant_transaction``); otherwise the NOTIFY rides
# on the returned rows (delivered after commit; repeats within a transaction collapse).
_APPEND = """
WITH cur AS (
    SELECT coalesce(max(version), 0) AS v FROM events WHERE stream_id = $2
), ins AS (
    INSERT INTO events (tenant_id, stream_id, stream_type, version, event_type, schema_version,
                        payload, personal, metadata, occurred_at)
    SELECT $1, $2, $3, {values}, $9::jsonb, $10
    FROM {source}
    WHERE events_writer_begin() AND cur.v = $8
    ON CONFLICT (tenant_id, stream_id, version) DO NOTHING
    RETURNING version, global_position, recorded_at, transaction_id::text::bigint AS tx
)
{receipt}{rider}SELECT cur.v AS current, ins.version, ins.global_position, ins.recorded_at,
       ins.tx{rider_columns}{notify}{saved}
FROM cur LEFT JOIN ins ON true{rider_join}
ORDER BY ins.version
"""
_MANY = {
    "values": "cur.v + e.ord, e.event_type, e.schema_version, e.payload, e.personal",
    "source": "cur, unnest($4::text[], $5::int[], $6::jsonb[], $7::jsonb[])\n"
    "         WITH ORDINALITY AS e(event_type, schema_version, payload, personal, ord)",
}
_ONE = {"values": "cur.v + 1, $4::text, $5::int, $6::jsonb, $7::jsonb", "source": "cur"}
_NOTIFY = (
    f",\n       CASE WHEN ins.version IS NOT NULL THEN pg_notify('{EVENTS_CHANNEL}', $1::text) END"
)
# The command's receipt, when the caller gives it, in the same statement: inserted only when
# the events were (``ON CONFLICT DO NOTHING`` waits for a concurrent request with the same key,
# as ``save_receipt`` does); ``saved`` tells whether it was.
_RECEIPT = """, rec AS (
    INSERT INTO command_receipts (tenant_id, idempotency_key, stream_id, command_type,
                                  fingerprint, result_version)
    SELECT $1, $11, $2, $12, $13, $14 WHERE EXISTS (SELECT FROM ins)
    ON CONFLICT DO NOTHING
    RETURNING 1
)
"""
_SAVED = ",\n       (SELECT count(*) FROM rec) AS saved"
# The parameters of the append's own statement, without and with a receipt; a rider's follow.
_OWN_PARAMETERS = (10, 14)


@dataclass(frozen=True, slots=True)
class Rider:
    """Writes that ride on an append's statement, in its one round trip: an inline projection.

    ``ctes(first)`` gives common table expressions that follow the append's own, each written
    ``, name AS (...)``, their parameters numbered from ``$first`` (``args``, in order); the
    same text for the same ``first`` (statements are prepared by their text). They read the
    inserted events from ``ins`` (``version``, ``global_position``, ``recorded_at``). When the
    append inserts nothing (a version conflict), ``ins`` is empty, ``append`` raises
    ``ConcurrencyConflict``, and whatever the rider wrote is rolled back with the caller's
    transaction. ``returns`` names the expression whose one row of ``columns`` comes back:
    ``append`` hands it to ``returned`` once the events are recorded.
    """

    ctes: Callable[[int], str]
    args: Sequence[Any]
    returns: str
    columns: tuple[str, ...]
    returned: Callable[[tuple[Any, ...]], object]


@functools.lru_cache(maxsize=64)
def _statement(
    one: bool, announced: bool, receipt: bool, rider: tuple[str, str, str] | None
) -> str:
    """The append's statement: one event or many, with its NOTIFY (unless announced after the
    commit), with a receipt, with a rider ((expressions, name, columns) as ``Rider`` gives)."""
    ctes, name, columns = rider if rider is not None else ("", "", "")
    return _APPEND.format(
        **(_ONE if one else _MANY),
        notify="" if announced else _NOTIFY,
        receipt=_RECEIPT if receipt else "",
        saved=_SAVED if receipt else "",
        rider=ctes,
        rider_columns="".join(f", {name}.{c}" for c in columns.split()),
        rider_join=f" LEFT JOIN {name} ON true" if rider is not None else "",
    )


_CURRENT_VERSION = "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1"

COLUMNS = (
    "global_position, tenant_id, stream_id, stream_type, version, event_type, schema_version, "
    "payload, personal, metadata, occurred_at, recorded_at, transaction_id::text::bigint"
)
# The feed's order, for statements that select ``COLUMNS``: qualified, because an output
# column takes a bare name first, and ``COLUMNS``' last one is named ``transaction_id`` too
# (the cast to bigint): ``ORDER BY transaction_id`` would sort on it, read and sort every
# row of the tenant after the position instead of walking the ``events_feed`` index.
FEED_ORDER = "events.transaction_id, events.global_position"


# A stream's reads. ``{key}`` is the cipher's column that reads the stream's key in the same
# statement (``PersonalCipher.stream_key_column``), or NULL; it is the first column, so the
# events' columns keep their places.
_READ_STREAM = (
    "SELECT {key}, " + COLUMNS + " FROM events WHERE stream_id = $1 ORDER BY version"  # noqa: S608
)
# Without events (a stream that does not exist yet, or none after version $3) the one row still
# carries the key.
_RECEIPT_AND_STREAM = (
    "SELECT {key}, r.stream_id, r.command_type, r.fingerprint, r.result_version, "  # noqa: S608
    + ", ".join(f"e.{c.strip()}" for c in COLUMNS.split(","))
    + " FROM (SELECT 1) AS one"
    " LEFT JOIN command_receipts AS r ON r.idempotency_key = $2"
    " LEFT JOIN events AS e ON e.stream_id = $1 AND e.version > $3 ORDER BY e.version"
)
# The transaction memo's entry for the streams as commands read them (stored form), by id.
_READ_FOR_COMMAND = "store.read_for_command"


_new_recorded: Callable[..., RecordedEvent] = slot_filler(RecordedEvent)


class EventStore:
    """Reads and appends events of one registry of event types.

    With a ``cipher`` (``service.privacy``), the personal part of every appended event is
    sealed with the client's key before it is written (a part without a value is left out),
    and ``read_stream`` opens it again.

    With a ``stream_cache`` (``service.events.stream_cache``), a command's read of its stream
    reads only the events after the beginning of it that the cache keeps; the store keeps a
    stream in it once the transaction that read or extended it has committed.

    With ``announce`` (``service.events.announce.CommitAnnouncer.committed``), an append in a
    ``tenant_transaction`` sends no NOTIFY itself: ``announce(tenant_id)`` is called once the
    transaction has committed. Without it (tools, tests), or in another kind of transaction,
    the append NOTIFYs in its own transaction as it always did: every append is announced.
    """

    def __init__(
        self,
        registry: EventRegistry,
        on_append: Callable[[int], object] | None = None,
        cipher: PersonalCipher | None = None,
        announce: Callable[[uuid.UUID], object] | None = None,
        stream_cache: StreamCache | None = None,
    ) -> None:
        self.registry = registry
        self._on_append = on_append
        self.cipher = cipher
        self.announce = announce
        self.stream_cache = stream_cache
        key = "NULL" if cipher is None else cipher.stream_key_column("$1")
        self._read_stream = _READ_STREAM.format(key=key)
        self._receipt_and_stream = _RECEIPT_AND_STREAM.format(key=key)

    def recorded(self, row: Any) -> RecordedEvent:
        """A stored row (selected as ``COLUMNS``) as a recorded event, upcast if need be.

        A sealed personal part is not opened here (that needs the client's key): its fields
        read as ``None`` and the envelope waits in ``sealed`` for ``open``. The metadata
        (``row[9]``) is its stored JSON, or a ``Metadata`` a bulk reader built from its
        fields (``service.events.bulk_read.recorded``).
        """
        if is_sealed(row[8]):
            event = self.registry.decode(row[5], row[6], row[7], None)
            sealed: SealedPersonal | None = SealedPersonal(row[7], row[8])
        else:
            event, sealed = self.registry.decode(row[5], row[6], row[7], row[8]), None
        metadata = row[9]
        if not isinstance(metadata, Metadata):
            metadata = Metadata.from_json(metadata)
        # RecordedEvent's fields in order (a log replay builds millions: see ``slot_filler``).
        return _new_recorded(
            row[0], row[1], row[2], row[3], row[4], row[5], row[6], event,
            metadata, row[10], row[11], row[12], sealed,
        )  # fmt: skip

    async def open(
        self, conn: AsyncConnection, events: Sequence[RecordedEvent]
    ) -> list[RecordedEvent]:
        """``events`` with their sealed personal parts decrypted, one key query per batch.

        ``conn`` must be a tenant transaction of the events' tenant. Events of an erased client
        keep ``None`` personal fields; a tampered ciphertext raises ``TamperedCiphertext``.
        Without a cipher, sealed events are returned as they are.
        """
        pending = [(i, e, e.sealed) for i, e in enumerate(events) if e.sealed is not None]
        if not pending or self.cipher is None:
            return list(events)
        opened = await self.cipher.open_many(
            conn,
            [
                SealedItem(
                    e.tenant_id, e.stream_id, event_purpose(e.event_type, e.version), s.envelope
                )
                for _, e, s in pending
            ],
        )
        out = list(events)
        for (i, e, s), personal in zip(pending, opened, strict=True):
            event = self.registry.decode(e.event_type, e.schema_version, s.payload, personal)
            out[i] = dataclasses.replace(e, event=event, sealed=None)
        return out

    async def read_stream(self, conn: AsyncConnection, stream_id: uuid.UUID) -> list[RecordedEvent]:
        rows = await (await driver(conn)).fetch(self._read_stream, stream_id)
        if rows and self.cipher is not None:
            self.cipher.remember_key(conn, stream_id, rows[0][0])
        return await self.open(conn, [self.recorded(tuple(row)[1:]) for row in rows])

    async def read_stream_after_receipt(
        self, conn: AsyncConnection, stream_id: uuid.UUID, key: str | None
    ) -> tuple[Receipt | None, list[RecordedEvent]]:
        """The receipt of idempotency ``key`` (if any) and the stream, in one round trip.

        A command looks for its receipt first and reads the stream unless it finds one: both
        in one statement, with the stream's key when there is a cipher (which the command
        needs to seal new events and fingerprint the request). The events come as
        ``recorded`` makes them, their sealed personal parts not opened: a command opens them
        (``open``) only when its fold or its read-model row needs their values.

        In a tenant transaction, with a ``stream_cache``, only the events after the beginning
        of the stream the cache keeps for the tenant are read. The stream is remembered for
        ``append`` and kept once the transaction commits.
        """
        cache = self.stream_cache
        tenant = None if cache is None else transaction_tenant(conn)
        known = () if cache is None or tenant is None else cache.get(tenant, stream_id)
        rows = await (await driver(conn)).fetch(
            self._receipt_and_stream, stream_id, key, known[-1].version if known else 0
        )
        first = rows[0]  # the key's and receipt's columns repeat on every row; at least one
        if self.cipher is not None:
            self.cipher.remember_key(conn, stream_id, first[0])
        if first[1] is not None:
            return Receipt(first[1], first[2], first[3], first[4]), []
        events = [*known, *(self.recorded(tuple(r)[5:]) for r in rows if r[5] is not None)]
        if cache is not None and tenant is not None:
            self._remember(conn, cache, tenant, stream_id, events, len(known))
        return None, events

    def _remember(
        self,
        conn: AsyncConnection,
        cache: StreamCache,
        tenant: uuid.UUID,
        stream_id: uuid.UUID,
        events: Sequence[RecordedEvent],
        checked: int,
    ) -> None:
        """Remember ``events`` (the stream as stored) for this transaction's append, and keep
        them in ``cache`` once it commits; not when one holds a personal value in the clear
        (a store without a cipher), which is never kept. The first ``checked`` came from the
        cache."""
        memo = transaction_memo(conn)
        if memo is None or not holds_no_personal_value(events[checked:]):
            return
        stream = tuple(events)
        memo.setdefault(_READ_FOR_COMMAND, {})[stream_id] = stream
        if len(events) > checked:
            after_commit(conn, functools.partial(cache.put, tenant, stream_id, stream))

    def _extend_remembered(
        self,
        conn: AsyncConnection,
        stream_id: uuid.UUID,
        expected_version: int,
        recorded: Sequence[RecordedEvent],
        encoded: Sequence[tuple[str, int, JsonObject, Any]],
    ) -> None:
        """After an append: the stream this transaction's command read, with the new events
        as the log holds them (personal parts sealed), kept once it commits."""
        cache, memo = self.stream_cache, transaction_memo(conn)
        tenant = transaction_tenant(conn)
        if cache is None or memo is None or tenant is None:
            return
        read = memo.get(_READ_FOR_COMMAND, {}).get(stream_id)
        if read is None or (read[-1].version if read else 0) != expected_version:
            return
        stored = [self._as_stored(r, e) for r, e in zip(recorded, encoded, strict=True)]
        self._remember(conn, cache, tenant, stream_id, [*read, *stored], len(read))

    def _as_stored(
        self, recorded: RecordedEvent, encoded: tuple[str, int, JsonObject, Any]
    ) -> RecordedEvent:
        """An appended event as ``recorded`` reads it back: a sealed part stays sealed."""
        event_type, schema_version, public, personal = encoded
        if not is_sealed(personal):
            return recorded  # no personal part, or one in the clear (never kept)
        return dataclasses.replace(
            recorded,
            event=self.registry.decode(event_type, schema_version, public, None),
            sealed=SealedPersonal(public, personal),
        )

    async def read_streams(
        self, conn: AsyncConnection, stream_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[RecordedEvent]]:
        """The events of several streams in one statement, each oldest first, personal parts
        still sealed (``open`` them for a caller allowed to see them)."""
        result = await conn.execute(
            text(
                f"SELECT {COLUMNS} FROM events WHERE stream_id = ANY(:ids) "  # noqa: S608
                "ORDER BY stream_id, version"
            ),
            {"ids": list(stream_ids)},
        )
        out: dict[uuid.UUID, list[RecordedEvent]] = {s: [] for s in stream_ids}
        for row in result:
            out[row[2]].append(self.recorded(row))
        return out

    async def current_version(self, conn: AsyncConnection, stream_id: uuid.UUID) -> int:
        version = await conn.scalar(
            text("SELECT coalesce(max(version), 0) FROM events WHERE stream_id = :s"),
            {"s": stream_id},
        )
        return int(version or 0)

    async def append(
        self,
        conn: AsyncConnection,
        *,
        tenant_id: uuid.UUID,
        stream_id: uuid.UUID,
        stream_type: str,
        expected_version: int,
        events: Sequence[Any],
        metadata: Metadata,
        occurred_at: dt.datetime,
        receipt: tuple[str, Receipt] | None = None,
        riding: Callable[[Sequence[RecordedEvent]], Rider] | None = None,
    ) -> list[RecordedEvent]:
        """Append ``events`` after ``expected_version``, or raise ``ConcurrencyConflict``.

        One statement (``_APPEND``) checks the version and inserts every event; a concurrent
        writer that inserted the same version first makes it insert nothing (it waits for that
        writer to commit). Either way the caller's transaction is rolled back by the
        exception, so nothing of it is kept.

        ``receipt`` (idempotency key, receipt) is saved by the same statement, as
        ``save_receipt`` would after it: ``DuplicateReceipt`` if another request with that key
        committed first. Its ``result_version`` must be the version the events reach.

        With ``riding``, the writes of ``riding(pending)`` (a ``Rider``) go in the same
        statement. ``pending`` are the events as they are about to be recorded; what the
        database stamps on them is not known yet and reads as a placeholder
        (``global_position`` and ``transaction_id`` 0, ``recorded_at`` the ``occurred_at``): a
        rider takes those from ``ins``.
        """
        if receipt is not None and receipt[1].result_version != expected_version + len(events):
            raise ValueError("a receipt saved with an append records the version it reaches")
        encoded = [self.registry.encode(event) for event in events]
        raw = await driver(conn)
        if self.cipher is not None:
            # Personal parts are sealed with the client's key: no plaintext reaches the log.
            # A part without a value (every personal field None) has nothing to seal and is
            # left out: the event reads back the same, its personal fields None.
            personal_at = []
            for i, enc in enumerate(encoded):
                if enc[3] is None:
                    continue
                if all(value is None for value in enc[3].values()):
                    encoded[i] = (*enc[:3], None)
                    continue
                personal_at.append((i, event_purpose(enc[0], expected_version + i + 1), enc[3]))
            if personal_at:
                # Creating the client's key writes a row: the transaction is announced as an
                # event writer before that write (before it takes a transaction id); with the
                # key there already, the append's own statement announces it.
                sealed = await self.cipher.seal_many(
                    conn,
                    tenant_id,
                    stream_id,
                    [(purpose, p) for _, purpose, p in personal_at],
                    before_creating=functools.partial(raw.execute, _WRITER_BEGIN),
                )
                for (i, _, _), envelope in zip(personal_at, sealed, strict=True):
                    encoded[i] = (*encoded[i][:3], envelope)
        announced = self.announce is not None and after_commit(
            conn, functools.partial(self.announce, tenant_id)
        )
        kept: tuple[Any, ...] = ()
        if receipt is not None:
            key, saved = receipt
            kept = (key, saved.command_type, saved.fingerprint, saved.result_version)
        rider = None
        if riding is not None:
            rider = riding([
                RecordedEvent(
                    0, tenant_id, stream_id, stream_type, expected_version + i, enc[0], enc[1],
                    event, metadata, occurred_at, occurred_at, 0,
                )
                for i, (event, enc) in enumerate(zip(events, encoded, strict=True), start=1)
            ])  # fmt: skip
            kept += tuple(rider.args)
        statement = _statement(
            len(encoded) == 1,
            announced,
            receipt is not None,
            None
            if rider is None
            else (
                rider.ctes(_OWN_PARAMETERS[receipt is not None] + 1),
                rider.returns,
                " ".join(rider.columns),
            ),
        )
        if len(encoded) == 1:
            ((kind, schema, payload, personal),) = encoded
            rows = await raw.fetch(
                statement,
                tenant_id,
                stream_id,
                stream_type,
                kind,
                schema,
                json.dumps(payload),
                None if personal is None else json.dumps(personal),
                expected_version,
                json.dumps(metadata.to_json()),
                occurred_at,
                *kept,
            )
        else:
            rows = await raw.fetch(
                statement,
                tenant_id,
                stream_id,
                stream_type,
                [e[0] for e in encoded],
                [e[1] for e in encoded],
                [json.dumps(e[2]) for e in encoded],
                [None if e[3] is None else json.dumps(e[3]) for e in encoded],
                expected_version,
                json.dumps(metadata.to_json()),
                occurred_at,
                *kept,
            )
        inserted = [r for r in rows if r[1] is not None]
        if len(inserted) != len(events):
            current = int(rows[0][0])
            if current == expected_version:  # a concurrent writer inserted first
                current = int(await raw.fetchval(_CURRENT_VERSION, stream_id))
            raise ConcurrencyConflict(stream_id, expected_version, current)
        if receipt is not None and not rows[0][-1]:
            raise DuplicateReceipt(receipt[0])
        recorded = [
            RecordedEvent(
                global_position=row[2],
                tenant_id=tenant_id,
                stream_id=stream_id,
                stream_type=stream_type,
                version=row[1],
                event_type=enc[0],
                schema_version=enc[1],
                event=event,
                metadata=metadata,
                occurred_at=occurred_at,
                recorded_at=row[3],
                transaction_id=row[4],
            )
            for row, event, enc in zip(inserted, events, encoded, strict=True)
        ]
        if self.stream_cache is not None:
            self._extend_remembered(conn, stream_id, expected_version, recorded, encoded)
        if self._on_append is not None:
            self._on_append(len(recorded))
        if rider is not None:
            rider.returned(tuple(inserted[0][5 : 5 + len(rider.columns)]))
        return recorded

    async def find_receipt(self, conn: AsyncConnection, key: str) -> Receipt | None:
        row = await (await driver(conn)).fetchrow(
            "SELECT stream_id, command_type, fingerprint, result_version "
            "FROM command_receipts WHERE idempotency_key = $1",
            key,
        )
        return None if row is None else Receipt(row[0], row[1], row[2], row[3])

    async def save_receipt(
        self,
        conn: AsyncConnection,
        *,
        tenant_id: uuid.UUID,
        key: str,
        receipt: Receipt,
    ) -> None:
        """Record a command's first result; ``DuplicateReceipt`` if another request won.

        ``ON CONFLICT DO NOTHING`` waits for a concurrent request with the same key to end:
        if it committed, nothing is inserted here (no savepoint needed to survive it).
        """
        inserted = await (await driver(conn)).fetchval(
            "INSERT INTO command_receipts (tenant_id, idempotency_key, stream_id, "
            "command_type, fingerprint, result_version) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            tenant_id,
            key,
            receipt.stream_id,
            receipt.command_type,
            receipt.fingerprint,
            receipt.result_version,
        )
        if inserted is None:
            raise DuplicateReceipt(key)
