"""A rebuild from the log, built beside and swapped in, equals the live read models."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.app import load_tenants
from service.auth import Principal
from service.cli import main, rebuild_store
from service.config import Settings
from service.db import tenant_transaction
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.events.projections import rebuild
from service.events.projections.rebuild import FillProcesses, rebuild_cases
from service.events.store import EventStore
from service.events.types import EventRegistry, UnknownEventType
from service.handlers.return_case import Dependencies, handle
from service.privacy.cipher import PersonalDataCipher
from tests.conftest import APP_PASSWORD, APP_ROLE, Database
from tests.preparation import ready_commands

Snapshot = tuple[list[Any], list[Any]]


async def _snapshot(admin: AsyncEngine) -> Snapshot:
    async with admin.connect() as conn:
        cases = (await conn.execute(text("SELECT * FROM return_cases ORDER BY case_id"))).all()
        entries = (
            await conn.execute(text("SELECT * FROM case_timeline ORDER BY case_id, version"))
        ).all()
    return [tuple(r) for r in cases], [tuple(r) for r in entries]


async def _copies_left(admin: AsyncEngine) -> int:
    """How many ``__rebuild`` copies stand beside the live tables."""
    async with admin.connect() as conn:
        left = await conn.scalar(
            text("SELECT count(*) FROM pg_class WHERE relname LIKE '%\\_\\_rebuild'")
        )
    return int(left)


async def _walk_a_case(
    deps: Dependencies, principal: Principal, *, keyed: bool = False
) -> uuid.UUID:
    """A case from its opening to its departure; with ``keyed``, every command carries an
    idempotency key (which the events' metadata then holds)."""
    case_id = uuid.uuid4()
    commands: list[Any] = [
        rc.OpenReturnCase(case_id, dt.date(2026, 2, 1), "rebuild", v.Gender.MALE, 1985, "UA",
                          "UA", ("uk",), (v.ExploitationForm.FORCED_LABOUR,), "Taras Test"),
        rc.RecordReturnConversation(case_id, dt.date(2026, 2, 3), v.ReturnWish.WANTS_TO_RETURN),
        *ready_commands(case_id, dt.date(2026, 2, 20), "UA", v.DepartureMode.INDEPENDENT,
                        birth_year=1985, intake=dt.date(2026, 2, 1)),
        rc.RecordDeparture(case_id, dt.date(2026, 3, 1), v.DepartureMode.INDEPENDENT, "UA"),
    ]  # fmt: skip
    for version, command in enumerate(commands):
        key = f"walk-{case_id}-{version}" if keyed else None
        await handle(deps, principal, command, expected_version=version, idempotency_key=key,
                     request_id="rebuild-test")  # fmt: skip
    return case_id


async def _rebuilder(
    app_engine: AsyncEngine, cipher: PersonalDataCipher
) -> tuple[Dependencies, Principal]:
    """The command path with the app's cipher, and a case worker of one shelter."""
    tenants = await load_tenants(app_engine)
    store = EventStore(EventRegistry(rc.EVENT_TYPES), cipher=cipher)
    principal = Principal("rebuilder", tenants["jade-zorggroep"], frozenset({"caseworker"}))
    return Dependencies(app_engine, store, tenants), principal


async def test_rebuilt_read_models_equal_the_live_ones_and_stay_protected(
    app_engine: AsyncEngine, admin_engine: AsyncEngine, cipher: PersonalDataCipher
) -> None:
    # With the app's cipher: the rebuild opens every case's personal fields, also those the
    # app sealed, and seals them again in the rebuilt rows (byte for byte the same).
    deps, principal = await _rebuilder(app_engine, cipher)
    for _ in range(3):
        await _walk_a_case(deps, principal)
    before = await _snapshot(admin_engine)

    folded = await rebuild_cases(admin_engine, deps.store, APP_ROLE)

    assert folded >= 9
    assert await _snapshot(admin_engine) == before
    async with admin_engine.connect() as conn:
        flags = (
            await conn.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relname IN ('return_cases', 'case_timeline') ORDER BY relname"
                )
            )
        ).all()
    assert [tuple(f) for f in flags] == [
        ("case_timeline", True, True),
        ("return_cases", True, True),
    ]
    async with tenant_transaction(app_engine, None) as conn:
        assert await conn.scalar(text("SELECT count(*) FROM return_cases")) == 0
    # The service keeps writing through the swapped-in tables.
    case_id = await _walk_a_case(deps, principal)
    async with tenant_transaction(app_engine, principal.tenant_id) as conn:
        version = await conn.scalar(
            text("SELECT version FROM return_cases WHERE case_id = :c"), {"c": case_id}
        )
        entries = await conn.scalar(
            text("SELECT count(*) FROM case_timeline WHERE case_id = :c"), {"c": case_id}
        )
    assert (version, entries) == (6, 6)  # opening, wish, three preparations, departure


