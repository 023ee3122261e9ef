"""The async projection behind the reports: follows each shelter's feed into ``report_cases``.

Per shelter, one transaction per batch (as the service role, with that shelter's tenant
setting, so row-level security holds): take the (projection, tenant) advisory lock, read the
checkpoint and the next batch of the feed (gap-free, below the visibility horizon), recompute
the report row of every case the batch touches from the case's whole stream, upsert the rows
and the checkpoint (which counts the events applied), commit. Rows and checkpoint commit
together or not at all, so each event takes effect exactly once, also after a crash; the lock
keeps two runners (two service instances) from projecting the same shelter at once, and
takes no transaction id, so a runner that is reading holds no other reader's horizon back.
It reads each event without its metadata, times and personal part (``LoggedEvent``): a
report row counts a case's facts and never says who did what, or to whom.

A rebuild replays a shelter's whole log with the same code and replaces its rows and
checkpoint in one transaction: the rebuilt read model equals the live one.

``ReportProjection`` runs this in the background: woken after commits of this process
(``wake``, called by ``service.events.announce``) and by other processes' NOTIFY (payload: the
tenant id), ``SETTLE_SECONDS`` after the first commit of a burst and, while commits keep
coming, once per ``BUSY_INTERVAL_SECONDS``; and by a periodic poll that catches what a lost
notification would miss.

The projection shares the service's event loop with the feed's fan-outs and the requests, so
it decodes and folds in turns (``service.events.bulk_read.Turns``): a catch-up that re-reads
a long case's stream holds the loop for about ``TURN_SECONDS`` at a time, not for the whole
stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.db import create_app_engine, driver, tenant_transaction
from service.domain.errors import InvalidEventSequence
from service.domain.return_case import EVENT_TYPES
from service.events.bulk_read import (
    LOGGED_COLUMNS,
    Turns,
    collector_paused,
    compact_json,
    logged,
    logged_rows_in_turns,
)
from service.events.cursor import START, FeedPosition
from service.events.feed import horizon, is_held_back, position_of
from service.events.store import EVENTS_CHANNEL, FEED_ORDER, EventStore
from service.events.types import EventRegistry, InLog, LoggedEvent, UnknownEventType
from service.handlers.return_case import STREAM_TYPE
from service.reports.model import REPORT_COLUMNS, report_row, transferred_out

__all__ = [
    "PROJECTION",
    "CatchUp",
    "ReportProjection",
    "catch_up_all",
    "catch_up_tenant",
    "pause_before_catch_up",
    "project_next_batch",
    "read_batch",
    "rebuild_all",
    "rebuild_reports",
    "rebuild_tenant",
    "shelter_ids",
    "start_report_projection",
]

log = logging.getLogger("service.reports")
_E = TypeVar("_E", bound=InLog)

PROJECTION = "report_cases"
# A catch-up starts with small batches (near the head of the feed the transaction that writes
# stays short) and grows them fourfold while they come back full (far behind), up to this.
BATCH_SIZE = 500
# After a wake-up the projection waits this long before it catches up, so that a burst of
# commits (one per mutation) costs one catch-up per shelter, not one per commit: reports are
# read by people, a quarter of a second late is never noticed, and every mutation's process
# saves a transaction of about eight statements.
SETTLE_SECONDS = 0.25
# While commits keep coming, the catch-ups start at most this often: a shelter's reports are
# then at most about a second behind, and each catch-up (a transaction of about ten
# statements, and a fresh fold of every case it touches) serves four times the commits.
BUSY_INTERVAL_SECONDS = 1.0
MAX_BATCH_SIZE = 8000

_FORGET_TRANSFERRED = text("DELETE FROM report_cases WHERE case_id = ANY(:ids)")
# Every row of a batch in one statement: the rows travel as one JSON array.
_UPSERT_MANY = text(
    f"INSERT INTO report_cases ({', '.join(REPORT_COLUMNS)}) "  # noqa: S608
    f"SELECT {', '.join(REPORT_COLUMNS)} FROM "
    "jsonb_populate_recordset(NULL::report_cases, CAST(CAST(:rows AS text) AS jsonb)) "
    "ON CONFLICT (tenant_id, case_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in REPORT_COLUMNS[2:])
)
# The projection's reads go to the driver and read each event without its metadata, times and
# personal part, the payload as one JSON text (``service.events.bulk_read.LOGGED_COLUMNS``):
# catching up decodes every event of the log, and reports never show who did what.
_STREAMS = (
    f"SELECT {LOGGED_COLUMNS} FROM events "  # noqa: S608 (constants)
    "WHERE stream_id = ANY($1::uuid[]) AND stream_type = $2 ORDER BY stream_id, version"
)
# ``read_feed``'s statement for the projection's filter (case events of the registry's types),
# with the same order, resume condition and horizon; the horizon is read before it, in a
# statement of its own, as ``read_feed`` does (see ``service.events.feed``).
_FEED_BATCH = (
    f"SELECT {LOGGED_COLUMNS} FROM events "  # noqa: S608 (constants)
    "WHERE transaction_id < $1::text::xid8 "
    "AND (transaction_id, global_position) > ($2::text::xid8, $3) "
    "AND stream_type = $4 AND event_type = ANY($5::text[]) "
    f"ORDER BY {FEED_ORDER} LIMIT $6"
)
_LATEST = text(
    "SELECT stream_id, max(version) FROM events WHERE stream_id = ANY(:ids) "
    "AND stream_type = :type GROUP BY stream_id"
)
# A transaction-level advisory lock per (projection, tenant): it takes no transaction id, so
# a runner reading the feed does not hold the visibility horizon back for other readers.
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('report:' || :p), hashtext(CAST(:t AS text)))")
_CHECKPOINT = text(
    "SELECT transaction_id, global_position FROM report_checkpoints "
    "WHERE tenant_id = :t AND projection = :p"
)
_SAVE_CHECKPOINT = text(
    "INSERT INTO report_checkpoints AS c (tenant_id, projection, transaction_id, "
    "global_position, events_applied) VALUES (:t, :p, :tx, :pos, :n) "
    "ON CONFLICT (tenant_id, projection) DO UPDATE SET transaction_id = excluded.transaction_id, "
    "global_position = excluded.global_position, "
    "events_applied = c.events_applied + excluded.events_applied, updated_at = now()"
)
_SET_CHECKPOINT = text(
    "INSERT INTO report_checkpoints (tenant_id, projection, transaction_id, global_position, "
    "events_applied) VALUES (:t, :p, :tx, :pos, :n) ON CONFLICT (tenant_id, projection) "
    "DO UPDATE SET transaction_id = excluded.transaction_id, "
    "global_position = excluded.global_position, events_applied = excluded.events_applied, "
    "updated_at = now()"
)


def pause_before_catch_up(since_last: float, settle: float, busy_interval: float) -> float:
    """How long a woken projection waits before it catches up, ``since_last`` seconds after
    its last catch-up began: ``settle`` after a quiet spell, so the commits of a burst gather;
    while commits keep coming, until ``busy_interval`` has passed since the last one."""
    return max(settle, busy_interval - since_last)


@dataclass(frozen=True, slots=True)
class CatchUp:
    """What one catch-up did: events applied, and whether committed events are held back."""

    applied: int
    held_back: bool


async def read_batch(
    conn: AsyncConnection, store: EventStore, after: FeedPosition, limit: int
) -> list[LoggedEvent]:
    """The projection's next ``limit`` events after ``after``: the events ``read_feed``
    returns for the case events of the store's registry (same order, horizon and held-back
    events), without their metadata, times and personal parts (``LoggedEvent``), read through
    the driver with one JSON decode per row, decoded in turns
    (``service.events.bulk_read.Turns``: the projection shares the service's event loop)."""
    # The horizon first, in its own statement: the events' statement then has a later
    # snapshot, in which every event writer below the horizon has finished.
    below = await horizon(conn)
    rows = await (await driver(conn)).fetch(
        _FEED_BATCH,
        below,
        str(after.transaction_id),
        after.global_position,
        STREAM_TYPE,
        sorted(store.registry.event_types),
        limit,
    )
    return await logged_rows_in_turns(store, rows, Turns())


async def shelter_ids(engine: AsyncEngine) -> list[uuid.UUID]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT id FROM tenants WHERE kind = 'shelter' ORDER BY slug")
        )
        return [row[0] for row in result]


