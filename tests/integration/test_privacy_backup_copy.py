"""A copy of the database made before an erasure (data folder with its WAL, as a file-system
backup holds it) no longer gives up the erased client once the key-encryption key rotated,
even to someone who also holds the master key and every key file still on disk.

The test runs its own embedded PostgreSQL in a temporary folder, so it can stop it and copy
the folder freely.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service import db
from service.app import load_tenants
from service.auth import Principal
from service.config import Settings, load_settings
from service.db import tenant_transaction
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.events.sealing import event_purpose
from service.events.store import EventStore
from service.events.types import EventRegistry
from service.handlers.return_case import Dependencies, handle
from service.privacy.cipher import DataKey, PersonalDataCipher
from service.privacy.erasure import erase_client_personal_data
from service.privacy.kek import KekRing
from service.privacy.keys import (
    MasterKeyring,
    TamperedCiphertext,
    load_master_keyring,
    read_key_file,
)
from service.privacy.rotation import rotate_keks
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="runs an embedded server of its own"
)

SLUG = "het-kopland"
ROLE = "safe_future_app"
PASSWORD = "copy-test-" + uuid.uuid4().hex
DATABASE = "sf_copy"


@dataclass(frozen=True)
class KeyRow:
    tenant_id: uuid.UUID
    case_id: uuid.UUID
    key_id: uuid.UUID
    wrapped: bytes


@dataclass(frozen=True)
class Snapshot:
    """What a copy of the database holds of the clients: wrapped keys and sealed events."""

    keys: list[KeyRow]
    events: list[tuple[uuid.UUID, str, int, dict[str, Any]]]


async def snapshot(admin_url: URL) -> Snapshot:
    engine = create_async_engine(admin_url)  # the superuser: row-level security is no bar
    try:
        async with engine.connect() as conn:
            keys = [
                KeyRow(r.tenant_id, r.case_id, r.key_id, bytes(r.wrapped_key))
                for r in await conn.execute(
                    text("SELECT tenant_id, case_id, key_id, wrapped_key FROM data_keys")
                )
            ]
            events = [
                (r.stream_id, r.event_type, r.version, r.personal)
                for r in await conn.execute(
                    text(
                        "SELECT stream_id, event_type, version, personal FROM events "
                        "WHERE personal IS NOT NULL"
                    )
                )
            ]
    finally:
        await engine.dispose()
    return Snapshot(keys, events)


def every_kek_on_disk(settings: Settings) -> list[tuple[str, KekRing]]:
    """Every key file an attacker with the data folder finds, opened with every master key."""
    masters = read_key_file(settings.generated_master_key_file)
    ring = KekRing(MasterKeyring(masters[0], masters[1:]), settings.kek_dir)
    return [(kek_id, ring) for kek_id in sorted(ring.files.ids_on_disk())]


def recover(copy: Snapshot, settings: Settings) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The personal parts a copy gives up, per case, trying every key still on disk."""
    masters = read_key_file(settings.generated_master_key_file)
    opened: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in copy.keys:
        names = {"tenant_id": row.tenant_id, "case_id": row.case_id, "key_id": row.key_id}
        secret: bytes | None = None
        for kek_id, ring in every_kek_on_disk(settings):
            try:
                secret = ring.unwrap(row.wrapped, kek_id, **names)
                break
            except TamperedCiphertext:
                continue
        for master in masters:  # and the master keys themselves, as wrapping keys
            if secret is not None:
                break
            try:
                secret = MasterKeyring(master).unwrap(row.wrapped, master.key_id, **names)
            except TamperedCiphertext:
                continue
        if secret is None:
            continue
        key = DataKey.of(row.tenant_id, row.case_id, row.key_id, secret)
        for stream_id, event_type, version, envelope in copy.events:
            if stream_id == row.case_id:
                part = key.open(event_purpose(event_type, version), envelope)
                opened.setdefault(row.case_id, []).append(part)
    return opened


def names_in(parts: list[dict[str, Any]]) -> set[str]:
    return {str(p["full_name"]) for p in parts if p.get("full_name")}


def files_holding(folder: Path, needle: bytes) -> list[Path]:
    return [
        p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
        and needle in p.read_bytes()
    ]  # fmt: skip


@pytest.fixture
def folders() -> Iterator[Path]:
    """A folder the embedded server may use (it runs as its own user when we are root)."""
    base = ROOT / ".data" / f"copy-test-{uuid.uuid4().hex[:8]}"
    base.mkdir(parents=True)
    yield base
    for folder in (base / "live", base / "copy"):
        if (folder / "postmaster.pid").exists():
            db.EmbeddedServer(folder).cleanup()
    shutil.rmtree(base, ignore_errors=True)


