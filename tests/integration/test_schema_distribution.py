"""The live schema keeps every tenant's data co-locatable and isolated.

These are the constraints that let the database scale out by tenant (Citus with ``tenant_id``
as distribution column and shared data as reference tables): see docs/scaling.md.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

TENANT_TABLES = """
SELECT c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
              AND a.attname = 'tenant_id' AND NOT a.attisdropped)
"""

PRIMARY_KEYS = """
SELECT con.conrelid, array_agg(a.attname) AS columns
FROM pg_constraint con
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = ANY(con.conkey)
WHERE con.contype = 'p' GROUP BY con.conrelid, con.oid
"""

FOREIGN_KEYS = """
SELECT con.conname, con.conrelid, con.confrelid,
       (SELECT array_agg(a.attname ORDER BY k.ord)
        FROM unnest(con.conkey) WITH ORDINALITY k(n, ord)
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n) AS columns,
       (SELECT array_agg(a.attname ORDER BY k.ord)
        FROM unnest(con.confkey) WITH ORDINALITY k(n, ord)
        JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n) AS referenced
FROM pg_constraint con WHERE con.contype = 'f'
"""


async def _inspect(
    admin: AsyncEngine,
) -> tuple[dict[int, object], dict[int, list[str]], list[object]]:
    async with admin.connect() as conn:
        tables = {r.oid: r for r in await conn.execute(text(TENANT_TABLES))}
        keys = {r.conrelid: list(r.columns) for r in await conn.execute(text(PRIMARY_KEYS))}
        fks = list(await conn.execute(text(FOREIGN_KEYS)))
    return tables, keys, fks


async def test_tenant_tables_have_forced_rls_and_tenant_id_in_their_primary_key(
    admin_engine: AsyncEngine,
) -> None:
    tables, keys, _ = await _inspect(admin_engine)
    assert tables, "no tenant tables found"
    problems = []
    for oid, table in tables.items():
        name = table.relname  # type: ignore[attr-defined]
        if not (table.relrowsecurity and table.relforcerowsecurity):  # type: ignore[attr-defined]
            problems.append(f"{name}: row-level security is not enabled and forced")
        if "tenant_id" not in keys.get(oid, []):
            problems.append(f"{name}: primary key lacks tenant_id")
    assert problems == []


async def test_foreign_keys_between_tenant_tables_carry_tenant_id(
    admin_engine: AsyncEngine,
) -> None:
    tables, _, fks = await _inspect(admin_engine)
    problems = []
    for fk in fks:
        if fk.conrelid in tables and fk.confrelid in tables:  # type: ignore[attr-defined]
            pairs = dict(zip(fk.columns, fk.referenced, strict=True))  # type: ignore[attr-defined]
            if pairs.get("tenant_id") != "tenant_id":
                problems.append(f"{fk.conname}: does not match tenant_id to tenant_id")  # type: ignore[attr-defined]
    assert problems == []
