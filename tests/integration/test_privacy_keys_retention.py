"""Master key rotation rewraps data keys without touching events; retention erases exactly
what its dry run lists, and a second run finds nothing left to do."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
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
from service.privacy import rotation
from service.privacy.cipher import DataKey, PersonalDataCipher
from service.privacy.commands import keys_rotate, keys_status, retention_run, rotate_master_key
from service.privacy.erasure import erase_client_personal_data
from service.privacy.kek import ROTATION_LOCK, KekRing
from service.privacy.keys import (
    MasterKeyring,
    UnknownMasterKey,
    generate_master_key,
    read_key_file,
)
from service.privacy.retention import RETENTION_SUBJECT, run_retention
from service.privacy.rotation import (
    RotationIncomplete,
    check_rotation,
    describe,
    key_status,
    rotate_keks,
    rotation_due,
)
from tests.conftest import Database

SLUG = "humanitas-pmw"


def store(ring: MasterKeyring) -> EventStore:
    """A store whose cipher uses ``ring`` (and its KEK directory)."""
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


async def kek_states(admin: AsyncEngine) -> dict[str, str]:
    async with admin.connect() as conn:
        rows = await conn.execute(text("SELECT kek_id, state FROM key_encryption_keys"))
        return {r.kek_id: r.state for r in rows}


def fresh_ring(cipher: PersonalDataCipher) -> KekRing:
    """The session's keys, with nothing cached: only what the KEK directory holds."""
    assert cipher.keyring.kek_dir is not None
    return KekRing(cipher.keyring, cipher.keyring.kek_dir)


def current_of(states: dict[str, str]) -> str:
    (current,) = [k for k, state in states.items() if state == "current"]
    return current


async def test_rotation_rewraps_every_data_key_destroys_the_old_kek_and_touches_no_event(
    deps: Dependencies, app_engine: AsyncEngine, admin_engine: AsyncEngine,
    cipher: PersonalDataCipher,
) -> None:  # fmt: skip
    case_id = uuid.uuid4()
    await run(deps, [opening(case_id, dt.date(2026, 3, 1), "Arben Rotationtest")])
    before = await sealed_columns(admin_engine, case_id)
    old = current_of(await kek_states(admin_engine))
    assert cipher.keks.files.read(old) is not None

    result = await rotate_keks(app_engine, fresh_ring(cipher))

    assert result.rotated
    assert result.current != old
    assert result.rewrapped >= 1
    assert result.destroyed == [old]
    assert await master_key_ids(admin_engine) == {result.current}
    assert (await kek_states(admin_engine))[old] == "destroyed"
    assert cipher.keks.files.read(old) is None  # its file is gone
    assert old not in cipher.keks.files.ids_on_disk()
    assert await sealed_columns(admin_engine, case_id) == before  # events untouched
    assert await name_of(deps, case_id) == "Arben Rotationtest"
    again = await rotate_keks(app_engine, cipher.keks, new_kek=False)
    assert (again.current, again.rewrapped, again.destroyed) == (result.current, 0, [])


async def test_a_key_created_during_a_rotation_is_never_left_under_the_destroyed_kek(
    deps: Dependencies, app_engine: AsyncEngine, admin_engine: AsyncEngine,
    cipher: PersonalDataCipher,
) -> None:  # fmt: skip
    old = current_of(await kek_states(admin_engine))
    case_id = uuid.uuid4()
    tenant = deps.tenants[SLUG].id
    async with tenant_transaction(app_engine, tenant) as conn:
        created = await cipher.key_for(conn, tenant, case_id, create=True)  # under the old KEK
        assert created is not None
        rotation = asyncio.create_task(rotate_keks(app_engine, fresh_ring(cipher)))
        for _ in range(500):  # the rotation prepares its KEK, then waits for this transaction
            if "pending" in (await kek_states(admin_engine)).values():
                break
            await asyncio.sleep(0.01)
        states = await kek_states(admin_engine)
        assert states[old] == "current"
        assert "pending" in states.values()
        assert not rotation.done()
    result = await rotation
    assert result.destroyed == [old]
    async with tenant_transaction(app_engine, tenant) as conn:
        wrapping = await conn.scalar(
            text("SELECT master_key_id FROM data_keys WHERE case_id = :c"), {"c": case_id}
        )
        fresh = PersonalDataCipher(cipher.keyring)  # nothing cached: only the files on disk
        reopened = await fresh.key_for(conn, tenant, case_id, create=False)
    assert wrapping == result.current
    assert reopened is not None
    assert reopened.encryption_key == created.encryption_key


