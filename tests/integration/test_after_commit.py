"""What runs after a tenant transaction: ``after_commit`` callbacks, only after a real commit.

The callbacks keep the stream cache and wake the feed's readers; acting on a transaction that
did not commit would keep events that were never written. These tests check that:

- a block that commits runs its callbacks once, after the commit, and its writes are kept;
- a block that raises runs none;
- a block that rolls back itself (``conn.rollback()``) and ends normally runs none, whether
  it wrote through SQLAlchemy or through the driver;
- a block that swallowed a failed statement and ends normally (PostgreSQL rolls the aborted
  transaction back when it is sent ``COMMIT``) runs none and keeps nothing;
- the engine serves the next transaction after each of them.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service import db
from service.app import load_tenants

INSERT = text(
    "INSERT INTO command_receipts (tenant_id, idempotency_key, stream_id, command_type, "
    "fingerprint, result_version) VALUES (:t, :k, :s, 'AfterCommitTested', 'f', 1)"
)


@pytest.fixture
async def tenant(app_engine: AsyncEngine) -> uuid.UUID:
    return (await load_tenants(app_engine))["moviera"].id


@pytest.fixture
def key() -> str:
    """A receipt's idempotency key of the test's own."""
    return f"after-commit-{uuid.uuid4()}"


async def _write(
    conn: AsyncConnection, tenant: uuid.UUID, key: str, through: str = "sqlalchemy"
) -> list[str]:
    """Write a receipt (through SQLAlchemy or the driver) and register an after-commit
    callback; the list it returns holds one entry for each time the callback ran."""
    if through == "sqlalchemy":
        await conn.execute(INSERT, {"t": tenant, "k": key, "s": uuid.uuid4()})
    else:
        await (await db.driver(conn)).execute(
            "INSERT INTO command_receipts (tenant_id, idempotency_key, stream_id, "
            "command_type, fingerprint, result_version) "
            "VALUES ($1, $2, $3, 'AfterCommitTested', 'f', 1)",
            tenant,
            key,
            uuid.uuid4(),
        )
    ran: list[str] = []
    assert db.after_commit(conn, lambda: ran.append("called"))
    return ran


async def _kept(admin_engine: AsyncEngine, key: str) -> int:
    async with admin_engine.connect() as conn:
        count: int = await conn.scalar(
            text("SELECT count(*) FROM command_receipts WHERE idempotency_key = :k"), {"k": key}
        )
    return count


async def _serves_the_next(engine: AsyncEngine, tenant: uuid.UUID) -> None:
    async with db.tenant_transaction(engine, tenant) as conn:
        assert await conn.scalar(text("SELECT current_setting('app.tenant_id')")) == str(tenant)


async def test_a_committed_block_runs_its_callbacks_once_after_the_commit(
    app_engine: AsyncEngine, admin_engine: AsyncEngine, tenant: uuid.UUID, key: str
) -> None:
    async with db.tenant_transaction(app_engine, tenant) as conn:
        ran = await _write(conn, tenant, key)
        assert ran == []
    assert ran == ["called"]
    assert await _kept(admin_engine, key) == 1
    await _serves_the_next(app_engine, tenant)
    assert ran == ["called"]


async def test_a_block_that_raised_runs_no_callback(
    app_engine: AsyncEngine, admin_engine: AsyncEngine, tenant: uuid.UUID, key: str
) -> None:
    written: list[list[str]] = []

    async def failing_command() -> None:
        async with db.tenant_transaction(app_engine, tenant) as conn:
            written.append(await _write(conn, tenant, key))
            raise RuntimeError("the command failed")

    with pytest.raises(RuntimeError):
        await failing_command()
    assert written == [[]]  # written, and its callback never ran
    assert await _kept(admin_engine, key) == 0
    await _serves_the_next(app_engine, tenant)


@pytest.mark.parametrize("through", ["sqlalchemy", "driver"])
async def test_a_block_that_rolled_back_itself_runs_no_callback(
    app_engine: AsyncEngine, admin_engine: AsyncEngine, tenant: uuid.UUID, key: str, through: str
) -> None:
    async with db.tenant_transaction(app_engine, tenant) as conn:
        ran = await _write(conn, tenant, key, through)
        await conn.rollback()
    assert ran == []
    assert await _kept(admin_engine, key) == 0
    await _serves_the_next(app_engine, tenant)


async def test_a_block_that_swallowed_a_failed_statement_runs_no_callback_and_keeps_nothing(
    app_engine: AsyncEngine, admin_engine: AsyncEngine, tenant: uuid.UUID, key: str
) -> None:
    async with db.tenant_transaction(app_engine, tenant) as conn:
        ran = await _write(conn, tenant, key)
        with pytest.raises(DBAPIError, match="division by zero"):
            await conn.execute(text("SELECT 1 / 0"))
    assert ran == []
    assert await _kept(admin_engine, key) == 0
    await _serves_the_next(app_engine, tenant)
