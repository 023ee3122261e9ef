"""Rebuild the case read models from the log beside the live ones, then swap them in.

Runs as the database owner (it creates and renames tables). Readers keep reading the live
tables until the swap, which takes a brief exclusive lock:

1. create bare ``<table>__rebuild`` copies (same columns, defaults and checks; no index, key,
   row-level security or grant yet, so nobody but the owner can reach them);
2. fill them from the log, tenant by tenant and a few tenants at once (the log's RLS is
   forced even for the owner), in bulk: the log is read through a server-side cursor (JSON
   columns decoded once per row), every batch of whole streams is folded in one pass per
   stream (``case_row``) and written with ``COPY`` (which row-level security would refuse).
   With ``FillProcesses``, new processes fill beside this one (``processes``), each with
   its own store, cipher and connections: the decoding and folding, which are Python and
   take most of a rebuild, then use more than one core. The work is then shared out in
   parts smaller than a tenant (``Part``: ranges of stream ids that hold about as many
   events each), so that a process that starts later or draws smaller parts takes more;
3. give the copies the live tables' keys, indexes, foreign key, RLS policy (enabled and
   forced) and grants, built once over the filled tables;
4. lock the live tables against writers, re-fold every stream that moved on while filling
   (multi-row upsert and insert, under RLS), rename old -> ``__old`` and new -> live, drop
   the old ones; commit.

An append that was waiting for the lock finds the new table by name and writes to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import operator
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from service.db import driver, set_tenant, tenant_transaction
from service.events.bulk_read import (
    JSON_TEXT_COLUMNS,
    collector_paused,
    compact_json,
    recorded_rows,
)
from service.events.projections import return_cases, timeline
from service.events.projections.processes import Claims, alongside
from service.events.sealing import PersonalCipher
from service.events.store import EventStore
from service.events.types import RecordedEvent

log = logging.getLogger("service.projections")

SUFFIX = "__rebuild"
# Rows fetched per round trip of the server-side cursor, and events folded per write.
CURSOR_PREFETCH = 5_000
BATCH_EVENTS = 5_000
# Parts filled at once in each process (each on three connections of its own: read, fold,
# copy; a part is a whole tenant when one process fills), and parts per tenant per process
# when several processes fill.
PARTS_AT_ONCE = 3
PARTS_PER_PROCESS = 2
# Streams whose latest version differs from the rebuilt row (constant names only).
_MOVED = (
    "SELECT e.stream_id FROM events e WHERE e.stream_type = 'ReturnCase' AND e.tenant_id = :t "
    "GROUP BY e.stream_id "
    "HAVING max(e.version) IS DISTINCT FROM "
    "(SELECT r.version FROM return_cases__rebuild r WHERE r.case_id = e.stream_id)"
)


async def _tenants(conn: AsyncConnection) -> list[uuid.UUID]:
    return [r[0] for r in await conn.execute(text("SELECT id FROM tenants ORDER BY slug"))]


class Part(NamedTuple):
    """A tenant's case streams whose id lies from ``first`` up to ``after`` (``None``: no
    bound on that side). A stream is never split between parts."""

    tenant_id: uuid.UUID
    first: uuid.UUID | None = None
    after: uuid.UUID | None = None


def split(tenant_id: uuid.UUID, bounds: Iterable[uuid.UUID]) -> list[Part]:
    """A tenant's parts between ``bounds`` (stream ids where a part begins, in any order, the
    lowest taken as the tenant's first stream): open on both outer sides."""
    edges: list[uuid.UUID | None] = [None, *sorted(set(bounds))[1:], None]
    return [Part(tenant_id, a, b) for a, b in itertools.pairwise(edges)]


# Where a tenant's log splits into ``:parts`` ranges of stream ids holding about as many events
# each: the lowest stream id of each range (in the order of the log's (tenant, stream, version)
# key).
_BOUNDS = (
    "SELECT DISTINCT ON (n) stream_id FROM (SELECT stream_id, ntile(:parts) OVER "
    "(ORDER BY stream_id) AS n FROM events WHERE tenant_id = :t) s ORDER BY n, stream_id"
)