async def test_the_rebuilds_reader_returns_the_stores_own_events_with_all_their_metadata(
    app_engine: AsyncEngine, cipher: PersonalDataCipher
) -> None:
    """The rebuild reads the log in its bulk form (payload and personal part as one JSON text,
    the metadata field by field): every stream comes back as the store's ``read_stream``
    reads it, personal parts opened and every field of the metadata the same, with and
    without the optional ones."""
    deps, principal = await _rebuilder(app_engine, cipher)
    keyed = await _walk_a_case(deps, principal, keyed=True)
    plain = await _walk_a_case(deps, principal)
    streams: dict[uuid.UUID, list[Any]] = {}
    async with tenant_transaction(app_engine, principal.tenant_id) as conn:
        part = rebuild.Part(principal.tenant_id)
        async for batch in rebuild._stream_batches(conn, deps.store, part, [keyed, plain], 3):
            streams.update(batch)
        assert set(streams) == {keyed, plain}
        for case_id in (keyed, plain):
            read = await deps.store.read_stream(conn, case_id)
            assert streams[case_id] == read
            assert [e.metadata for e in streams[case_id]] == [e.metadata for e in read]
    assert all(e.metadata.idempotency_key for e in streams[keyed])
    assert not any(e.metadata.idempotency_key for e in streams[plain])
    assert streams[keyed][0].event.full_name == "Taras Test"  # opened, as the store opens it


@pytest.mark.parametrize("tenants_at_once", [1, 3])
async def test_a_rebuild_in_batches_of_single_streams_equals_the_live_read_models(
    app_engine: AsyncEngine,
    admin_engine: AsyncEngine,
    cipher: PersonalDataCipher,
    monkeypatch: pytest.MonkeyPatch,
    tenants_at_once: int,
) -> None:
    # Tenants filled one at a time or side by side give the same read models.
    monkeypatch.setattr(rebuild, "PARTS_AT_ONCE", tenants_at_once)
    tenants = await load_tenants(app_engine)
    store = EventStore(EventRegistry(rc.EVENT_TYPES), cipher=cipher)
    deps = Dependencies(app_engine, store, tenants)
    for slug in ("jade-zorggroep", *sorted(set(tenants) - {"jade-zorggroep"})[:1]):
        principal = Principal("rebuilder", tenants[slug], frozenset({"caseworker"}))
        for _ in range(2):
            await _walk_a_case(deps, principal)
    before = await _snapshot(admin_engine)

    # Every stream is its own batch: no stream may be split, lost or folded twice.
    folded = await rebuild_cases(admin_engine, deps.store, APP_ROLE, batch_events=1)

    assert folded >= 12
    assert await _snapshot(admin_engine) == before


async def test_a_rebuild_that_cannot_read_the_log_fails_with_its_error_and_keeps_the_live_models(
    app_engine: AsyncEngine, admin_engine: AsyncEngine, cipher: PersonalDataCipher
) -> None:
    deps, principal = await _rebuilder(app_engine, cipher)
    await _walk_a_case(deps, principal)
    before = await _snapshot(admin_engine)
    # A registry without the opening event: every tenant's fill meets a type it cannot read.
    blind = EventStore(
        EventRegistry([t for t in rc.EVENT_TYPES if t is not rc.ReturnCaseOpened]), cipher=cipher
    )

    with pytest.raises(UnknownEventType):
        await rebuild_cases(admin_engine, blind, APP_ROLE)

    assert await _snapshot(admin_engine) == before
    assert await _copies_left(admin_engine) == 0  # no half-filled copy is left beside them


