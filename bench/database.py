"""A fresh database per run, on the embedded server or on ``DATABASE_URL``, and its settings.

The embedded server keeps its data in ``.data/bench-pg`` (apart from development and tests);
every run creates a database ``sf_bench_<random>``, migrates it, seeds the social map (with
the fictional demo organisations, which give the generated cases partners in their countries
of origin) and drops it at the end. Keys (token signing, service key, master key) live in
``.data/bench``, shared with the ``safe-future serve`` subprocesses the run starts.

On ``DATABASE_URL`` the owner named there needs ``CREATEDB`` and ``CREATEROLE`` (as for
``make test``), and ``BYPASSRLS`` (or superuser) for the fast bulk load; without it the
generator falls back to batched ``INSERT``s under each tenant's setting.
"""

from __future__ import annotations

import io
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench.common import ROOT
from service import db
from service.auth import ensure_key_pair, issue_token, load_signing_key
from service.config import Settings, load_settings

ROLE = "safe_future_app"
PG_DATA = ROOT / ".data" / "bench-pg"
DATA_DIR = ROOT / ".data" / "bench"


def asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class BenchDatabase:
    base: URL
    name: str
    admin_url: URL
    app_url: URL
    password: str
    server: db.EmbeddedServer | None
    env: dict[str, str]
    settings: Settings
    # The owner's rights without its RLS bypass (see ``rebuild_identity``); None = the owner.
    rebuild_url: URL | None = None
    rebuild_role: str | None = None

    @property
    def external(self) -> bool:
        return self.server is None

    def owner_engine(self, pool_size: int = 2) -> AsyncEngine:
        return create_async_engine(self.admin_url, pool_size=pool_size, max_overflow=pool_size)

    def app_engine(self, pool_size: int) -> AsyncEngine:
        return db.create_app_engine(self.app_url, pool_size)

    async def owner_connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(asyncpg_dsn(self.admin_url))

    async def app_connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(asyncpg_dsn(self.app_url))

    def token(self, organisation: str, roles: tuple[str, ...] = ("caseworker",)) -> str:
        import datetime as dt

        return issue_token(
            self.settings.jwt_private_key_file.read_bytes(),
            issuer=self.settings.jwt_issuer,
            audience=self.settings.jwt_audience,
            subject=f"bench-{organisation}",
            organisation=organisation,
            roles=roles,
            lifetime=dt.timedelta(hours=2),
        )

    def signing_key(self) -> bytes:
        return load_signing_key(self.settings)

    async def server_facts(self) -> dict[str, Any]:
        conn = await self.owner_connect()
        try:
            facts: dict[str, Any] = {"server_version": await conn.fetchval("SHOW server_version")}
            for name in (
                "shared_buffers",
                "work_mem",
                "synchronous_commit",
                "fsync",
                "max_connections",
            ):
                facts[name] = await conn.fetchval(f"SHOW {name}")
            facts["embedded"] = not self.external
            return facts
        finally:
            await conn.close()

    async def drop(self) -> None:
        maintenance = create_async_engine(
            self.base.set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        try:
            async with maintenance.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
                if self.rebuild_role is not None:
                    await conn.execute(text(f'DROP ROLE IF EXISTS "{self.rebuild_role}"'))
        finally:
            await maintenance.dispose()
        if self.server is not None:
            self.server.cleanup()


async def create() -> BenchDatabase:
    """Start (or reach) the server, create and migrate a fresh database, seed the social map."""
    external = os.environ.get("DATABASE_URL")
    server = None
    if external:
        base = db.to_async_url(external)
    else:
        server = db.EmbeddedServer(PG_DATA)
        base = server.admin_url("postgres")
    name = f"sf_bench_{uuid.uuid4().hex[:10]}"
    admin_url = base.set(database=name)
    password = "bench-" + uuid.uuid4().hex
    await db.ensure_database(admin_url)
    await db.migrate(admin_url, ROLE, password)
    from service.socialmap import commands

    await commands.seed_database(admin_url, demo=True, out=io.StringIO())
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": admin_url.render_as_string(hide_password=False),
        "SAFE_FUTURE_APP_DB_ROLE": ROLE,
        "SAFE_FUTURE_APP_DB_PASSWORD": password,
        "SAFE_FUTURE_DATA_DIR": str(DATA_DIR),
        "SAFE_FUTURE_MODE": "development",
    }
    settings = load_settings(env)
    ensure_key_pair(settings.jwt_private_key_file, settings.jwt_public_key_file)
    load_signing_key(settings)  # made once here, so every process of the run shares them
    master_keyring(settings)
    bench_db = BenchDatabase(
        base=base,
        name=name,
        admin_url=admin_url,
        app_url=db.app_url(admin_url, ROLE, password),
        password=password,
        server=server,
        env=env,
        settings=settings,
    )
    await rebuild_identity(bench_db)
    return bench_db


async def rebuild_identity(bench_db: BenchDatabase) -> None:
    """A login role with the owner's rights but without its bypass of row-level security.

    ``rebuild_cases`` reads each tenant's log under that tenant's setting and relies on
    row-level security to see only that tenant's events ("RLS is forced even for the owner").
    A superuser (the embedded server's owner) or a ``BYPASSRLS`` owner sees every tenant's
    events in every tenant's pass: the rebuild then folds the whole log once per tenant
    (seven times here). The rebuild is measured as an owner without that bypass would run
    it: a role that is a member of the owner (so it may create, rename and drop its tables)
    but is neither superuser nor ``BYPASSRLS``.
    """
    conn = await bench_db.owner_connect()
    try:
        owner = await conn.fetchrow(
            "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        if not (owner["rolsuper"] or owner["rolbypassrls"]):
            return
        role = f"{bench_db.name}_owner"
        quoted = bench_db.password.replace("'", "''")
        await conn.execute(
            f"CREATE ROLE \"{role}\" LOGIN NOSUPERUSER NOBYPASSRLS INHERIT PASSWORD '{quoted}'"
        )
        bench_db.rebuild_role = role
        await conn.execute(f'GRANT "{owner["rolname"]}" TO "{role}"')
        bench_db.rebuild_url = bench_db.admin_url.set(username=role, password=bench_db.password)
    finally:
        await conn.close()


def master_keyring(settings: Settings) -> Any:
    from service.privacy.keys import load_master_keyring

    return load_master_keyring(settings)


def data_dir() -> Path:
    return DATA_DIR