async def test_an_interrupted_rotation_keeps_the_old_kek_until_the_next_run_finishes_it(
    deps: Dependencies, app_engine: AsyncEngine, admin_engine: AsyncEngine,
    cipher: PersonalDataCipher,
) -> None:  # fmt: skip
    case_id = uuid.uuid4()
    await run(deps, [opening(case_id, dt.date(2026, 3, 2), "Dritan Interrupted")])
    old = current_of(await kek_states(admin_engine))
    ring = fresh_ring(cipher)
    async with app_engine.connect() as conn:
        states, _ = await rotation._states(conn)
    # Interrupted after the switch, before any row was rewrapped: the old KEK is retiring.
    await rotation._switch(app_engine, await rotation._prepare(app_engine, ring, states))
    new = current_of(await kek_states(admin_engine))
    assert (await kek_states(admin_engine))[old] == "retiring"
    assert ring.files.read(old) is not None  # kept: rows still need it
    assert await name_of(deps, case_id) == "Dritan Interrupted"
    status = await key_status(app_engine, ring, dt.timedelta(hours=24))
    assert rotation_due(status, dt.timedelta(minutes=5))
    assert status.not_under_current >= 1
    assert any(old in line for line in describe(status))
    # A pending KEK whose file was never written (a crash in between) is cleared away.
    orphan = "kek-" + uuid.uuid4().hex
    async with app_engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO key_encryption_keys (kek_id, state) VALUES (:k, 'pending')"),
            {"k": orphan},
        )

    result = await rotate_keks(app_engine, ring)  # resumes: no new KEK while one is retiring

    states_after = await kek_states(admin_engine)
    assert result.current == new
    assert result.destroyed == [old]
    assert (states_after[old], states_after[orphan], states_after[new]) == (
        "destroyed", "destroyed", "current"
    )  # fmt: skip
    assert await master_key_ids(admin_engine) == {new}
    assert await name_of(deps, case_id) == "Dritan Interrupted"


async def test_a_rotation_that_cannot_rewrap_a_key_destroys_nothing(
    deps: Dependencies, app_engine: AsyncEngine, admin_engine: AsyncEngine,
    cipher: PersonalDataCipher,
) -> None:  # fmt: skip
    tenant = deps.tenants[SLUG].id
    stranger = MasterKeyring(generate_master_key())
    case_id, key_id = uuid.uuid4(), uuid.uuid4()
    wrapped, foreign_id = stranger.wrap(b"k" * 32, tenant_id=tenant, case_id=case_id, key_id=key_id)
    async with tenant_transaction(app_engine, tenant) as conn:
        await conn.execute(
            text("INSERT INTO data_keys (tenant_id, case_id, key_id, wrapped_key, master_key_id) "
                 "VALUES (:t, :c, :k, :w, :m)"),
            {"t": tenant, "c": case_id, "k": key_id, "w": wrapped, "m": foreign_id},
        )  # fmt: skip
    old = current_of(await kek_states(admin_engine))
    try:
        with pytest.raises(RotationIncomplete) as raised:
            await rotate_keks(app_engine, fresh_ring(cipher))
        assert "UnknownMasterKey" in str(raised.value)
        states = await kek_states(admin_engine)
        assert states[old] == "retiring"
        assert cipher.keks.files.read(old) is not None
    finally:
        async with tenant_transaction(app_engine, tenant) as conn:
            await conn.execute(text("DELETE FROM data_keys WHERE case_id = :c"), {"c": case_id})
    result = await rotate_keks(app_engine, fresh_ring(cipher))
    assert result.destroyed == [old]


async def test_data_keys_wrapped_by_the_master_key_before_keks_are_rewrapped_under_a_kek(
    deps: Dependencies, app_engine: AsyncEngine, admin_engine: AsyncEngine,
    cipher: PersonalDataCipher,
) -> None:  # fmt: skip
    tenant = deps.tenants[SLUG].id
    case_id, key_id, secret = uuid.uuid4(), uuid.uuid4(), b"s" * 32
    wrapped, master_id = cipher.keyring.wrap(
        secret, tenant_id=tenant, case_id=case_id, key_id=key_id
    )
    async with tenant_transaction(app_engine, tenant) as conn:
        await conn.execute(
            text("INSERT INTO data_keys (tenant_id, case_id, key_id, wrapped_key, master_key_id) "
                 "VALUES (:t, :c, :k, :w, :m)"),
            {"t": tenant, "c": case_id, "k": key_id, "w": wrapped, "m": master_id},
        )  # fmt: skip
    result = await rotate_keks(app_engine, fresh_ring(cipher), new_kek=False)
    assert result.rewrapped == 1
    async with tenant_transaction(app_engine, tenant) as conn:
        row = (
            await conn.execute(
                text("SELECT wrapped_key, master_key_id FROM data_keys WHERE case_id = :c"),
                {"c": case_id},
            )
        ).one()
        assert row.master_key_id == result.current
        key = await cipher.key_for(conn, tenant, case_id, create=False)
    assert key is not None
    assert key.encryption_key == DataKey.of(tenant, case_id, key_id, secret).encryption_key


async def test_the_service_role_cannot_rewrap_under_a_kek_that_is_not_current(
    deps: Dependencies, app_engine: AsyncEngine, admin_engine: AsyncEngine
) -> None:
    destroyed = [k for k, s in (await kek_states(admin_engine)).items() if s == "destroyed"]
    assert destroyed
    with pytest.raises(DBAPIError, match="current key-encryption key"):
        async with tenant_transaction(app_engine, deps.tenants[SLUG].id) as conn:
            await conn.execute(
                text("SELECT rewrap_data_keys(:c, :k, :f, :w, :to)"),
                {"c": [], "k": [], "f": [], "w": [], "to": destroyed[0]},
            )
    with pytest.raises(DBAPIError, match="cannot go from destroyed"):
        async with app_engine.begin() as conn:
            await conn.execute(
                text("UPDATE key_encryption_keys SET state = 'current' WHERE kek_id = :k"),
                {"k": destroyed[0]},
            )