def _blind_store(settings: Settings) -> EventStore:
    """The rebuild's store without the opening event (made in a new process of the fill)."""
    store = rebuild_store(settings)
    return EventStore(
        EventRegistry([t for t in rc.EVENT_TYPES if t is not rc.ReturnCaseOpened]),
        cipher=store.cipher,
    )


async def _walk_cases_of_three_shelters(app_engine: AsyncEngine, store: EventStore) -> None:
    tenants = await load_tenants(app_engine)
    deps = Dependencies(app_engine, store, tenants)
    shelters = sorted(s for s, t in tenants.items() if t.kind == "shelter")
    for slug in shelters[:3]:
        principal = Principal("rebuilder", tenants[slug], frozenset({"caseworker"}))
        for _ in range(2):
            await _walk_a_case(deps, principal)


@pytest.fixture
async def filled_elsewhere(
    app_engine: AsyncEngine,
    admin_engine: AsyncEngine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[EventStore, Snapshot]:
    """Cases of three shelters, the read models as they stand, and a rebuild whose own process
    fills nothing: the new processes (each with its own store, cipher and connections) claim
    every part between them. The store is the one this process rebuilds with."""
    store = rebuild_store(settings)
    await _walk_cases_of_three_shelters(app_engine, store)
    monkeypatch.setattr(rebuild, "PARTS_AT_ONCE", 0)
    return store, await _snapshot(admin_engine)


async def test_a_rebuild_filled_by_new_processes_equals_the_live_read_models(
    admin_engine: AsyncEngine, settings: Settings, filled_elsewhere: tuple[EventStore, Snapshot]
) -> None:
    store, before = filled_elsewhere
    processes = FillProcesses(3, functools.partial(rebuild_store, settings))

    folded = await rebuild_cases(admin_engine, store, APP_ROLE, batch_events=1, processes=processes)

    assert folded >= 36
    assert await _snapshot(admin_engine) == before


async def test_a_rebuild_whose_fill_process_fails_raises_its_error_and_keeps_the_live_models(
    admin_engine: AsyncEngine, settings: Settings, filled_elsewhere: tuple[EventStore, Snapshot]
) -> None:
    store, before = filled_elsewhere
    processes = FillProcesses(2, functools.partial(_blind_store, settings))

    with pytest.raises(UnknownEventType) as raised:
        await rebuild_cases(admin_engine, store, APP_ROLE, processes=processes)

    assert any("Traceback" in note for note in raised.value.__notes__)
    assert await _snapshot(admin_engine) == before
    assert await _copies_left(admin_engine) == 0


async def test_the_rebuild_command_fills_in_the_processes_it_is_given(
    app_engine: AsyncEngine,
    admin_engine: AsyncEngine,
    database: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _walk_cases_of_three_shelters(app_engine, rebuild_store(settings))
    before = await _snapshot(admin_engine)
    # The command line as an operator runs it, against this database and the session's keys.
    monkeypatch.setenv("DATABASE_URL", database.admin_url.render_as_string(hide_password=False))
    monkeypatch.setenv("SAFE_FUTURE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SAFE_FUTURE_APP_DB_ROLE", APP_ROLE)
    monkeypatch.setenv("SAFE_FUTURE_APP_DB_PASSWORD", APP_PASSWORD)
    monkeypatch.delenv("SAFE_FUTURE_MODE", raising=False)

    code = await asyncio.to_thread(main, ["projections", "rebuild", "cases", "--processes", "2"])

    assert code == 0
    printed = re.search(r"rebuilt cases from (\d+) events", capsys.readouterr().out)
    assert printed is not None
    assert int(printed.group(1)) >= 36
    assert await _snapshot(admin_engine) == before


def test_the_rebuild_command_refuses_a_process_count_below_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["projections", "rebuild", "--processes", "0"])

    assert stopped.value.code == 2
    assert "must be at least 1: 0" in capsys.readouterr().err
