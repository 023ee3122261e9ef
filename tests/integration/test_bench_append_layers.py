"""``bench.append_layers``: every layer really appends, each event at its stream's next version.

The layers on raw asyncpg write events without read models, as scenario 1's raw side does; in
the session's database a later rebuild would fold them into cases the live models lack. So the
tool runs here against a database of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench.append_layers import LAYERS, WARM_UP_APPENDS, measure, report
from bench.database import asyncpg_dsn
from service import db
from service.db import tenant_transaction
from tests.conftest import Database, fresh_database

# The event the statement's capture appends (a new case's first).
CAPTURE = 1


@pytest.fixture
async def own_database(_server: URL) -> AsyncIterator[Database]:
    async with fresh_database(_server, "sf_test_layers") as made:
        yield made


@pytest.fixture
async def own_engines(own_database: Database) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    app = db.create_app_engine(own_database.app_url, 2)
    admin = create_async_engine(own_database.admin_url)
    yield app, admin
    await app.dispose()
    await admin.dispose()


async def _shelters(engine: AsyncEngine) -> list[uuid.UUID]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id FROM tenants WHERE kind = 'shelter' ORDER BY slug LIMIT 2")
        )
        return [row[0] for row in rows]


async def _written(engine: AsyncEngine, tenants: list[uuid.UUID]) -> tuple[int, bool]:
    """The layers' events in all, and whether every stream's versions run 1, 2, 3, ..."""
    total, consecutive = 0, True
    for tenant in tenants:
        async with tenant_transaction(engine, tenant) as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT count(*), coalesce(bool_and(version = n), true) FROM ("
                        "  SELECT version, row_number() OVER ("
                        "    PARTITION BY stream_id ORDER BY version) AS n"
                        "  FROM events WHERE metadata->>'actor' = 'bench-layers') AS v"
                    )
                )
            ).one()
        total += row[0]
        consecutive = consecutive and row[1]
    return total, consecutive


async def test_every_layer_appends_its_events_at_the_next_versions(
    own_database: Database, own_engines: tuple[AsyncEngine, AsyncEngine]
) -> None:
    app_engine, admin_engine = own_engines
    tenants = await _shelters(admin_engine)
    before, _ = await _written(app_engine, tenants)

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(asyncpg_dsn(own_database.app_url))

    layers = await measure(app_engine, connect, tenants, rounds=2, events=3, writers=2)

    assert [layer.name for layer in layers] == list(LAYERS)
    assert all(layer.appended == 2 * 3 * 2 for layer in layers)
    assert all(len(layer.rates) == 2 and min(layer.rates) > 0 for layer in layers)
    after, consecutive = await _written(app_engine, tenants)
    assert after - before == CAPTURE + len(LAYERS) * (WARM_UP_APPENDS * 2 + 2 * 3 * 2)
    assert consecutive
    assert report(layers).splitlines()[1].split()[0] == "raw"