async def _lock(conn: AsyncConnection, tenant_id: uuid.UUID, projection: str) -> FeedPosition:
    """Serialise runners of one (projection, tenant); the checkpoint to resume from."""
    params = {"t": str(tenant_id), "p": projection}
    await conn.execute(_LOCK, params)
    row = (await conn.execute(_CHECKPOINT, {"t": tenant_id, "p": projection})).first()
    return START if row is None else FeedPosition(int(row[0]), int(row[1]))


_UNREADABLE = (InvalidEventSequence, UnknownEventType, ValueError, KeyError, TypeError)


async def _fold(
    streams: Mapping[uuid.UUID, Sequence[InLog]], unreadable: set[uuid.UUID], turns: Turns
) -> list[dict[str, Any]]:
    """The report row of every stream, in turns; a stream that does not fold is skipped
    (logged)."""
    rows = []
    for stream_id in sorted(set(streams) | unreadable):
        await turns.take()
        if stream_id not in unreadable:
            try:
                if transferred_out(streams[stream_id]):
                    continue  # counted by the receiving shelter's case
                rows.append(report_row(streams[stream_id]))
                continue
            except _UNREADABLE:
                pass
        log.error("report projection skipped an unreadable stream %s", stream_id)
    return rows


async def _rows(
    conn: AsyncConnection, store: EventStore, ids: Sequence[uuid.UUID]
) -> list[dict[str, Any]]:
    """The report rows of the cases ``ids``, each folded from its whole stream.

    A stream the decider could not have written (an unknown event type, a payload that does
    not decode, a sequence that does not fold) is skipped with an error naming only its id:
    a poisoned stream must not stop the reports of every other case.
    """
    streams: dict[uuid.UUID, list[LoggedEvent]] = {}
    unreadable: set[uuid.UUID] = set()
    rows = await (await driver(conn)).fetch(_STREAMS, list(ids), STREAM_TYPE)
    turns = Turns()
    async for part in turns.slices(rows):
        for row in part:
            try:
                streams.setdefault(row[2], []).append(logged(store, row))
            except _UNREADABLE:
                unreadable.add(row[2])
    return await _fold(streams, unreadable, turns)


