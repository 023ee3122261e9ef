"""The database itself enforces tenancy, least privilege and an append-only log."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import tenant_transaction

TENANT_TABLES_SQL = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r'
  AND EXISTS (SELECT 1 FROM pg_attribute a
              WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
"""


async def _tenant_id(engine: AsyncEngine, slug: str) -> uuid.UUID:
    async with engine.connect() as conn:
        value = await conn.scalar(text("SELECT id FROM tenants WHERE slug = :s"), {"s": slug})
    assert isinstance(value, uuid.UUID)
    return value


async def _insert_event(engine: AsyncEngine, tenant: uuid.UUID) -> uuid.UUID:
    stream = uuid.uuid4()
    async with tenant_transaction(engine, tenant) as conn:
        await conn.execute(text("SELECT events_writer_begin()"))  # as every event writer does
        await conn.execute(
            text(
                "INSERT INTO events (tenant_id, stream_id, stream_type, version, event_type, "
                "schema_version, payload, metadata, occurred_at) VALUES "
                "(:t, :s, 'Test', 1, 'Probe', 1, '{}', '{}', now())"
            ),
            {"t": tenant, "s": stream},
        )
    return stream


async def test_service_role_is_least_privileged(app_engine: AsyncEngine) -> None:
    async with app_engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT rolsuper, rolbypassrls, rolcreatedb, rolcreaterole "
                    "FROM pg_roles WHERE rolname = current_user"
                )
            )
        ).one()
        owned = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user"
            )
        )
    assert tuple(row) == (False, False, False, False)
    assert owned == 0


async def test_every_tenant_table_has_forced_row_level_security(admin_engine: AsyncEngine) -> None:
    async with admin_engine.connect() as conn:
        rows = (await conn.execute(text(TENANT_TABLES_SQL))).all()
    assert {r.relname for r in rows} >= {"events", "return_cases", "case_timeline"}
    assert [r.relname for r in rows if not (r.relrowsecurity and r.relforcerowsecurity)] == []


async def test_without_tenant_setting_tenant_tables_show_no_rows(
    app_engine: AsyncEngine, admin_engine: AsyncEngine
) -> None:
    await _insert_event(app_engine, await _tenant_id(app_engine, "moviera"))
    async with admin_engine.connect() as conn:
        tables = [r.relname for r in await conn.execute(text(TENANT_TABLES_SQL))]
    async with tenant_transaction(app_engine, None) as conn:
        for table in tables:
            assert await conn.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table


async def test_tenant_sees_only_its_own_events(app_engine: AsyncEngine) -> None:
    moviera = await _tenant_id(app_engine, "moviera")
    blijf = await _tenant_id(app_engine, "blijf-groep")
    stream = await _insert_event(app_engine, moviera)
    async with tenant_transaction(app_engine, blijf) as conn:
        seen = await conn.scalar(
            text("SELECT count(*) FROM events WHERE stream_id = :s"), {"s": stream}
        )
    assert seen == 0


async def test_service_role_cannot_write_rows_of_another_tenant(app_engine: AsyncEngine) -> None:
    moviera = await _tenant_id(app_engine, "moviera")
    blijf = await _tenant_id(app_engine, "blijf-groep")
    with pytest.raises(DBAPIError, match="row-level security"):  # noqa: PT012
        async with tenant_transaction(app_engine, blijf) as conn:
            await conn.execute(text("SELECT events_writer_begin()"))
            await conn.execute(
                text(
                    "INSERT INTO events (tenant_id, stream_id, stream_type, version, event_type, "
                    "schema_version, payload, metadata, occurred_at) VALUES "
                    "(:t, :s, 'Test', 1, 'Probe', 1, '{}', '{}', now())"
                ),
                {"t": moviera, "s": uuid.uuid4()},
            )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET event_type = 'Changed' WHERE stream_id = :s",
        "DELETE FROM events WHERE stream_id = :s",
        "TRUNCATE events",
    ],
)
async def test_service_role_cannot_change_the_event_log(
    app_engine: AsyncEngine, statement: str
) -> None:
    moviera = await _tenant_id(app_engine, "moviera")
    stream = await _insert_event(app_engine, moviera)
    with pytest.raises(DBAPIError, match="permission denied"):
        async with tenant_transaction(app_engine, moviera) as conn:
            await conn.execute(text(statement), {"s": stream})
    async with tenant_transaction(app_engine, moviera) as conn:
        kept = await conn.scalar(
            text("SELECT count(*) FROM events WHERE stream_id = :s AND event_type = 'Probe'"),
            {"s": stream},
        )
    assert kept == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET event_type = 'Changed' WHERE stream_id = :s",
        "DELETE FROM events WHERE stream_id = :s",
        "TRUNCATE events",
    ],
)
async def test_even_the_owner_cannot_change_the_event_log(
    app_engine: AsyncEngine, admin_engine: AsyncEngine, statement: str
) -> None:
    stream = await _insert_event(app_engine, await _tenant_id(app_engine, "moviera"))
    with pytest.raises(DBAPIError, match="append-only"):
        async with admin_engine.begin() as conn:
            await conn.execute(text(statement), {"s": stream})


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("transaction_id", "CAST('1' AS xid8)"),
        ("recorded_at", "TIMESTAMPTZ '2001-01-01 00:00+00'"),
        ("global_position", "1"),
    ],
)
async def test_the_service_role_cannot_choose_an_events_database_stamps(
    app_engine: AsyncEngine, column: str, value: str
) -> None:
    """A forged transaction id (or position, or time) would sit behind every integrator's
    cursor and never be delivered: only the database stamps them."""
    moviera = await _tenant_id(app_engine, "moviera")
    overriding = " OVERRIDING SYSTEM VALUE" if column == "global_position" else ""
    with pytest.raises(DBAPIError, match="permission denied"):  # noqa: PT012
        async with tenant_transaction(app_engine, moviera) as conn:
            await conn.execute(text("SELECT events_writer_begin()"))
            await conn.execute(
                text(
                    "INSERT INTO events (tenant_id, stream_id, stream_type, version, event_type, "
                    f"schema_version, payload, metadata, occurred_at, {column}){overriding} "
                    f"VALUES (:t, :s, 'Test', 1, 'Probe', 1, '{{}}', '{{}}', now(), {value})"
                ),
                {"t": moviera, "s": uuid.uuid4()},
            )