def cold_copy(source: Path, target: Path) -> None:
    """Copy a stopped server's data folder, WAL included, owned like the original."""
    shutil.copytree(
        source, target, ignore=shutil.ignore_patterns("postmaster.pid", ".s.PGSQL*", ".handle*")
    )
    owner = source.stat()
    if os.geteuid() == 0 and owner.st_uid != 0:
        for path in (target, *target.rglob("*")):
            os.chown(path, owner.st_uid, owner.st_gid, follow_symlinks=False)


async def open_case(deps: Dependencies, principal: Principal, name: str) -> uuid.UUID:
    case_id = uuid.uuid4()
    command = rc.OpenReturnCase(
        case_id, dt.date(2026, 2, 1), f"P-{name[:3]}", v.Gender.FEMALE, 1994, "RO", "RO",
        ("ro",), (v.ExploitationForm.SEXUAL_EXPLOITATION,), name, dt.date(1994, 5, 6),
        f"notes about {name}",
    )  # fmt: skip
    await handle(deps, principal, command, expected_version=0, idempotency_key=None,
                 request_id="copy-test")  # fmt: skip
    return case_id


async def app_engine_of(server: db.EmbeddedServer) -> AsyncEngine:
    return db.create_app_engine(db.app_url(server.admin_url(DATABASE), ROLE, PASSWORD), 2)


async def test_a_copy_from_before_an_erasure_yields_nothing_once_the_kek_rotated(
    folders: Path,
) -> None:
    live = folders / "live"
    settings = load_settings({"SAFE_FUTURE_DATA_DIR": str(folders / "data")})
    cipher = PersonalDataCipher(load_master_keyring(settings))  # makes the dev master key
    server = db.EmbeddedServer(live)
    admin_url = server.admin_url(DATABASE)
    await db.ensure_database(admin_url)
    await db.migrate(admin_url, ROLE, PASSWORD)
    engine = await app_engine_of(server)
    store = EventStore(EventRegistry(rc.EVENT_TYPES), cipher=cipher)
    deps = Dependencies(engine, store, await load_tenants(engine))
    worker = Principal("copy-tester", deps.tenants[SLUG], frozenset({"caseworker"}))
    tag = uuid.uuid4().hex[:8]
    erased_name, kept_name = f"Ilinca Erased-{tag}", f"Mirela Kept-{tag}"
    erased = await open_case(deps, worker, erased_name)
    kept = await open_case(deps, worker, kept_name)
    await engine.dispose()

    # A cold copy of the whole data folder, WAL included, as a file-system backup takes it.
    server.cleanup()
    copy_dir = folders / "copy"
    cold_copy(live, copy_dir)
    server = db.EmbeddedServer(live)
    engine = await app_engine_of(server)
    deps = Dependencies(engine, store, deps.tenants)
    admin = Principal("copy-admin", deps.tenants[SLUG], frozenset({"tenant-admin"}))
    await erase_client_personal_data(
        deps, admin, erased, expected_version=1, reason=v.ErasureReason.CLIENT_REQUEST,
        idempotency_key=None, request_id="copy-test",
    )  # fmt: skip

    # What the copy holds: both clients' wrapped data keys, in the table and in the WAL.
    copy_server = db.EmbeddedServer(copy_dir)
    copied = await snapshot(copy_server.admin_url(DATABASE))
    copy_server.cleanup()
    wrapped = {row.case_id: row.wrapped for row in copied.keys}
    assert set(wrapped) >= {erased, kept}
    assert files_holding(copy_dir / "pg_wal", wrapped[erased])

    # Before the rotation the copy gives the erased client up (the window the docs state).
    before = recover(copied, settings)
    assert erased_name in names_in(before[erased])
    assert kept_name in names_in(before[kept])

    result = await rotate_keks(engine, cipher.keks)
    assert result.destroyed

    # After it: nothing of either client opens from the copy, with every key file on disk
    # and the master key; the live database still serves the client who was not erased.
    after = recover(copied, settings)
    assert erased not in after
    assert kept not in after
    assert after == {}
    live_now = recover(await snapshot(admin_url), settings)
    assert kept_name in names_in(live_now[kept])
    assert erased not in live_now
    async with tenant_transaction(engine, deps.tenants[SLUG].id) as conn:
        stream = await store.read_stream(conn, kept)
        gone = await store.read_stream(conn, erased)
    assert stream[0].event.full_name == kept_name
    assert gone[0].event.full_name is None
    assert [kek for kek, _ in every_kek_on_disk(settings)] == [result.current]
    await engine.dispose()