async def _whole_in_batch(
    conn: AsyncConnection, batch: Sequence[_E]
) -> tuple[dict[uuid.UUID, list[_E]], list[uuid.UUID]]:
    """Split the case streams ``batch`` touches: those it holds whole (folded from the batch
    alone) and the others (read again from the log, as before).

    A stream is whole when the batch has it from version 1 without a gap, in version order,
    up to the stream's latest version in the log (one index lookup per batch): then reading
    the stream again would return exactly these events. Any other stream (begun in an earlier
    batch, moved on since, holding an event the registry does not know, or arriving out of
    version order) is read in full, so the rows are the same as before; catching up a long log
    then reads each event about once.

    The feed's order (by transaction) almost always has a stream's events in version order,
    and they are not sorted: a stream whose events arrive otherwise (a transaction that took
    its id before the one that wrote the stream's previous version) is checked in the same
    pass and read again in version order.
    """
    by_stream: dict[uuid.UUID, list[_E]] = {}
    for e in batch:
        if e.stream_type == STREAM_TYPE:
            by_stream.setdefault(e.stream_id, []).append(e)
    candidates = {sid: events for sid, events in by_stream.items() if _from_the_start(events)}
    latest: dict[uuid.UUID, int] = {}
    if candidates:
        result = await conn.execute(_LATEST, {"ids": list(candidates), "type": STREAM_TYPE})
        latest = {row[0]: int(row[1]) for row in result}
    whole = {sid: events for sid, events in candidates.items() if latest.get(sid) == len(events)}
    return whole, sorted(set(by_stream) - set(whole))


def _from_the_start(events: Sequence[InLog]) -> bool:
    """Whether ``events`` are versions 1, 2, ... of their stream, in that order."""
    return all(e.version == n for n, e in enumerate(events, start=1))


async def _apply(
    conn: AsyncConnection,
    store: EventStore,
    tenant_id: uuid.UUID,
    batch: Sequence[LoggedEvent],
    projection: str,
) -> None:
    """Recompute the rows of the cases ``batch`` touches and move the checkpoint past it."""
    whole, partial = await _whole_in_batch(conn, batch)
    with collector_paused():
        rows = await _fold(whole, set(), Turns())
    if partial:
        rows += await _rows(conn, store, partial)
    if rows:
        await conn.execute(_UPSERT_MANY, {"rows": compact_json(rows)})
    if any(e.event_type == "ReturnCaseTransferred" for e in batch):
        # A case transferred to another shelter is counted there: its row goes here.
        kept = [row["case_id"] for row in rows]
        gone = [
            e.stream_id
            for e in batch
            if e.event_type == "ReturnCaseTransferred" and e.stream_id not in kept
        ]
        await conn.execute(_FORGET_TRANSFERRED, {"ids": gone})
    last = position_of(batch[-1])
    await conn.execute(
        _SAVE_CHECKPOINT,
        {
            "tx": last.transaction_id,
            "pos": last.global_position,
            "n": len(batch),
            "t": tenant_id,
            "p": projection,
        },
    )


