"""Database access: the embedded server, engines, migrations and tenant-scoped transactions.

Two identities reach the database:

* the *owner* (``DATABASE_URL``, or the embedded server's bootstrap superuser) runs migrations
  and seeding, and owns every table;
* the *service role* (``safe_future_app`` by default) is what the running service connects as:
  a login role that is not superuser, has no ``BYPASSRLS``, owns nothing and holds only the
  privileges that migrations grant it. Row-level security applies to it in full.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from service.config import Settings

_MIGRATION_LOCK = 0x5AFE_F07E  # advisory lock key held while migrating
# Beside ``service/`` both in a checkout and in an installed wheel (which ships ``migrations``).
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
EMBEDDED_DATABASE = "safe_future"


class EmbeddedServer:
    """A PostgreSQL server run by ``pgserver`` with its data in a folder of ours."""

    def __init__(self, pgdata: Path) -> None:
        try:  # imported here: starting a server is never import-time work
            import pgserver
        except ImportError as exc:
            raise RuntimeError(
                "no DATABASE_URL and no embedded PostgreSQL: install the 'embedded' extra"
            ) from exc

        pgdata.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(pgdata)
        self._server: Any = pgserver.get_server(  # type: ignore[attr-defined]
            pgdata, cleanup_mode="stop"
        )
        self.socket_dir = str(pgdata)

    def admin_url(self, database: str = EMBEDDED_DATABASE) -> URL:
        return URL.create(
            "postgresql+asyncpg",
            username="postgres",
            database=database,
            query={"host": self.socket_dir},
        )

    def cleanup(self) -> None:
        self._server.cleanup()


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop the processes that died without saying so from the server's list of users.

    ``pgserver`` stops the server when the last process using it exits cleanly, and keeps the
    users' process ids in a file. A process killed with ``kill -9`` never removes its id, so
    the server would never be stopped again; ids of processes that no longer run are removed.
    """
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList, process_is_running

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    with PostgresServer._lock:
        users = DiskList(handles)
        alive = [pid for pid in users.get() if pid == os.getpid() or process_is_running(pid)]
        users.put(alive)


def to_async_url(url: str | URL) -> URL:
    """Normalise a PostgreSQL URL to the asyncpg driver."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql+asyncpg")


def app_url(admin_url: URL, role: str, password: str | None) -> URL:
    """The service role's URL: the owner's server and database with the service's identity."""
    return admin_url.set(username=role, password=password)


async def ensure_database(admin_url: URL) -> None:
    """Create the database named in ``admin_url`` when it does not exist yet."""
    name = admin_url.database
    if name is None:
        return
    engine = create_async_engine(
        admin_url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=None
    )
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            )
            if not exists:
                quoted = '"' + name.replace('"', '""') + '"'
                await conn.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        await engine.dispose()


def app_password(settings: Settings) -> str | None:
    """The service role's password: configured, or generated once in the data folder."""
    if settings.app_db_password is not None:
        return settings.app_db_password
    path = settings.data_dir / "app-db-password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def _revision_imports(migrations_dir: Path) -> None:
    """Revisions import ``migration_helpers`` from their folder: make it importable.

    Alembic's ``env.py`` does this when migrating; reading the revisions without migrating (the
    API's readiness check, when ``serve`` skips migrating in production) needs it too.
    """
    folder = str(migrations_dir.resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)


def migration_heads(migrations_dir: Path = MIGRATIONS_DIR) -> tuple[str, ...]:
    """The head revisions the code expects the database to be at."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    if not (migrations_dir / "env.py").is_file():
        raise RuntimeError(f"no migrations in {migrations_dir}: set SAFE_FUTURE_MIGRATIONS_DIR")
    _revision_imports(migrations_dir)
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    script = ScriptDirectory.from_config(cfg)
    # A head that another revision depends on is not kept in ``alembic_version`` once that
    # revision is applied: it is implied by it.
    implied = {
        dep
        for rev in script.walk_revisions()
        for dep in (
            (rev.dependencies,) if isinstance(rev.dependencies, str) else rev.dependencies or ()
        )
    }
    return tuple(h for h in script.get_heads() if h not in implied)


def _alembic_upgrade(sync_conn: Connection, role: str, revision: str, migrations_dir: Path) -> None:
    from alembic import command
    from alembic.config import Config

    _revision_imports(migrations_dir)
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.attributes["connection"] = sync_conn
    cfg.attributes["app_role"] = role
    command.upgrade(cfg, revision)


async def migrate(
    admin_url: URL,
    role: str,
    password: str | None,
    revision: str = "heads",
    migrations_dir: Path = MIGRATIONS_DIR,
) -> None:
    """Apply migrations as the owner, then give the service role its password.

    Several instances may start at once: an advisory lock makes them migrate one after the
    other, and a role change that collides with another database's (the role is
    cluster-wide: "tuple concurrently updated") is tried again.
    """
    engine = create_async_engine(admin_url)
    try:
        for attempt in range(5):
            try:
                async with engine.begin() as conn:
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK}
                    )
                    await conn.run_sync(_alembic_upgrade, role, revision, migrations_dir)
                if password is not None:
                    async with engine.begin() as conn:
                        quoted_pw = "'" + password.replace("'", "''") + "'"
                        await conn.execute(
                            text(f'ALTER ROLE "{role}" WITH LOGIN PASSWORD {quoted_pw}')
                        )
                return
            except DBAPIError as exc:
                if "concurrently" not in str(exc.orig) or attempt == 4:
                    raise
                await asyncio.sleep(0.1 * (attempt + 1))
    finally:
        await engine.dispose()


def create_app_engine(url: URL, pool_size: int) -> AsyncEngine:
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


@asynccontextmanager
async def tenant_transaction(
    engine: AsyncEngine, tenant_id: uuid.UUID | None
) -> AsyncIterator[AsyncConnection]:
    """One transaction with ``app.tenant_id`` set for its duration only.

    Row-level security policies read this setting; with ``tenant_id=None`` the setting stays
    empty and every tenant-owned table shows no rows.
    """
    async with engine.begin() as conn:
        if tenant_id is not None:
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
            )
        yield conn
