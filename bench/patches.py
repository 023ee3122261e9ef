"""Candidate fixes, applied by monkeypatching at start-up: before/after figures without a
service change (``python -m bench --patch lean-append,no-pre-ping``).

Each patch is the smallest form of a change recommended in ``docs/performance.md``; the
service's code is not touched. A patched run's figures are labelled with its patches in
``bench/results.json``. Patches apply both to the ``safe-future serve`` subprocesses (through
``bench/serve.py``) and to this process (the append scenario's engine).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _no_pre_ping() -> None:
    """Engines without ``pool_pre_ping``: each checkout spares BEGIN, ``;``, ROLLBACK.

    SQLAlchemy's asyncpg dialect pings inside a transaction of its own; a dropped connection
    is then found by the statement that uses it (the command handler already retries once
    on an invalidated connection).
    """
    from sqlalchemy.engine import URL
    from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

    import service.db as db

    def create_app_engine(url: URL, pool_size: int) -> AsyncEngine:
        return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)

    db.create_app_engine = create_app_engine


def _report_held_back() -> None:
    """The report projection's "held back?" check as an ordered index probe.

    ``SELECT EXISTS (SELECT 1 FROM events WHERE event_type = ANY(:types) AND (transaction_id,
    global_position) > (:tx, :pos))``: on the generic plan a prepared statement gets after
    five executions, PostgreSQL expects a third of the tenant's log to match and an early
    hit, and scans the table sequentially; after a live append nothing lies beyond, so every
    catch-up (one per append) reads the whole log: ~80 ms at 300,000 events, 250-400 ms at a
    million, on one of the two cores. (The feed's own check was fixed the same way.) Asking
    for the first row in feed order lets the ``events_feed`` index answer under any plan.
    """
    from sqlalchemy import text

    from service.reports import projection

    projection._HELD_BACK = text(
        "SELECT (SELECT 1 FROM events WHERE (transaction_id, global_position) > "
        "(CAST(:tx AS text)::xid8, :pos) AND event_type = ANY(:types) "
        "ORDER BY transaction_id, global_position LIMIT 1) IS NOT NULL"
    )


# One statement for the whole append: the version check, the inserts (one row per event,
# from arrays) and the NOTIFY. The stream's current version comes back even when nothing was
# inserted, so a conflict names it without another round trip.
_LEAN_APPEND = """
WITH cur AS (
    SELECT coalesce(max(version), 0) AS v FROM events WHERE stream_id = $2
), ins AS (
    INSERT INTO events (tenant_id, stream_id, stream_type, version, event_type, schema_version,
                        payload, personal, metadata, occurred_at)
    SELECT $1, $2, $3, cur.v + e.ord, e.event_type, e.schema_version, e.payload, e.personal,
           $9::jsonb, $10
    FROM cur, unnest($4::text[], $5::int[], $6::jsonb[], $7::jsonb[])
         WITH ORDINALITY AS e(event_type, schema_version, payload, personal, ord)
    WHERE events_writer_begin() AND cur.v = $8
    ON CONFLICT (tenant_id, stream_id, version) DO NOTHING
    RETURNING version, global_position, recorded_at, transaction_id::text::bigint AS tx
)
SELECT cur.v AS current, ins.version, ins.global_position, ins.recorded_at, ins.tx,
       CASE WHEN ins.version IS NOT NULL THEN pg_notify('safe_future_events', $1::text) END
FROM cur LEFT JOIN ins ON true
ORDER BY ins.version
"""


def _lean_append() -> None:
    """``EventStore.append`` in one statement on the driver connection.

    The store's append costs six round trips after the transaction's BEGIN and tenant
    setting: a version ``SELECT``, an ``INSERT ... RETURNING`` per event, ``pg_notify``, and
    SQLAlchemy's statement overhead on each. This sends one statement (version check,
    inserts, NOTIFY; see ``_LEAN_APPEND``) through the asyncpg connection underneath the
    caller's transaction, keeping the method's contract: ``ConcurrencyConflict`` naming the
    current version, sealed personal parts, the ``on_append`` callback, ``RecordedEvent``s.
    """
    import json

    from service.events import store as store_module
    from service.events.sealing import event_purpose
    from service.events.types import RecordedEvent

    async def append(
        self: Any,
        conn: Any,
        *,
        tenant_id: Any,
        stream_id: Any,
        stream_type: str,
        expected_version: int,
        events: Any,
        metadata: Any,
        occurred_at: Any,
    ) -> Any:
        encoded = [self.registry.encode(event) for event in events]
        if self.cipher is not None:
            personal_at = [
                (i, event_purpose(enc[0], expected_version + i + 1), enc[3])
                for i, enc in enumerate(encoded)
                if enc[3] is not None
            ]
            sealed = await self.cipher.seal_many(
                conn, tenant_id, stream_id, [(purpose, p) for _, purpose, p in personal_at]
            )
            for (i, _, _), envelope in zip(personal_at, sealed, strict=True):
                encoded[i] = (*encoded[i][:3], envelope)
        raw = (await conn.get_raw_connection()).driver_connection
        rows = await raw.fetch(
            _LEAN_APPEND,
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
        )
        inserted = [r for r in rows if r["version"] is not None]
        if len(inserted) != len(events):
            current = rows[0]["current"]
            if current == expected_version:  # a concurrent writer inserted first
                current = await self.current_version(conn, stream_id)
            raise store_module.ConcurrencyConflict(stream_id, expected_version, current)
        recorded = [
            RecordedEvent(
                global_position=row["global_position"],
                tenant_id=tenant_id,
                stream_id=stream_id,
                stream_type=stream_type,
                version=row["version"],
                event_type=enc[0],
                schema_version=enc[1],
                event=event,
                metadata=metadata,
                occurred_at=occurred_at,
                recorded_at=row["recorded_at"],
                transaction_id=row["tx"],
            )
            for row, event, enc in zip(inserted, events, encoded, strict=True)
        ]
        if self._on_append is not None:
            self._on_append(len(recorded))
        return recorded

    store_module.EventStore.append = append  # type: ignore[method-assign]


PATCHES: dict[str, Callable[[], None]] = {
    "lean-append": _lean_append,
    "no-pre-ping": _no_pre_ping,
    "report-held-back": _report_held_back,
}


def apply(names: list[str]) -> list[str]:
    """Apply the named patches (before the service's modules that use them are imported)."""
    unknown = sorted(set(names) - set(PATCHES))
    if unknown:
        raise SystemExit(f"unknown patch(es): {', '.join(unknown)}; known: {sorted(PATCHES)}")
    for name in names:
        PATCHES[name]()
    return names


def describe() -> dict[str, Any]:
    return {name: (fn.__doc__ or "").strip().split("\n")[0] for name, fn in PATCHES.items()}