async def test_the_rotate_master_command_moves_everything_under_the_new_master_key(
    deps: Dependencies,
    admin_engine: AsyncEngine,
    database: Database,
    settings: Settings,
    cipher: PersonalDataCipher,
    tmp_path: Path,
) -> None:
    case_id = uuid.uuid4()
    await run(deps, [opening(case_id, dt.date(2026, 3, 1), "Besa Commandtest")])
    env = {"SAFE_FUTURE_DATA_DIR": str(tmp_path), "SAFE_FUTURE_KEK_DIR": str(settings.kek_dir)}
    own = load_settings(env)
    own.generated_master_key_file.parent.mkdir(parents=True)
    shutil.copy(settings.generated_master_key_file, own.generated_master_key_file)
    old = cipher.keyring.current
    out, err = io.StringIO(), io.StringIO()
    try:
        code = await rotate_master_key(own, database.admin_url, out, err)
        assert (code, err.getvalue()) == (0, "")
        (new,) = read_key_file(own.generated_master_key_file)
        assert new != old
        current = current_of(await kek_states(admin_engine))
        assert await master_key_ids(admin_engine) == {current}
        assert f"master key {new.key_id}" in out.getvalue()
        new_ring = MasterKeyring(new, kek_dir=settings.kek_dir)
        rotated = Dependencies(deps.engine, store(new_ring), deps.tenants)
        assert await name_of(rotated, case_id) == "Besa Commandtest"
        with pytest.raises(UnknownMasterKey):  # the old master key alone opens nothing now
            KekRing(MasterKeyring(old, kek_dir=settings.kek_dir), settings.kek_dir).get(current)
    finally:
        # Back under the session's master key, for the tests that follow.
        back = MasterKeyring(old, read_key_file(own.generated_master_key_file),
                             kek_dir=settings.kek_dir)  # fmt: skip
        await rotate_keks(deps.engine, KekRing(back, settings.kek_dir))
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


async def test_the_schedule_rotates_only_when_the_kek_nears_its_maximum_age(
    app_engine: AsyncEngine, admin_engine: AsyncEngine, cipher: PersonalDataCipher
) -> None:
    before = current_of(await kek_states(admin_engine))
    week, minute = dt.timedelta(days=7), dt.timedelta(minutes=1)
    assert await check_rotation(app_engine, cipher.keks, max_age=week, margin=minute) is None
    assert current_of(await kek_states(admin_engine)) == before

    result = await check_rotation(app_engine, cipher.keks, max_age=minute, margin=minute)

    assert result is not None
    assert result.destroyed == [before]
    assert current_of(await kek_states(admin_engine)) == result.current
    assert before not in cipher.keks.cached  # the schedule's own cache forgets it too


async def test_only_one_rotation_runs_at_a_time(
    app_engine: AsyncEngine, admin_engine: AsyncEngine, cipher: PersonalDataCipher
) -> None:
    before = current_of(await kek_states(admin_engine))
    async with admin_engine.connect() as conn:
        await conn.execute(
            text("SELECT pg_advisory_lock(:a, :b)"), {"a": ROTATION_LOCK[0], "b": ROTATION_LOCK[1]}
        )
        try:
            skipped = await rotate_keks(app_engine, fresh_ring(cipher), wait=False)
        finally:
            await conn.execute(
                text("SELECT pg_advisory_unlock(:a, :b)"),
                {"a": ROTATION_LOCK[0], "b": ROTATION_LOCK[1]},
            )
    assert (skipped.rotated, skipped.skipped) == (False, "another rotation is running")
    assert current_of(await kek_states(admin_engine)) == before


async def test_keys_status_and_rotate_commands_report_age_and_what_is_pending(
    database: Database, settings: Settings, admin_engine: AsyncEngine
) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert await keys_status(settings, database.app_url, out) == 0
    current = current_of(await kek_states(admin_engine))
    status = out.getvalue()
    assert f"current key-encryption key: {current}" in status
    assert "rotation due by" in status
    assert "(maximum age 24.0 h)" in status
    assert "not yet under the current key" in status

    out = io.StringIO()
    code = await keys_rotate(settings, database.app_url, out, err, if_due=True)
    assert (code, err.getvalue()) == (0, "")
    assert out.getvalue().startswith("not due")
    assert current_of(await kek_states(admin_engine)) == current

    out = io.StringIO()
    assert await keys_rotate(settings, database.app_url, out, err, if_due=False) == 0
    assert err.getvalue() == ""
    rotated = current_of(await kek_states(admin_engine))
    assert rotated != current
    assert f"destroyed 1 old key-encryption key(s): {current}" in out.getvalue()
