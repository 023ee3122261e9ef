"""Master key rotation rewraps data keys without touching events; retention erases exactly
what its dry run lists, and a second run finds nothing left to do."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.app import load_tenants
from service.auth import Principal
from service.config import Settings, load_settings
from service.db import tenant_transaction
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.events.store import EventStore
from service.events.types import EventRegistry
from service.handlers.return_case import Dependencies, handle
from service.privacy.cipher import PersonalDataCipher
from service.privacy.commands import retention_run, rotate_master_key
from service.privacy.erasure import erase_client_personal_data
from service.privacy.keys import (
    MasterKeyring,
    UnknownMasterKey,
    generate_master_key,
    read_key_file,
)
from service.privacy.retention import RETENTION_SUBJECT, run_retention
from service.privacy.rotation import rewrap_data_keys
from tests.conftest import Database

SLUG = "humanitas-pmw"


def store(ring: MasterKeyring) -> EventStore:
    return EventStore(EventRegistry(rc.EVENT_TYPES), cipher=PersonalDataCipher(ring))


@pytest.fixture(scope="module")
async def deps(app_engine: AsyncEngine, cipher: PersonalDataCipher) -> Dependencies:
    return Dependencies(app_engine, store(cipher.keyring), await load_tenants(app_engine))


def worker(deps: Dependencies, role: str = "caseworker") -> Principal:
    return Principal("privacy-keys-tester", deps.tenants[SLUG], frozenset({role}))


async def run(deps: Dependencies, commands: list[Any], principal: Principal | None = None) -> None:
    for version, command in enumerate(commands):
        await handle(deps, principal or worker(deps), command, expected_version=version,
                     idempotency_key=None, request_id="privacy-keys")  # fmt: skip


def opening(case_id: uuid.UUID, intake: dt.date, name: str) -> rc.OpenReturnCase:
    forms = (v.ExploitationForm.FORCED_LABOUR,)
    return rc.OpenReturnCase(
        case_id, intake, "R", v.Gender.MALE, 1960, "AL", "AL", ("sq",), forms, name,
        dt.date(1960, 1, 2),
    )  # fmt: skip


async def name_of(deps: Dependencies, case_id: uuid.UUID) -> str | None:
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        stream = await deps.store.read_stream(conn, case_id)
    return stream[0].event.full_name  # type: ignore[no-any-return]


async def sealed_columns(admin: AsyncEngine, case_id: uuid.UUID) -> list[str]:
    async with admin.connect() as conn:
        events = await conn.execute(
            text("SELECT personal::text FROM events WHERE stream_id = :c ORDER BY version"),
            {"c": case_id},
        )
        model = await conn.scalar(
            text("SELECT personal::text FROM return_cases WHERE case_id = :c"), {"c": case_id}
        )
    return [*(r[0] for r in events), model]


async def master_key_ids(admin: AsyncEngine) -> set[str]:
    async with admin.connect() as conn:
        return {r[0] for r in await conn.execute(text("SELECT master_key_id FROM data_keys"))}


async def test_rotation_rewraps_every_data_key_and_touches_no_event(
    deps: Dependencies, admin_engine: AsyncEngine, cipher: PersonalDataCipher
) -> None:
    case_id = uuid.uuid4()
    await run(deps, [opening(case_id, dt.date(2026, 3, 1), "Arben Rotationtest")])
    before = await sealed_columns(admin_engine, case_id)
    old = cipher.keyring
    new = generate_master_key()
    try:
        result = await rewrap_data_keys(admin_engine, MasterKeyring(new, [old.current]))
        assert result.rewrapped >= 1
        assert await master_key_ids(admin_engine) == {new.key_id}
        assert await sealed_columns(admin_engine, case_id) == before  # events untouched
        rotated = Dependencies(deps.engine, store(MasterKeyring(new)), deps.tenants)
        assert await name_of(rotated, case_id) == "Arben Rotationtest"
        with pytest.raises(UnknownMasterKey):  # the old key alone no longer unwraps
            await name_of(deps, case_id)
        again = await rewrap_data_keys(admin_engine, MasterKeyring(new, [old.current]))
        assert again.rewrapped == 0  # an interrupted rotation can simply run again
    finally:
        await rewrap_data_keys(admin_engine, MasterKeyring(old.current, [new]))
    assert await name_of(deps, case_id) == "Arben Rotationtest"


async def test_the_rotate_master_command_replaces_the_generated_key(
    deps: Dependencies,
    admin_engine: AsyncEngine,
    database: Database,
    settings: Settings,
    cipher: PersonalDataCipher,
    tmp_path: Path,
) -> None:
    case_id = uuid.uuid4()
    await run(deps, [opening(case_id, dt.date(2026, 3, 1), "Besa Commandtest")])
    own = load_settings({"SAFE_FUTURE_DATA_DIR": str(tmp_path)})
    own.generated_master_key_file.parent.mkdir(parents=True)
    shutil.copy(settings.generated_master_key_file, own.generated_master_key_file)
    old = cipher.keyring.current
    out, err = io.StringIO(), io.StringIO()
    try:
        code = await rotate_master_key(own, database.admin_url, out, err)
        assert (code, err.getvalue()) == (0, "")
        (new,) = read_key_file(own.generated_master_key_file)
        assert new != old
        assert await master_key_ids(admin_engine) == {new.key_id}
        assert f"under master key {new.key_id}" in out.getvalue()
        rotated = Dependencies(deps.engine, store(MasterKeyring(new)), deps.tenants)
        assert await name_of(rotated, case_id) == "Besa Commandtest"
    finally:
        keys = read_key_file(own.generated_master_key_file)
        await rewrap_data_keys(admin_engine, MasterKeyring(old, keys))
    assert await name_of(deps, case_id) == "Besa Commandtest"


async def retention_fixture(deps: Dependencies) -> dict[str, uuid.UUID]:
    """Cases of 2001-2003, long before any other test's cases."""
    ids = {name: uuid.uuid4() for name in
           ("closed", "transferred", "recent", "open", "erased", "reopened")}  # fmt: skip
    intake = dt.date(2001, 1, 10)
    closed_on = dt.date(2001, 6, 1)

    def opened(name: str) -> rc.OpenReturnCase:
        return opening(ids[name], intake, f"Retention {name} {ids[name].hex[:8]}")

    close = rc.CloseReturnCase
    await run(deps, [opened("closed"), close(ids["closed"], v.ClosingReason.WITHDREW, closed_on)])
    await run(
        deps,
        [
            opened("transferred"),
            rc.TransferCase(ids["transferred"], "het-kopland", dt.date(2002, 1, 1)),
        ],
    )
    await run(
        deps,
        [opened("recent"), close(ids["recent"], v.ClosingReason.LOST_CONTACT, dt.date(2003, 1, 1))],
    )
    await run(deps, [opened("open")])
    await run(deps, [opened("erased"), close(ids["erased"], v.ClosingReason.WITHDREW, closed_on)])
    await erase_client_personal_data(
        deps,
        worker(deps, "tenant-admin"),
        ids["erased"],
        expected_version=2,
        reason=v.ErasureReason.CLIENT_REQUEST,
        idempotency_key=None,
        request_id="privacy-keys",
    )
    await run(
        deps,
        [
            opened("reopened"),
            close(ids["reopened"], v.ClosingReason.WITHDREW, closed_on),
            rc.ReopenReturnCase(ids["reopened"], dt.date(2001, 7, 1), "came back"),
        ],
    )
    return ids  # fmt: skip


