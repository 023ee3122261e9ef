"""Connections kept between tenant transactions on the service's engine.

A committed ``tenant_transaction`` keeps its connection for the next one instead of handing
it back to the pool. These tests check that what a transaction leaves on a connection never
reaches the next one, and that a connection the pool would refuse is never taken again:

- the next transaction runs on the same backend without a pool checkout;
- the tenant setting ends with its transaction: the next one (another tenant, or none) sees
  only its own rows;
- a rolled-back transaction's connection goes back to the pool;
- a kept connection whose backend was terminated is replaced, not used;
- disposing of the engine closes the kept connections;
- a transaction cancelled during its ``BEGIN`` leaves no transaction behind on any engine's
  pool, also a plain one (the owner's, which a rebuild uses).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service import db
from service.app import load_tenants
from service.auth import Principal
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.events.store import EventStore
from service.events.types import EventRegistry
from service.handlers.return_case import Dependencies, handle
from tests.conftest import Database
from tests.integration.reports_population import partner_organisations

PID = text("SELECT pg_backend_pid()")
SETTING = text("SELECT current_setting('app.tenant_id', true)")


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    engine = db.create_app_engine(database.app_url, 2)
    yield engine
    await engine.dispose()


def _count_checkouts(engine: AsyncEngine) -> list[int]:
    checkouts = [0]

    def counted(*_: Any) -> None:
        checkouts[0] += 1

    event.listen(engine.sync_engine.pool, "checkout", counted)
    return checkouts


async def _tenants(admin_engine: AsyncEngine) -> list[uuid.UUID]:
    async with admin_engine.connect() as conn:
        return [r[0] for r in await conn.execute(text("SELECT id FROM tenants ORDER BY slug"))]


async def test_the_next_transaction_runs_on_the_kept_connection_without_a_checkout(
    engine: AsyncEngine,
) -> None:
    checkouts = _count_checkouts(engine)
    pids = []
    for _ in range(3):
        async with db.tenant_transaction(engine, None) as conn:
            pids.append(await conn.scalar(PID))
    assert len(set(pids)) == 1
    assert checkouts == [1]


async def test_the_tenant_setting_does_not_outlive_its_transaction(
    engine: AsyncEngine, admin_engine: AsyncEngine
) -> None:
    first, second = (await _tenants(admin_engine))[:2]
    async with db.tenant_transaction(engine, first) as conn:
        pid = await conn.scalar(PID)
        assert await conn.scalar(SETTING) == str(first)
    async with db.tenant_transaction(engine, None) as conn:
        assert await conn.scalar(PID) == pid  # the kept connection
        assert await conn.scalar(SETTING) in (None, "")
        assert await conn.scalar(text("SELECT count(*) FROM return_cases")) == 0
    async with db.tenant_transaction(engine, second) as conn:
        assert await conn.scalar(PID) == pid
        assert await conn.scalar(SETTING) == str(second)
        assert (
            await conn.scalar(
                text("SELECT count(*) FROM return_cases WHERE tenant_id <> :t"), {"t": second}
            )
            == 0
        )


async def test_a_rolled_back_transaction_hands_its_connection_back_to_the_pool(
    engine: AsyncEngine,
) -> None:
    checkouts = _count_checkouts(engine)

    async def failing_command() -> None:
        async with db.tenant_transaction(engine, None) as conn:
            await conn.execute(PID)
            raise RuntimeError("the command failed")

    with pytest.raises(RuntimeError):
        await failing_command()
    async with db.tenant_transaction(engine, None):
        pass
    assert checkouts == [2]  # not kept: checked out again (the pool resets it on return)


async def test_a_kept_connection_whose_backend_was_terminated_is_replaced(
    engine: AsyncEngine, admin_engine: AsyncEngine
) -> None:
    async with db.tenant_transaction(engine, None) as conn:
        pid = await conn.scalar(PID)
    async with admin_engine.connect() as admin:
        assert await admin.scalar(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    await asyncio.sleep(0.2)  # the driver reads the server's goodbye
    async with db.tenant_transaction(engine, None) as conn:
        assert await conn.scalar(PID) != pid


async def test_disposing_of_the_engine_closes_the_kept_connections(
    database: Database, admin_engine: AsyncEngine
) -> None:
    engine = db.create_app_engine(database.app_url, 2)
    async with db.tenant_transaction(engine, None) as conn:
        pid = await conn.scalar(PID)
    await engine.dispose()
    async with admin_engine.connect() as admin:
        for _ in range(50):  # the server ends the backend a moment after the goodbye
            alive = await admin.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
            )
            if not alive:
                break
            await asyncio.sleep(0.02)
    assert alive == 0


async def test_a_command_that_checks_the_social_map_runs_on_its_one_connection(
    engine: AsyncEngine,
) -> None:
    tenants = await load_tenants(engine)
    deps = Dependencies(engine, EventStore(EventRegistry(rc.EVENT_TYPES)), tenants)
    principal = Principal("connection-tester", tenants["jade-zorggroep"], frozenset({"caseworker"}))
    country, partner = sorted((await partner_organisations(engine)).items())[0]
    case_id = uuid.uuid4()
    opening = rc.OpenReturnCase(
        case_id, dt.date(2026, 2, 1), "P-connections", v.Gender.FEMALE, 1990, country, country,
        ("en",), (v.ExploitationForm.FORCED_BEGGING,),
    )  # fmt: skip
    await handle(deps, principal, opening, expected_version=0, idempotency_key=None,
                 request_id="connections")  # fmt: skip
    checkouts = _count_checkouts(engine)
    consent = rc.GiveConsent(case_id, partner, "", v.ConsentPurpose.REFERRAL, dt.date(2026, 2, 2))
    result = await handle(deps, principal, consent, expected_version=1, idempotency_key="c-1",
                          request_id="connections")  # fmt: skip
    assert result.version == 2
    assert checkouts == [0]  # the check read the social map in the command's transaction


async def test_a_transaction_cancelled_during_its_begin_leaves_no_transaction_behind(
    database: Database, admin_engine: AsyncEngine
) -> None:
    # A plain engine of one connection: the next transaction gets whatever the first one left.
    engine = create_async_engine(database.admin_url, pool_size=1, max_overflow=0)
    marker = f"cancelled_begin_{uuid.uuid4().hex[:10]}"

    async def begin_slowly() -> None:
        async with db.tenant_transaction(engine, None, setup=f"SELECT pg_sleep(30) AS {marker}"):
            pass

    try:
        task = asyncio.create_task(begin_slowly())
        for _ in range(600):  # until its BEGIN is on the server
            async with admin_engine.connect() as conn:
                seen = await conn.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE :q"),
                    {"q": f"BEGIN%{marker}%"},
                )
            if seen:
                break
            await asyncio.sleep(0.05)
        assert seen == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        table = f"scratch_{marker}"
        async with db.tenant_transaction(engine, None) as conn:
            await conn.execute(text(f"CREATE TABLE {table} ()"))

        async with admin_engine.connect() as conn:  # committed for everyone
            assert await conn.scalar(text("SELECT to_regclass(:t)::text"), {"t": table}) == table
            await conn.execute(text(f"DROP TABLE {table}"))
            await conn.commit()
    finally:
        await engine.dispose()
