"""The social map in the database: shared tables, least privilege, append-only history, seed."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.auth import Principal, Tenant
from service.socialmap import editing, seed

SHARED_TABLES = (
    "organisations", "organisation_changes", "referral_mechanisms", "referral_mechanism_changes",
)  # fmt: skip


async def test_social_map_tables_hold_no_tenant_data(admin_engine: AsyncEngine) -> None:
    async with admin_engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT c.relname, c.relrowsecurity, "
                    "EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid "
                    "        AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS tenant "
                    "FROM pg_class c WHERE c.relname = ANY(:names) AND c.relkind = 'r'"
                ),
                {"names": list(SHARED_TABLES)},
            )
        ).all()
    assert sorted(r.relname for r in rows) == sorted(SHARED_TABLES)
    assert all(not r.tenant and not r.relrowsecurity for r in rows)


async def test_every_tenant_setting_reads_the_same_organisations(app_engine: AsyncEngine) -> None:
    from service.db import tenant_transaction

    answers = []
    for tenant in (None, uuid.uuid4()):
        async with tenant_transaction(app_engine, tenant) as conn:
            answers.append(
                (
                    await conn.execute(text("SELECT id, version FROM organisations ORDER BY id"))
                ).all()
            )
    assert answers[0] == answers[1]
    assert len(answers[0]) >= len(seed.REAL_ORGANISATIONS)


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM organisations WHERE id = :id",
        "TRUNCATE organisations CASCADE",
        "UPDATE organisations SET demo = true WHERE id = :id",
        "UPDATE organisations SET created_at = now() WHERE id = :id",
        "UPDATE organisations SET id = gen_random_uuid() WHERE id = :id",
        "UPDATE organisation_changes SET actor = 'someone else' WHERE organisation_id = :id",
        "DELETE FROM organisation_changes WHERE organisation_id = :id",
        "TRUNCATE organisation_changes",
        "DELETE FROM referral_mechanisms",
        "UPDATE referral_mechanisms SET created_at = now()",
        "UPDATE referral_mechanism_changes SET actor = 'someone else'",
        "DELETE FROM referral_mechanism_changes",
        "DELETE FROM social_map_suggestions",
        "UPDATE social_map_suggestions SET reason = 'rewritten'",
    ],
)
async def test_the_service_role_holds_only_the_privileges_it_needs(
    app_engine: AsyncEngine, statement: str
) -> None:
    with pytest.raises(DBAPIError, match="permission denied"):
        async with app_engine.begin() as conn:
            await conn.execute(text(statement), {"id": seed.organisation_id("comensha")})


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE organisation_changes SET actor = 'someone else' WHERE organisation_id = :id",
        "DELETE FROM organisation_changes WHERE organisation_id = :id",
        "TRUNCATE organisation_changes",
        "UPDATE referral_mechanism_changes SET actor = 'someone else'",
        "DELETE FROM referral_mechanism_changes",
        "TRUNCATE referral_mechanism_changes",
    ],
)
async def test_even_the_owner_cannot_rewrite_the_history(
    admin_engine: AsyncEngine, statement: str
) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        async with admin_engine.begin() as conn:
            await conn.execute(text(statement), {"id": seed.organisation_id("comensha")})


async def test_the_migration_loaded_the_real_seed_and_no_demo_data(
    admin_engine: AsyncEngine,
) -> None:
    async with admin_engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT o.id, o.demo, c.actor FROM organisations o "
                    "JOIN organisation_changes c ON c.organisation_id = o.id AND c.version = 1 "
                    "WHERE c.actor = 'migration 0013'"
                )
            )
        ).all()
        mechanisms = await conn.scalar(
            text(
                "SELECT count(*) FROM referral_mechanism_changes "
                "WHERE actor = 'migration 0013' AND version = 1"
            )
        )
    assert {r.id for r in rows} == {seed.organisation_id(k) for k in seed.REAL_ORGANISATIONS}
    assert not any(r.demo for r in rows)
    assert mechanisms == len(seed.REFERRAL_MECHANISMS)


async def _history_size(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM organisation_changes")) or 0)


async def test_seeding_is_idempotent_and_never_overwrites_an_edit(
    admin_engine: AsyncEngine, app_engine: AsyncEngine
) -> None:
    await seed.seed(admin_engine, demo=True)
    history = await _history_size(admin_engine)
    again = await seed.seed(admin_engine, demo=True)
    assert again == seed.SeedResult(0, 0, 0)
    assert await _history_size(admin_engine) == history

    comensha = Tenant(uuid.uuid4(), "comensha", "CoMensha", "coordination")
    editor = Principal("editor-1", comensha, frozenset({editing.EDITOR_ROLE}))
    kyiv = seed.organisation_id("demo-kyiv")
    async with admin_engine.connect() as conn:
        version = await conn.scalar(
            text("SELECT version FROM organisations WHERE id = :i"), {"i": kyiv}
        )
    assert isinstance(version, int)
    result = await editing.update(
        app_engine,
        editor,
        kyiv,
        version,
        {"city": "Lviv"},
        request_id="r",
        idempotency_key=None,
        today=dt.date(2026, 11, 29),
    )
    await seed.seed(admin_engine, demo=True)
    async with admin_engine.connect() as conn:
        city = await conn.scalar(text("SELECT city FROM organisations WHERE id = :i"), {"i": kyiv})
    assert (city, result.version) == ("Lviv", version + 1)