async def test_retention_erases_exactly_what_its_dry_run_lists_and_is_idempotent(
    deps: Dependencies,
) -> None:
    ids = await retention_fixture(deps)
    today = dt.date(2009, 6, 1)  # seven years after 2002-06-01

    dry = await run_retention(deps, today=today, years=7, dry_run=True)
    listed = {c.case_id for c in dry.candidates}
    assert dry.cutoff == dt.date(2002, 6, 1)
    assert {ids["closed"], ids["transferred"]} <= listed
    assert not {ids["recent"], ids["open"], ids["erased"], ids["reopened"]} & listed
    assert dry.erased == []
    assert await name_of(deps, ids["closed"]) is not None  # a dry run changes nothing

    real = await run_retention(deps, today=today, years=7, dry_run=False)
    assert [c.case_id for c in real.erased] == [c.case_id for c in dry.candidates]
    assert await name_of(deps, ids["closed"]) is None
    assert await name_of(deps, ids["transferred"]) is None
    assert await name_of(deps, ids["recent"]) is not None
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        actors = await conn.scalar(
            text("SELECT actor FROM case_timeline WHERE case_id = :c ORDER BY version DESC"),
            {"c": ids["closed"]},
        )
    assert actors == RETENTION_SUBJECT

    assert (await run_retention(deps, today=today, years=7, dry_run=True)).candidates == []
    assert (await run_retention(deps, today=today, years=7, dry_run=False)).erased == []


async def test_the_retention_command_lists_erases_and_vacuums(
    deps: Dependencies, database: Database, settings: Settings
) -> None:
    case_id = uuid.uuid4()
    closing = rc.CloseReturnCase(case_id, v.ClosingReason.WITHDREW, dt.date(2000, 3, 1))
    await run(deps, [opening(case_id, dt.date(2000, 2, 1), "Retention command"), closing])
    today = dt.date(2007, 3, 2)
    dry, real, again = io.StringIO(), io.StringIO(), io.StringIO()
    for out, dry_run in ((dry, True), (real, False), (again, False)):
        code = await retention_run(settings, database.app_url, database.admin_url,
                                   dry_run=dry_run, today=today, out=out)  # fmt: skip
        assert code == 0
    assert f"would erase {SLUG} {case_id} (closed 2000-03-01)" in dry.getvalue()
    assert f"erased {SLUG} {case_id} (closed 2000-03-01)" in real.getvalue()
    assert "vacuumed the key table" in real.getvalue()
    assert "0 case(s) erased" in again.getvalue()
    assert await name_of(deps, case_id) is None
