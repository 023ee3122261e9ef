"""Rebuild the case read models from the log beside the live ones, then swap them in.

Runs as the database owner (it creates and renames tables). Readers keep reading the live
tables until the swap, which takes a brief exclusive lock:

1. create ``<table>__rebuild`` copies (same columns, indexes, RLS policy, grants);
2. fill them from the log, tenant by tenant (RLS is forced even for the owner);
3. lock the live tables against writers, re-fold every stream that moved on while filling,
   rename old -> ``__old`` and new -> live, drop the old ones; commit.

An append that was waiting for the lock finds the new table by name and writes to it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.events.projections import return_cases, timeline
from service.events.sealing import PersonalCipher
from service.events.store import COLUMNS, EventStore
from service.events.types import RecordedEvent

log = logging.getLogger("service.projections")

SUFFIX = "__rebuild"
# Streams whose latest version differs from the rebuilt row (constant names only).
_MOVED = (
    "SELECT e.stream_id FROM events e WHERE e.stream_type = 'ReturnCase' AND e.tenant_id = :t "
    "GROUP BY e.stream_id "
    "HAVING max(e.version) IS DISTINCT FROM "
    "(SELECT r.version FROM return_cases__rebuild r WHERE r.case_id = e.stream_id)"
)


async def _tenants(conn: AsyncConnection) -> list[uuid.UUID]:
    return [r[0] for r in await conn.execute(text("SELECT id FROM tenants ORDER BY slug"))]


async def _set_tenant(conn: AsyncConnection, tenant_id: uuid.UUID) -> None:
    await conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})


async def _create_beside(conn: AsyncConnection, role: str) -> None:
    for table in ("case_timeline", "return_cases"):
        await conn.execute(text(f"DROP TABLE IF EXISTS {table}{SUFFIX}"))
    for table in ("return_cases", "case_timeline"):
        new = f"{table}{SUFFIX}"
        await conn.execute(text(f"CREATE TABLE {new} (LIKE {table} INCLUDING ALL)"))
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


async def _streams(
    conn: AsyncConnection,
    store: EventStore,
    tenant_id: uuid.UUID,
    stream_ids: Sequence[uuid.UUID] | None,
) -> dict[uuid.UUID, list[RecordedEvent]]:
    # The tenant filter matters for an owner that bypasses RLS (a superuser): without it
    # every tenant's pass would fold the whole log.
    where = "stream_type = 'ReturnCase' AND tenant_id = :t"
    params: dict[str, Any] = {"t": tenant_id}
    if stream_ids is not None:
        where += " AND stream_id = ANY(:ids)"
        params["ids"] = list(stream_ids)
    rows = await conn.execute(
        text(f"SELECT {COLUMNS} FROM events WHERE {where} ORDER BY stream_id, version"),  # noqa: S608 (constants)
        params,
    )
    streams: dict[uuid.UUID, list[RecordedEvent]] = {}
    # Sealed personal parts are opened with the clients' keys (one query per batch).
    for event in await store.open(conn, [store.recorded(row) for row in rows]):
        streams.setdefault(event.stream_id, []).append(event)
    return streams


async def _write(
    conn: AsyncConnection,
    streams: dict[uuid.UUID, list[RecordedEvent]],
    suffix: str,
    cipher: PersonalCipher | None = None,
) -> None:
    if not streams:
        return
    ids = list(streams)
    await conn.execute(
        text(f"DELETE FROM case_timeline{suffix} WHERE case_id = ANY(:ids)"),  # noqa: S608
        {"ids": ids},
    )
    for stream in streams.values():
        row = await return_cases.seal_personal(conn, cipher, return_cases.case_row(stream))
        await conn.execute(return_cases.upsert_statement(suffix), row)
    entries = [timeline.entry(e) for stream in streams.values() for e in stream]
    if entries:
        await conn.execute(timeline.insert_statement(suffix), entries)


async def rebuild_cases(engine: AsyncEngine, store: EventStore, role: str) -> int:
    """Rebuild ``return_cases`` and ``case_timeline``; returns the number of events folded."""
    async with engine.begin() as conn:
        await _create_beside(conn, role)
        tenants = await _tenants(conn)
    folded = 0
    for tenant_id in tenants:
        async with engine.begin() as conn:
            await _set_tenant(conn, tenant_id)
            streams = await _streams(conn, store, tenant_id, None)
            await _write(conn, streams, SUFFIX, store.cipher)
            folded += sum(len(s) for s in streams.values())
    async with engine.begin() as conn:
        await conn.execute(text("LOCK TABLE return_cases, case_timeline IN EXCLUSIVE MODE"))
        for tenant_id in tenants:
            await _set_tenant(conn, tenant_id)
            moved = [r[0] for r in await conn.execute(text(_MOVED), {"t": tenant_id})]
            if moved:
                await _write(
                    conn, await _streams(conn, store, tenant_id, moved), SUFFIX, store.cipher
                )
        for table in ("case_timeline", "return_cases"):
            await conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}__old"))
            await conn.execute(text(f"ALTER TABLE {table}{SUFFIX} RENAME TO {table}"))
        await conn.execute(text("DROP TABLE case_timeline__old"))
        await conn.execute(text("DROP TABLE return_cases__old"))
    log.info("projection rebuilt", extra={"projection": "cases", "events": folded})
    return folded


Rebuilder = Callable[[AsyncEngine, EventStore, str], Awaitable[int]]

# Every projection that can be rebuilt, by the name the CLI takes.
REBUILDERS: dict[str, Rebuilder] = {"cases": rebuild_cases}