async def _parts(
    conn: AsyncConnection, tenants: Sequence[uuid.UUID], per_tenant: int
) -> list[Part]:
    """Every tenant's log in ``per_tenant`` parts (fewer for a tenant with fewer streams).

    The ranges run from no bound to no bound, so every stream of a tenant is in exactly one
    part whatever the bounds are; the bounds only balance the parts.
    """
    if per_tenant <= 1:
        return [Part(tenant_id) for tenant_id in tenants]
    parts: list[Part] = []
    for tenant_id in tenants:
        await set_tenant(conn, tenant_id)  # the log's row-level security is forced
        found = await conn.execute(text(_BOUNDS), {"parts": per_tenant, "t": tenant_id})
        parts += split(tenant_id, (row[0] for row in found))
    return parts


async def _create_beside(conn: AsyncConnection) -> None:
    """Bare copies to fill: the live tables' columns, defaults and checks; no index, key,
    row-level security or grant yet (all added by ``_finish_beside`` before the swap).

    Only the owner can reach them while they are filled, and without row-level security the
    owner may fill them with ``COPY``; indexes and the foreign key are built once at the end
    instead of row by row.
    """
    await _drop_beside(conn)  # a copy left by a rebuild that was killed
    for table in ("return_cases", "case_timeline"):
        await conn.execute(
            text(f"CREATE TABLE {table}{SUFFIX} (LIKE {table} INCLUDING ALL EXCLUDING INDEXES)")
        )


_CONSTRAINTS = text(
    "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c "
    "WHERE c.conrelid = CAST(:t AS regclass) AND c.contype IN ('p', 'u') ORDER BY c.conname"
)
_INDEXES = text(
    "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
    "WHERE i.indrelid = CAST(:t AS regclass) AND NOT EXISTS "
    "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY i.indexrelid"
)
_INDEX_HEAD = re.compile(r"^CREATE (UNIQUE )?INDEX \S+ ON \S+ ")


async def _drop_beside(conn: AsyncConnection) -> None:
    """Drop the copies of a rebuild that did not get as far as the swap."""
    for table in ("case_timeline", "return_cases"):
        await conn.execute(text(f"DROP TABLE IF EXISTS {table}{SUFFIX}"))


async def _finish_beside(conn: AsyncConnection, role: str) -> None:
    """Give the filled copies the live tables' keys, indexes, foreign key, row-level security
    and grants (as the copies ``LIKE ... INCLUDING ALL`` made before the fill had them)."""
    for table in ("return_cases", "case_timeline"):
        new = f"{table}{SUFFIX}"
        for (definition,) in await conn.execute(_CONSTRAINTS, {"t": table}):
            await conn.execute(text(f"ALTER TABLE {new} ADD {definition}"))
        for (definition,) in await conn.execute(_INDEXES, {"t": table}):
            head = _INDEX_HEAD.match(definition)
            assert head is not None, definition
            unique = head.group(1) or ""
            await conn.execute(text(f"CREATE {unique}INDEX ON {new} {definition[head.end() :]}"))
        await conn.execute(text(f"ALTER TABLE {new} ENABLE ROW LEVEL SECURITY"))
        await conn.execute(text(f"ALTER TABLE {new} FORCE ROW LEVEL SECURITY"))
        await conn.execute(
            text(
                f"CREATE POLICY tenant_isolation ON {new} "
                "USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid) "
                "WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
            )
        )
    await conn.execute(
        text(
            f"ALTER TABLE case_timeline{SUFFIX} ADD FOREIGN KEY (tenant_id, case_id) "
            f"REFERENCES return_cases{SUFFIX} (tenant_id, case_id)"
        )
    )
    await conn.execute(text(f'GRANT SELECT, INSERT, UPDATE ON return_cases{SUFFIX} TO "{role}"'))
    await conn.execute(text(f'GRANT SELECT, INSERT ON case_timeline{SUFFIX} TO "{role}"'))


_JSONB = frozenset({"personal", "referrals", "consents"})
# A row's values in the table's column order (one C call), and where its JSONB columns are.
_VALUES = operator.itemgetter(*return_cases.COLUMNS)
_JSONB_AT = tuple(i for i, c in enumerate(return_cases.COLUMNS) if c in _JSONB)


def _copy_record(row: dict[str, Any]) -> tuple[Any, ...]:
    """A ``return_cases`` row as a COPY record; JSONB columns as their JSON text."""
    values = list(_VALUES(row))
    for i in _JSONB_AT:
        if values[i] is not None:
            values[i] = compact_json(values[i])
    return tuple(values)