async def test_an_event_carries_its_writers_transaction_id_and_the_database_time(
    app_engine: AsyncEngine,
) -> None:
    moviera = await _tenant_id(app_engine, "moviera")
    async with tenant_transaction(app_engine, moviera) as conn:
        await conn.execute(text("SELECT events_writer_begin()"))
        stream = uuid.uuid4()
        await conn.execute(
            text(
                "INSERT INTO events (tenant_id, stream_id, stream_type, version, event_type, "
                "schema_version, payload, metadata, occurred_at) VALUES "
                "(:t, :s, 'Test', 1, 'Probe', 1, '{}', '{}', now())"
            ),
            {"t": moviera, "s": stream},
        )
        row = (
            await conn.execute(
                text(
                    "SELECT transaction_id = pg_current_xact_id(), "
                    "recorded_at BETWEEN now() AND clock_timestamp() "
                    "FROM events WHERE stream_id = :s"
                ),
                {"s": stream},
            )
        ).one()
    assert tuple(row) == (True, True)


async def test_an_append_without_announcing_the_writer_first_is_refused(
    app_engine: AsyncEngine,
) -> None:
    """The feed's horizon waits only for announced writers: an unannounced one is refused."""
    moviera = await _tenant_id(app_engine, "moviera")
    with pytest.raises(DBAPIError, match="events_writer_begin"):
        async with tenant_transaction(app_engine, moviera) as conn:
            await conn.execute(
                text(
                    "INSERT INTO events (tenant_id, stream_id, stream_type, version, event_type, "
                    "schema_version, payload, metadata, occurred_at) VALUES "
                    "(:t, :s, 'Test', 1, 'Probe', 1, '{}', '{}', now())"
                ),
                {"t": moviera, "s": uuid.uuid4()},
            )
    with pytest.raises(DBAPIError, match="announce itself before its first write"):  # noqa: PT012
        async with tenant_transaction(app_engine, moviera) as conn:
            await conn.execute(text("SELECT pg_current_xact_id()"))
            await conn.execute(text("SELECT events_writer_begin()"))


async def test_the_service_role_cannot_write_the_access_log_directly(
    app_engine: AsyncEngine,
) -> None:
    moviera = await _tenant_id(app_engine, "moviera")
    with pytest.raises(DBAPIError, match="permission denied"):
        async with tenant_transaction(app_engine, moviera) as conn:
            await conn.execute(
                text(
                    "INSERT INTO personal_data_access_log (tenant_id, id, accessed_at, actor, "
                    "organisation, roles, case_id, fields, request_id) VALUES (:t, :i, "
                    "TIMESTAMPTZ '2001-01-01 00:00+00', 'someone-else', 'moviera', "
                    "'{caseworker}', :c, '{fullName}', 'forged')"
                ),
                {"t": moviera, "i": uuid.uuid4(), "c": uuid.uuid4()},
            )


async def test_the_access_log_function_stamps_tenant_actor_and_time(
    app_engine: AsyncEngine,
) -> None:
    moviera = await _tenant_id(app_engine, "moviera")
    case = uuid.uuid4()
    async with tenant_transaction(app_engine, moviera) as conn:
        with pytest.raises(DBAPIError, match="no tenant or actor"):
            async with conn.begin_nested():
                await conn.execute(
                    text(
                        "SELECT record_personal_data_access('moviera', '{caseworker}', 'r', "
                        "CAST(:c AS uuid[]), '{fullName}')"
                    ),
                    {"c": [case]},
                )
        await conn.execute(text("SELECT set_config('app.actor', 'the-reader', true)"))
        written = await conn.scalar(
            text(
                "SELECT record_personal_data_access('moviera', '{caseworker}', 'r', "
                "CAST(:c AS uuid[]), '{fullName}')"
            ),
            {"c": [case]},
        )
        row = (
            await conn.execute(
                text(
                    "SELECT tenant_id, actor, accessed_at BETWEEN now() AND clock_timestamp() "
                    "FROM personal_data_access_log WHERE case_id = :c"
                ),
                {"c": case},
            )
        ).one()
    assert written == 1
    assert tuple(row) == (moviera, "the-reader", True)
