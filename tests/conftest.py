"""One PostgreSQL per test run: the embedded server (or ``DATABASE_URL``), a fresh database."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service import db
from service.auth import ensure_key_pair, issue_token
from service.config import Settings, load_settings
from service.privacy.cipher import PersonalDataCipher
from service.privacy.keys import load_master_keyring

ROOT = Path(__file__).resolve().parent.parent
APP_ROLE = "safe_future_app"
APP_PASSWORD = "test-only-" + uuid.uuid4().hex


@dataclass(frozen=True)
class Database:
    admin_url: URL
    app_url: URL


@pytest.fixture(scope="session")
def _server() -> Iterator[URL]:
    external = os.environ.get("DATABASE_URL")
    if external:
        yield db.to_async_url(external)
        return
    server = db.EmbeddedServer(ROOT / ".data" / "test-pg")
    yield server.admin_url("postgres")


@asynccontextmanager
async def fresh_database(server: URL, prefix: str = "sf_test") -> AsyncIterator[Database]:
    """A new, migrated database on ``server``, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin_url = server.set(database=name)
    await db.ensure_database(admin_url)
    await db.migrate(admin_url, APP_ROLE, APP_PASSWORD)
    try:
        yield Database(admin_url, db.app_url(admin_url, APP_ROLE, APP_PASSWORD))
    finally:
        maintenance = create_async_engine(server, isolation_level="AUTOCOMMIT")
        async with maintenance.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await maintenance.dispose()


@pytest.fixture(scope="session")
async def database(_server: URL) -> AsyncIterator[Database]:
    async with fresh_database(_server) as made:
        yield made


@pytest.fixture(scope="session")
async def app_engine(database: Database) -> AsyncIterator[AsyncEngine]:
    engine = db.create_app_engine(database.app_url, 5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def admin_engine(database: Database) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database.admin_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("data")
    s = load_settings({"SAFE_FUTURE_DATA_DIR": str(data_dir), "SAFE_FUTURE_MAX_PAGE_SIZE": "50"})
    ensure_key_pair(s.jwt_private_key_file, s.jwt_public_key_file)
    return s


@pytest.fixture(scope="session")
def cipher(settings: Settings) -> PersonalDataCipher:
    """The app's cipher: the master key development generates in the test data folder."""
    return PersonalDataCipher(load_master_keyring(settings))


TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def make_token(settings: Settings) -> TokenFactory:
    private = settings.jwt_private_key_file.read_bytes()

    def make(org: str = "moviera", *roles: str, subject: str | None = None) -> str:
        return issue_token(
            private,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            subject=subject or f"user-of-{org}",
            organisation=org,
            roles=roles or ("caseworker",),
        )

    return make
