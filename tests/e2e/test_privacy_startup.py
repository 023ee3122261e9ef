"""The service refuses to start in production mode without a master key, and anywhere
without the current key-encryption key."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.app import create_app
from service.auth import load_signing_key
from service.config import ConfigError, Settings, load_settings
from service.privacy.kek import KekRing, KekUnavailable
from service.privacy.keys import load_master_keyring
from service.privacy.rotation import check_rotation
from tests.conftest import APP_PASSWORD, Database


async def test_production_without_a_master_key_does_not_start(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    load_signing_key(settings)
    production = load_settings({
        "SAFE_FUTURE_MODE": "production", "SAFE_FUTURE_DATA_DIR": str(tmp_path),
        "DATABASE_URL": database.admin_url.render_as_string(hide_password=False),
        "SAFE_FUTURE_APP_DB_PASSWORD": APP_PASSWORD,
        "SAFE_FUTURE_JWT_PUBLIC_KEY_FILE": str(settings.jwt_public_key_file),
        "SAFE_FUTURE_SIGNING_KEY_FILE": str(settings.signing_key_file),
        "SAFE_FUTURE_MASTER_KEY_FILE": str(tmp_path / "absent.key"),
    })  # fmt: skip
    unconfigured = dataclasses.replace(production, master_key=None, master_key_file=None)
    for broken in (production, unconfigured):
        app = create_app(broken, database.app_url)
        with pytest.raises(ConfigError, match=r"master key|MASTER_KEY"):
            async with app.router.lifespan_context(app):
                pass  # pragma: no cover - never reached
    assert not (tmp_path / "keys").exists()  # and production never generates one


async def test_an_instance_without_the_current_key_encryption_key_does_not_start(
    database: Database, settings: Settings, tmp_path: Path, app_engine: AsyncEngine
) -> None:
    # Make sure the database has a current KEK (in the session's KEK directory).
    await check_rotation(
        app_engine,
        KekRing(load_master_keyring(settings), settings.kek_dir),
        max_age=dt.timedelta(days=7),
        margin=dt.timedelta(minutes=1),
    )
    elsewhere = dataclasses.replace(settings, kek_dir_setting=tmp_path / "other-kek")
    app = create_app(elsewhere, database.app_url)
    with pytest.raises(KekUnavailable, match="SAFE_FUTURE_KEK_DIR"):
        async with app.router.lifespan_context(app):
            pass  # pragma: no cover - never reached
    assert not (tmp_path / "other-kek").exists()  # and it made no key of its own there


async def test_the_service_rotates_an_overdue_key_encryption_key_by_itself(
    database: Database, settings: Settings, app_engine: AsyncEngine, admin_engine: AsyncEngine
) -> None:
    ring = KekRing(load_master_keyring(settings), settings.kek_dir)
    week, minute = dt.timedelta(days=7), dt.timedelta(minutes=1)
    await check_rotation(app_engine, ring, max_age=week, margin=minute)
    async with admin_engine.begin() as conn:
        old = await conn.scalar(
            text(
                "UPDATE key_encryption_keys SET activated_at = now() - interval '25 hours' "
                "WHERE state = 'current' RETURNING kek_id"
            )
        )
    assert ring.files.read(old) is not None
    state = "current"
    app = create_app(settings, database.app_url)
    async with app.router.lifespan_context(app):
        for _ in range(500):  # the schedule checks at start-up, then every 5 minutes
            async with admin_engine.connect() as conn:
                state = await conn.scalar(
                    text("SELECT state FROM key_encryption_keys WHERE kek_id = :k"), {"k": old}
                )
            if state == "destroyed":
                break
            await asyncio.sleep(0.02)
    assert state == "destroyed"
    assert ring.files.read(old) is None
