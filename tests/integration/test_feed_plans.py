"""The feed's readers walk the ``events_feed`` index in feed order; none sorts the log.

A reader that sorted would read (and, for the bulk readers, build the JSON of) every event of
the tenant after its position on every batch: a catch-up of a long log becomes quadratic. The
statements each reader sends are captured as it runs against the database, then planned
again with the same parameters and sorting disabled: a plan that still needs a ``Sort`` node
has no index that gives the order it asks for.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service import db
from service.app import load_tenants
from service.auth import Principal
from service.domain.return_case import EVENT_TYPES
from service.events.cursor import START
from service.events.feed import read_feed, read_live
from service.events.store import EventStore
from service.events.types import EventRegistry
from service.handlers.return_case import Dependencies
from service.reports.projection import read_batch
from tests.integration.test_feed_hub import open_case, record_conversation

STORE = EventStore(EventRegistry(EVENT_TYPES))
TENANT = "humanitas-pmw"
Reader = Callable[[AsyncConnection], Awaitable[Any]]


@contextmanager
def _captured(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """The statements (with their parameters) sent on ``engine`` meanwhile."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)


async def _plan(conn: AsyncConnection, statement: str, parameters: Any) -> str:
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    args = tuple(parameters or ())
    rows = await raw.fetch(f"EXPLAIN {statement}", *args)
    return "\n".join(r[0] for r in rows)


async def _a_case(app_engine: AsyncEngine) -> uuid.UUID:
    """A shelter with a case of two events; its id."""
    tenants = await load_tenants(app_engine)
    principal = Principal("plan-test", tenants[TENANT], frozenset({"caseworker"}))
    deps = Dependencies(engine=app_engine, store=STORE, tenants=tenants)
    case_id = await open_case(deps, principal)
    await record_conversation(deps, principal, case_id, 1)
    return principal.tenant_id


async def _assert_index_order(conn: AsyncConnection, sent: list[tuple[str, Any]]) -> None:
    """Every ordered statement ``sent`` plans as a walk of ``events_feed`` without a sort
    (``conn`` has sorting disabled)."""
    ordered = [(s, p) for s, p in sent if "ORDER BY" in s]
    assert ordered, sent
    for statement, parameters in ordered:
        plan = await _plan(conn, statement, parameters)
        assert "events_feed" in plan, plan
        assert "Sort" not in plan, plan


def _read_feed(conn: AsyncConnection) -> Awaitable[Any]:
    return read_feed(conn, STORE, START, 100)


def _read_batch(conn: AsyncConnection) -> Awaitable[Any]:
    return read_batch(conn, STORE, START, 100)


@pytest.mark.parametrize("reader", [_read_feed, _read_batch], ids=["read_feed", "read_batch"])
async def test_a_feed_reader_walks_the_index_in_feed_order(
    app_engine: AsyncEngine, reader: Reader
) -> None:
    tenant_id = await _a_case(app_engine)
    async with db.tenant_transaction(app_engine, tenant_id) as conn:
        with _captured(app_engine) as sent:
            assert await reader(conn)  # the reader read something
        await conn.execute(text("SET LOCAL enable_sort = off"))
        await _assert_index_order(conn, sent)


async def test_the_live_reader_walks_the_index_in_feed_order(
    app_engine: AsyncEngine, database: Any
) -> None:
    tenant_id = await _a_case(app_engine)
    engine = db.create_app_engine(database.app_url, 1)
    try:
        async with engine.connect() as live:
            live = await live.execution_options(isolation_level="AUTOCOMMIT")
            with _captured(engine) as sent:
                events, _ = await read_live(live, STORE, tenant_id, START, 100)
            assert events
            await live.execute(text("SET enable_sort = off"))
            try:
                await _assert_index_order(live, sent)
            finally:
                await live.invalidate()  # it carries a tenant in its session, as the feed's
    finally:
        await engine.dispose()