async def project_next_batch(
    conn: AsyncConnection,
    store: EventStore,
    tenant_id: uuid.UUID,
    batch_size: int = BATCH_SIZE,
    projection: str = PROJECTION,
) -> tuple[list[LoggedEvent], bool]:
    """In the caller's transaction: lock the checkpoint, apply the next batch, move it.

    Returns the batch, and whether committed events beyond a short batch are still held back
    by the horizon. Nothing is kept unless the caller commits. ``projection`` names the
    checkpoint (tests follow the feed under a name of their own).
    """
    position = await _lock(conn, tenant_id, projection)
    # The collector is paused while the batch is read and applied (``collector_paused``),
    # once the lock is held: waiting for another runner's batch does not keep it paused.
    with collector_paused():
        batch = await read_batch(conn, store, position, batch_size)
        end = position_of(batch[-1]) if batch else position
        # Checked before writing: until its first write the transaction has no id, so it
        # holds nobody's horizon back while it reads.
        held_back = len(batch) < batch_size and await is_held_back(conn, end)
        if batch:
            await _apply(conn, store, tenant_id, batch, projection)
    return batch, held_back


async def catch_up_tenant(
    engine: AsyncEngine,
    store: EventStore,
    tenant_id: uuid.UUID,
    *,
    batch_size: int = BATCH_SIZE,
    max_batch_size: int = MAX_BATCH_SIZE,
    projection: str = PROJECTION,
) -> CatchUp:
    """Apply every event of the tenant's feed after its checkpoint, one batch per transaction.

    Batches start at ``batch_size`` and grow fourfold, up to ``max_batch_size``, while they
    come back full: a shelter far behind is caught up in few transactions, one near the head
    in a short one.
    """
    applied, size = 0, batch_size
    while True:
        async with tenant_transaction(engine, tenant_id) as conn:
            batch, held_back = await project_next_batch(conn, store, tenant_id, size, projection)
        count = len(batch)
        del batch  # freed now, by reference counting, not walked by the next collections
        applied += count
        if count < size:
            return CatchUp(applied, held_back)
        size = max(size, min(size * 4, max_batch_size))


async def rebuild_tenant(
    engine: AsyncEngine, store: EventStore, tenant_id: uuid.UUID, *, batch_size: int = 2000
) -> int:
    """Replace the tenant's rows by a replay of its whole log, in one transaction.

    The log is read first and the rows are written at the end, so the transaction takes an id
    (and holds the horizon of other feed readers back) only while it writes.
    """
    rows: dict[uuid.UUID, dict[str, Any]] = {}
    applied, position = 0, START
    async with tenant_transaction(engine, tenant_id) as conn:
        await _lock(conn, tenant_id, PROJECTION)
        while True:
            batch = await read_batch(conn, store, position, batch_size)
            if batch:
                touched = sorted({e.stream_id for e in batch if e.stream_type == STREAM_TYPE})
                rows.update((row["case_id"], row) for row in await _rows(conn, store, touched))
                position = position_of(batch[-1])
            applied += len(batch)
            if len(batch) < batch_size:
                break
        await conn.execute(text("DELETE FROM report_cases WHERE tenant_id = :t"), {"t": tenant_id})
        values = list(rows.values())
        for start in range(0, len(values), 1000):
            await conn.execute(_UPSERT_MANY, {"rows": compact_json(values[start : start + 1000])})
        await conn.execute(
            _SET_CHECKPOINT,
            {
                "tx": position.transaction_id,
                "pos": position.global_position,
                "n": applied,
                "t": tenant_id,
                "p": PROJECTION,
            },
        )
    return applied


# Shelters caught up at once by ``catch_up_all``: each is its own transactions, lock and
# checkpoint, so one shelter's Python work (decoding, folding) overlaps the others' statements.
CONCURRENT_SHELTERS = 3


async def catch_up_all(
    engine: AsyncEngine,
    store: EventStore,
    *,
    patience: float = 5.0,
    concurrency: int = CONCURRENT_SHELTERS,
) -> CatchUp:
    """Catch every shelter up: a deterministic state for tests and the command line.

    Events of a transaction that committed while an older one was still open are held back
    by the horizon; this waits up to ``patience`` seconds per shelter for them. Up to
    ``concurrency`` shelters are caught up at once (each on a connection of its own).
    """
    loop = asyncio.get_running_loop()
    shelters = iter(await shelter_ids(engine))
    totals: list[CatchUp] = []

    async def follow() -> None:
        applied, held_back = 0, False
        for tenant_id in shelters:  # shared: every shelter is taken by one of the runners
            deadline = loop.time() + patience
            while True:
                result = await catch_up_tenant(engine, store, tenant_id)
                applied += result.applied
                if not result.held_back or loop.time() > deadline:
                    break
                await asyncio.sleep(0.02)
            held_back = held_back or result.held_back
        totals.append(CatchUp(applied, held_back))

    async with asyncio.TaskGroup() as group:
        for _ in range(max(1, concurrency)):
            group.create_task(follow())
    return CatchUp(sum(t.applied for t in totals), any(t.held_back for t in totals))