def _bulk_upsert(suffix: str) -> str:
    """A multi-row upsert into ``return_cases<suffix>`` from a JSON array of rows.

    ``jsonb_populate_recordset`` turns the array into rows of the table's own type, so every
    column (arrays, JSONB, dates) keeps its type without a bind parameter per value. Assembled
    from the constant column list, never from input.
    """
    cols = ", ".join(return_cases.COLUMNS)
    table = f"return_cases{suffix}"
    return (
        f"INSERT INTO {table} ({cols}) SELECT {cols} "  # noqa: S608 (constants)
        f"FROM jsonb_populate_recordset(NULL::{table}, $1::text::jsonb) "
        "ON CONFLICT (tenant_id, case_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in return_cases.COLUMNS[2:] if c != "opened_at")
    )


# The type of each ``case_timeline`` column, for a multi-row insert from one array per column
# (asyncpg encodes the arrays in binary: no JSON and no bind parameter per value).
_TIMELINE_TYPES = {
    "tenant_id": "uuid", "case_id": "uuid", "version": "int", "global_position": "bigint",
    "event_type": "text", "occurred_at": "timestamptz", "recorded_at": "timestamptz",
    "actor": "text", "actor_role": "text", "summary": "text", "organisation_id": "uuid",
}  # fmt: skip


def _bulk_timeline(suffix: str) -> str:
    cols = ", ".join(timeline.COLUMNS)
    arrays = ", ".join(
        f"${i}::{_TIMELINE_TYPES[c]}[]" for i, c in enumerate(timeline.COLUMNS, start=1)
    )
    return f"INSERT INTO case_timeline{suffix} ({cols}) SELECT * FROM unnest({arrays})"  # noqa: S608 (constants)


async def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn`` (same transaction), for cursors and bulk writes."""
    return (await driver(conn)).connection


async def _stream_batches(
    conn: AsyncConnection,
    store: EventStore,
    part: Part,
    stream_ids: Sequence[uuid.UUID] | None,
    batch_events: int,
    reader: AsyncConnection | None = None,
) -> AsyncIterator[dict[uuid.UUID, list[RecordedEvent]]]:
    """The case streams of ``part`` (of those, ``stream_ids`` if given), whole, in batches of
    about ``batch_events`` events.

    Rows come through a server-side cursor in stream order, so memory stays bounded by one
    batch however long the log is; a stream is never split across batches. The cursor runs on
    ``reader`` if given (a transaction of the same tenant that nothing else uses meanwhile):
    then the next rows are read while the caller works on this batch. Without it, on ``conn``,
    which the caller may then use between batches.
    """
    # The tenant filter matters for an owner that bypasses RLS (a superuser): without it
    # every tenant's pass would fold the whole log.
    sql = (
        f"SELECT {JSON_TEXT_COLUMNS} FROM events "  # noqa: S608 (constants)
        "WHERE stream_type = 'ReturnCase' AND tenant_id = $1"
    )
    args: list[Any] = [part.tenant_id]
    if stream_ids is not None:
        args.append(list(stream_ids))
        sql += f" AND stream_id = ANY(${len(args)}::uuid[])"
    if part.first is not None:
        args.append(part.first)
        sql += f" AND stream_id >= ${len(args)}"
    if part.after is not None:
        args.append(part.after)
        sql += f" AND stream_id < ${len(args)}"
    sql += " ORDER BY stream_id, version"
    cursor = await (await _driver(reader or conn)).cursor(sql, *args)
    pending: list[RecordedEvent] = []
    ahead: asyncio.Future[list[Any]] | None = None
    try:
        while True:
            if ahead is None:
                rows = await cursor.fetch(CURSOR_PREFETCH)
            else:
                rows = await ahead
            if reader is not None and rows:
                ahead = asyncio.ensure_future(cursor.fetch(CURSOR_PREFETCH))
            # One round trip per chunk, decoded as a whole (``recorded_rows``).
            chunk = recorded_rows(store, rows)
            if not chunk:
                break
            for event in chunk:
                if len(pending) >= batch_events and event.stream_id != pending[-1].stream_id:
                    yield await _opened(conn, store, pending)
                    pending = []
                pending.append(event)
        if pending:
            yield await _opened(conn, store, pending)
    finally:
        if ahead is not None and not ahead.done():
            ahead.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ahead


async def _opened(
    conn: AsyncConnection, store: EventStore, events: list[RecordedEvent]
) -> dict[uuid.UUID, list[RecordedEvent]]:
    streams: dict[uuid.UUID, list[RecordedEvent]] = {}
    # Sealed personal parts are opened with the clients' keys (one query per batch).
    for event in await store.open(conn, events):
        streams.setdefault(event.stream_id, []).append(event)
    return streams


async def _fold(
    conn: AsyncConnection,
    streams: dict[uuid.UUID, list[RecordedEvent]],
    cipher: PersonalCipher | None,
) -> tuple[list[dict[str, Any]], list[list[Any]]]:
    """The read-model rows (personal fields sealed) and the timeline's columns of ``streams``."""
    with collector_paused():
        rows = [return_cases.case_row(stream) for stream in streams.values()]
    if cipher is not None:
        rows = await return_cases.seal_personal_rows(conn, cipher, rows)
    with collector_paused():
        events = [e for stream in streams.values() for e in stream]
        return rows, timeline.entry_columns(events)


