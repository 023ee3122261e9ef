"""The database itself protects the privacy tables: an append-only access log, key rows the
service may destroy but never alter, and every one of them tenant-scoped."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import tenant_transaction
from service.privacy import access_log

PRIVACY_TABLES = ("data_keys", "destroyed_data_keys", "personal_data_access_log")


async def _tenant(engine: AsyncEngine, slug: str) -> uuid.UUID:
    async with engine.connect() as conn:
        value = await conn.scalar(text("SELECT id FROM tenants WHERE slug = :s"), {"s": slug})
    assert isinstance(value, uuid.UUID)
    return value


async def _record(engine: AsyncEngine, tenant: uuid.UUID) -> uuid.UUID:
    case_id = uuid.uuid4()
    async with tenant_transaction(engine, tenant) as conn:
        await access_log.record_reads(
            conn, tenant_id=tenant, actor="reader", organisation="moviera",
            roles=["caseworker"], request_id="r-1", reads={case_id: {"fullName"}},
        )  # fmt: skip
    return case_id


async def test_privacy_tables_are_tenant_scoped_with_forced_rls(admin_engine: AsyncEngine) -> None:
    async with admin_engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relname = ANY(:t) AND relkind = 'r' ORDER BY relname"
                ),
                {"t": list(PRIVACY_TABLES)},
            )
        ).all()
    assert [tuple(r) for r in rows] == [(t, True, True) for t in sorted(PRIVACY_TABLES)]


@pytest.mark.parametrize(
    ("table", "allowed"),
    [
        ("data_keys", {"SELECT", "INSERT", "DELETE"}),
        ("destroyed_data_keys", {"SELECT", "INSERT"}),
        # Records are written only through record_personal_data_access (it stamps them).
        ("personal_data_access_log", {"SELECT"}),
    ],
)
async def test_the_service_role_holds_only_the_privileges_it_needs(
    app_engine: AsyncEngine, table: str, allowed: set[str]
) -> None:
    privileges = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    async with app_engine.connect() as conn:
        held = {
            p
            for p in privileges
            if await conn.scalar(
                text("SELECT has_table_privilege(current_user, :t, :p)"), {"t": table, "p": p}
            )
        }
    assert held == allowed


async def test_the_access_log_records_and_another_tenant_sees_none_of_it(
    app_engine: AsyncEngine,
) -> None:
    moviera = await _tenant(app_engine, "moviera")
    blijf = await _tenant(app_engine, "blijf-groep")
    case_id = await _record(app_engine, moviera)
    async with tenant_transaction(app_engine, moviera) as conn:
        mine = await access_log.list_records(conn, case_id=case_id, actor=None, limit=5, after=None)
    async with tenant_transaction(app_engine, blijf) as conn:
        theirs = await access_log.list_records(
            conn, case_id=case_id, actor=None, limit=5, after=None
        )
    assert [(r.actor, r.fields, r.request_id) for r in mine] == [("reader", ("fullName",), "r-1")]
    assert theirs == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE personal_data_access_log SET actor = 'someone else' WHERE case_id = :c",
        "DELETE FROM personal_data_access_log WHERE case_id = :c",
        "TRUNCATE personal_data_access_log",
    ],
)
async def test_the_service_role_cannot_change_the_access_log(
    app_engine: AsyncEngine, statement: str
) -> None:
    moviera = await _tenant(app_engine, "moviera")
    case_id = await _record(app_engine, moviera)
    with pytest.raises(DBAPIError, match="permission denied"):
        async with tenant_transaction(app_engine, moviera) as conn:
            await conn.execute(text(statement), {"c": case_id})
    async with tenant_transaction(app_engine, moviera) as conn:
        kept = await conn.scalar(
            text("SELECT count(*) FROM personal_data_access_log "
                 "WHERE case_id = :c AND actor = 'reader'"),
            {"c": case_id},
        )  # fmt: skip
    assert kept == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE personal_data_access_log SET actor = 'someone else' WHERE case_id = :c",
        "DELETE FROM personal_data_access_log WHERE case_id = :c",
        "TRUNCATE personal_data_access_log",
    ],
)
async def test_even_the_owner_cannot_change_the_access_log(
    app_engine: AsyncEngine, admin_engine: AsyncEngine, statement: str
) -> None:
    case_id = await _record(app_engine, await _tenant(app_engine, "moviera"))
    with pytest.raises(DBAPIError, match="append-only"):
        async with admin_engine.begin() as conn:
            await conn.execute(text(statement), {"c": case_id})


async def test_the_service_role_cannot_alter_a_data_key(app_engine: AsyncEngine) -> None:
    moviera = await _tenant(app_engine, "moviera")
    with pytest.raises(DBAPIError, match="permission denied"):
        async with tenant_transaction(app_engine, moviera) as conn:
            await conn.execute(text("UPDATE data_keys SET master_key_id = 'mine'"))


async def test_no_statistics_keep_copies_of_wrapped_keys(admin_engine: AsyncEngine) -> None:
    async with admin_engine.connect() as conn:
        target = await conn.scalar(
            text(
                "SELECT attstattarget FROM pg_attribute "
                "WHERE attrelid = 'data_keys'::regclass AND attname = 'wrapped_key'"
            )
        )
    assert target == 0