async def rebuild_all(engine: AsyncEngine, store: EventStore) -> int:
    return sum([await rebuild_tenant(engine, store, t) for t in await shelter_ids(engine)])


async def rebuild_reports(app_url: URL) -> int:
    """Rebuild every shelter's report rows as the service role (the command line's entry)."""
    engine = create_app_engine(app_url, 2)
    try:
        return await rebuild_all(engine, EventStore(EventRegistry(EVENT_TYPES)))
    finally:
        await engine.dispose()


class ReportProjection:
    """Keeps ``report_cases`` up to date in the background of one service process."""

    def __init__(
        self,
        engine: AsyncEngine,
        store: EventStore,
        connect: Callable[[], Awaitable[Any]] | None,
        *,
        poll_seconds: float = 5.0,
        settle_seconds: float = SETTLE_SECONDS,
        busy_interval_seconds: float = BUSY_INTERVAL_SECONDS,
        own_notification: Callable[[int], bool] | None = None,
    ) -> None:
        self._engine = engine
        # Notifications this process sent itself (see ``FeedHub``): already woken by a call.
        self._own_notification = own_notification
        self._store = store
        self._connect = connect
        self.poll_seconds = poll_seconds
        self.settle_seconds = settle_seconds
        self.busy_interval_seconds = busy_interval_seconds
        self._shelters: list[uuid.UUID] = []
        self._dirty: set[uuid.UUID] = set()
        self._wake = asyncio.Event()
        self._listener: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._listen()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()

    async def _listen(self) -> None:
        """LISTEN for appends; without it the poll still brings every event in."""
        if self._connect is None or self._listener is not None:
            return
        try:
            conn = await self._connect()
            await conn.add_listener(EVENTS_CHANNEL, self._on_event)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("report projection cannot listen (%s); polling", type(exc).__name__)
            return
        conn.add_termination_listener(self._on_listener_lost)
        self._listener = conn

    def _on_listener_lost(self, _conn: Any) -> None:
        self._listener = None

    def _on_event(self, _conn: Any, pid: int, _channel: str, payload: str) -> None:
        if self._own_notification is not None and self._own_notification(pid):
            return
        with contextlib.suppress(ValueError):
            self.wake(uuid.UUID(payload))

    def wake(self, tenant_id: uuid.UUID) -> None:
        """Events of ``tenant_id`` committed (in this process, or NOTIFYed by another)."""
        self._dirty.add(tenant_id)
        self._wake.set()

    async def _run(self) -> None:
        timeout, poll_all = 0.0, True  # catch every shelter up at start
        failures = 0
        loop = asyncio.get_running_loop()
        started = -self.busy_interval_seconds  # when the last catch-up began
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass
            else:
                poll_all = False
                # Let the commits of a burst gather: one catch-up per shelter for all of them,
                # and while they keep coming, one per ``busy_interval_seconds``.
                await asyncio.sleep(
                    pause_before_catch_up(
                        loop.time() - started, self.settle_seconds, self.busy_interval_seconds
                    )
                )
            started = loop.time()
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            try:
                await self._listen()
                if poll_all or not self._shelters:  # shelters are looked up on each poll
                    self._shelters = await shelter_ids(self._engine)
                shelters = self._shelters
                chosen = shelters if poll_all else [t for t in shelters if t in dirty]
                for tenant_id in chosen:
                    result = await catch_up_tenant(self._engine, self._store, tenant_id)
                    if result.held_back:  # an older transaction is still open: look again soon
                        self._dirty.add(tenant_id)
            except Exception as exc:  # the projection must outlive a dropped connection
                failures += 1
                log.error("report projection failed: %s", type(exc).__name__)
                self._dirty |= dirty
                timeout = min(0.05 * 2**failures, self.poll_seconds)  # then retry the same
                continue
            failures = 0
            if self._dirty:
                timeout, poll_all = 0.05, False
            else:
                timeout, poll_all = self.poll_seconds, True


async def start_report_projection(
    engine: AsyncEngine, store: EventStore, listen_dsn: str | None
) -> ReportProjection:
    """Start the background projection (the app's lifespan calls this once)."""
    connect = None if listen_dsn is None else (lambda: asyncpg.connect(listen_dsn))
    projection = ReportProjection(engine, store, connect)
    await projection.start()
    return projection