async def _copy(
    driver: Any, rows: list[dict[str, Any]], columns: list[list[Any]], suffix: str
) -> None:
    """Write a batch into the bare copies (no row-level security yet) with binary COPY."""
    if rows:
        with collector_paused():
            records = [_copy_record(row) for row in rows]
        await driver.copy_records_to_table(
            f"return_cases{suffix}",
            records=records,
            columns=return_cases.COLUMNS,
        )
    if columns[0]:
        with collector_paused():
            entries = list(zip(*columns, strict=True))
        await driver.copy_records_to_table(
            f"case_timeline{suffix}",
            records=entries,
            columns=timeline.COLUMNS,
        )


async def _write(
    conn: AsyncConnection,
    streams: dict[uuid.UUID, list[RecordedEvent]],
    suffix: str,
    cipher: PersonalCipher | None = None,
) -> None:
    """Fold ``streams`` again into protected copies: one delete, upsert and insert per batch."""
    if not streams:
        return
    driver = await _driver(conn)
    await driver.execute(
        f"DELETE FROM case_timeline{suffix} WHERE case_id = ANY($1::uuid[])",  # noqa: S608
        list(streams),
    )
    rows, columns = await _fold(conn, streams, cipher)
    await driver.execute(_bulk_upsert(suffix), compact_json(rows))
    await driver.execute(_bulk_timeline(suffix), *columns)


@dataclass(frozen=True)
class FillProcesses:
    """Fill in ``count`` processes in all: this one and ``count - 1`` new ones.

    ``store`` makes each new process's store (with its cipher): it must be picklable, a
    module-level function or a ``functools.partial`` of one with picklable arguments (see
    ``service.events.projections.processes``).
    """

    count: int
    store: Callable[[], EventStore]


async def _fill(
    engine: AsyncEngine,
    store: EventStore,
    parts: Sequence[Part],
    batch_events: int,
    processes: FillProcesses | None,
) -> int:
    """Fill the bare copies from every part of the log; returns the number of events folded.

    With ``processes`` (more than one), new processes fill parts too, each taking the next part
    not yet taken when it is free (``alongside``).
    """
    if processes is None:
        return await _fill_claimed(engine, store, parts, batch_events)
    beside = functools.partial(_fill_beside, engine.url, processes.store, batch_events)
    here = functools.partial(_fill_claimed, engine, store, batch_events=batch_events)
    return sum(await alongside(here, beside, parts, processes.count))


def _fill_beside(
    url: URL, make_store: Callable[[], EventStore], batch_events: int, parts: Claims[Part]
) -> int:
    """A new process's share of the fill: the parts it claims, on connections of its own."""

    async def fill() -> int:
        engine = create_async_engine(url)
        try:
            return await _fill_claimed(engine, make_store(), parts, batch_events)
        finally:
            await engine.dispose()

    return asyncio.run(fill())


async def _fill_claimed(
    engine: AsyncEngine, store: EventStore, parts: Iterable[Part], batch_events: int
) -> int:
    """Fill the bare copies from the parts ``parts`` yields; the number of events folded.

    Up to ``PARTS_AT_ONCE`` parts are filled at once (``_fill_parts``), each taking the next
    part when it is done: one part's statements (reads, key lookups, copies) overlap another's
    Python work. The cyclic garbage collector stays paused over the fill
    (``collector_paused``; the batches are freed by reference counting).
    """
    pending = iter(parts)
    folded: list[int] = []

    async def fill() -> None:
        folded.append(await _fill_parts(engine, store, pending, batch_events))

    try:
        with collector_paused():
            async with asyncio.TaskGroup() as group:
                for _ in range(PARTS_AT_ONCE):
                    group.create_task(fill())
    except ExceptionGroup as failed:  # raised as one fill alone would raise it
        raise failed.exceptions[0] from failed
    return sum(folded)


async def _fill_parts(
    engine: AsyncEngine, store: EventStore, parts: Iterator[Part], batch_events: int
) -> int:
    """Fill the bare copies from each part ``parts`` yields (an iterator shared with other
    fills); returns the number of events folded. Nothing is opened when no part is left.

    Each part's rows are read on one connection, a batch ahead, and folded (keys looked up)
    on a second one, in its tenant's transactions; the COPY of a batch runs on a third while
    the next batch is read and folded: the database reads and writes while Python works. The
    copies commit once, at the end.
    """
    first = next(parts, None)
    if first is None:
        return 0
    folded = 0
    pending: asyncio.Task[None] | None = None
    async with tenant_transaction(engine, None) as writer:
        copier = await _driver(writer)
        try:
            for part in itertools.chain((first,), parts):
                async with (
                    tenant_transaction(engine, part.tenant_id) as conn,
                    tenant_transaction(engine, part.tenant_id) as reader,
                ):
                    async for streams in _stream_batches(
                        conn, store, part, None, batch_events, reader
                    ):
                        rows, columns = await _fold(conn, streams, store.cipher)
                        if pending is not None:
                            await pending
                        pending = asyncio.create_task(_copy(copier, rows, columns, SUFFIX))
                        folded += sum(len(s) for s in streams.values())
            if pending is not None:
                await pending
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pending
    return folded


async def rebuild_cases(
    engine: AsyncEngine,
    store: EventStore,
    role: str,
    *,
    batch_events: int = BATCH_EVENTS,
    processes: FillProcesses | None = None,
) -> int:
    """Rebuild ``return_cases`` and ``case_timeline``; returns the number of events folded.

    ``batch_events``: events (whole streams) folded and written per statement pair.
    ``processes``: fill in new processes too (see the module); without it, in this one.
    """
    several = processes if processes is not None and processes.count > 1 else None
    async with engine.begin() as conn:
        await _create_beside(conn)
        tenants = await _tenants(conn)
        # One process takes the tenants whole; several share them out in smaller parts.
        per_tenant = 1 if several is None else PARTS_PER_PROCESS * several.count
        parts = await _parts(conn, tenants, per_tenant)
    try:
        folded = await _fill(engine, store, parts, batch_events, several)
        async with engine.begin() as conn:
            await _finish_beside(conn, role)
    except BaseException:
        # The copies are not kept: filled in part, without row-level security yet.
        async with engine.begin() as conn:
            await _drop_beside(conn)
        raise
    async with engine.begin() as conn:
        await conn.execute(text("LOCK TABLE return_cases, case_timeline IN EXCLUSIVE MODE"))
        for tenant_id in tenants:
            await set_tenant(conn, tenant_id)
            moved = [r[0] for r in await conn.execute(text(_MOVED), {"t": tenant_id})]
            if moved:
                part = Part(tenant_id)
                async for streams in _stream_batches(conn, store, part, moved, batch_events):
                    await _write(conn, streams, SUFFIX, store.cipher)
        for table in ("case_timeline", "return_cases"):
            await conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}__old"))
            await conn.execute(text(f"ALTER TABLE {table}{SUFFIX} RENAME TO {table}"))
        await conn.execute(text("DROP TABLE case_timeline__old"))
        await conn.execute(text("DROP TABLE return_cases__old"))
    log.info("projection rebuilt", extra={"projection": "cases", "events": folded})
    return folded


class Rebuilder(Protocol):
    async def __call__(
        self,
        engine: AsyncEngine,
        store: EventStore,
        role: str,
        *,
        processes: FillProcesses | None = None,
    ) -> int: ...


# Every projection that can be rebuilt, by the name the CLI takes.
REBUILDERS: dict[str, Rebuilder] = {"cases": rebuild_cases}
