"""The report projection: exactly-once effect across a crash, rebuild equals live, isolation.

Other tests write cases at the same time and a service process may run the projection in the
background; every check here holds whoever projects when: the checkpoint's count of applied
events always equals the number of events up to the checkpoint.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.app import load_tenants
from service.auth import Principal
from service.db import tenant_transaction
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.events import bulk_read
from service.events.cursor import START
from service.events.feed import FeedFilter, position_of, read_feed
from service.events.store import EventStore
from service.events.types import EventRegistry, InLog, Metadata
from service.handlers.return_case import Dependencies, handle
from service.reports.model import REPORT_COLUMNS, report_row
from service.reports.projection import (
    PROJECTION,
    _whole_in_batch,
    catch_up_all,
    catch_up_tenant,
    project_next_batch,
    read_batch,
    rebuild_all,
)
from service.reports.queries import report_transaction
from tests.preparation import ready_commands

STORE = EventStore(EventRegistry(rc.EVENT_TYPES))


async def _deps(engine: AsyncEngine) -> Dependencies:
    return Dependencies(engine, STORE, await load_tenants(engine))


async def _walk(deps: Dependencies, slug: str, year: int = 2020) -> uuid.UUID:
    principal = Principal("projection-test", deps.tenants[slug], frozenset({"caseworker"}))
    c = uuid.uuid4()
    commands: list[Any] = [
        rc.OpenReturnCase(c, dt.date(year, 2, 1), "proj", v.Gender.FEMALE, 1990, "BG", "BG",
                          ("bg",), (v.ExploitationForm.FORCED_LABOUR,), full_name="Not Reported"),
        rc.RecordReturnConversation(c, dt.date(year, 2, 5), v.ReturnWish.WANTS_TO_RETURN),
        *ready_commands(c, dt.date(year, 3, 20), "BG", v.DepartureMode.INDEPENDENT,
                        birth_year=1990, intake=dt.date(year, 2, 1)),
        rc.RecordDeparture(c, dt.date(year, 4, 1), v.DepartureMode.INDEPENDENT, "BG"),
    ]  # fmt: skip
    for version, command in enumerate(commands):
        await handle(deps, principal, command, expected_version=version, idempotency_key=None,
                     request_id="projection-test")  # fmt: skip
    return c


async def _checkpoint(
    admin: AsyncEngine, tenant: uuid.UUID, projection: str = PROJECTION
) -> tuple[int, int] | None:
    """(events applied, events up to the checkpoint): equal if each event counted once."""
    async with admin.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT transaction_id, global_position, events_applied FROM "
                    "report_checkpoints WHERE tenant_id = :t AND projection = :p"
                ),
                {"t": tenant, "p": projection},
            )
        ).first()
        if row is None:
            return None
        upto = await conn.scalar(
            text(
                "SELECT count(*) FROM events WHERE tenant_id = :t AND event_type = ANY(:types) "
                "AND (transaction_id, global_position) <= (CAST(:tx AS text)::xid8, :pos)"
            ),
            {"t": tenant, "types": sorted(STORE.registry.event_types), "tx": str(row[0]),
             "pos": row[1]},
        )  # fmt: skip
    return int(row[2]), int(upto or 0)


async def _rows(admin: AsyncEngine, where: str = "true", **params: Any) -> list[tuple[Any, ...]]:
    async with admin.connect() as conn:
        result = await conn.execute(
            text(f"SELECT * FROM report_cases WHERE {where} ORDER BY tenant_id, case_id"), params
        )
        return [tuple(r) for r in result]


async def _folded(admin: AsyncEngine, case_ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    """The rows a fold of each stream gives, straight from the log."""
    async with admin.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT global_position, tenant_id, stream_id, stream_type, version, "
                    "event_type, schema_version, payload, personal, metadata, occurred_at, "
                    "recorded_at, transaction_id::text::bigint FROM events "
                    "WHERE stream_id = ANY(:ids) ORDER BY stream_id, version"
                ),
                {"ids": list(case_ids)},
            )
        ).all()
    streams: dict[uuid.UUID, list[Any]] = {}
    for row in rows:
        streams.setdefault(row[2], []).append(STORE.recorded(row))
    return [report_row(s) for _, s in sorted(streams.items())]


def _place(e: InLog) -> tuple[Any, ...]:
    """Where an event stands in the log, and what it is."""
    return (e.transaction_id, e.global_position, e.tenant_id, e.stream_id, e.stream_type,
            e.version, e.event_type)  # fmt: skip


def _case(row: dict[str, Any]) -> uuid.UUID:
    case_id: uuid.UUID = row["case_id"]
    return case_id


class Crash(Exception):
    pass


async def _project_and_crash(
    engine: AsyncEngine, tenant: uuid.UUID, name: str, new: list[uuid.UUID]
) -> None:
    async with tenant_transaction(engine, tenant) as conn:
        batch, _ = await project_next_batch(conn, STORE, tenant, 100_000, name)
        assert set(new) <= {e.stream_id for e in batch}
        applied = await conn.scalar(
            text("SELECT events_applied FROM report_checkpoints WHERE projection = :p"),
            {"p": name},
        )
        assert applied == len(batch)  # rows and checkpoint are written...
        raise Crash  # ...and the process dies before the commit


async def test_a_crash_between_rows_and_checkpoint_counts_each_event_once(
    app_engine: AsyncEngine, admin_engine: AsyncEngine
) -> None:
    """Follow the feed under a checkpoint of the test's own, crash once, then go on."""
    deps = await _deps(app_engine)
    tenant = deps.tenants["humanitas-pmw"].id
    new = [await _walk(deps, "humanitas-pmw"), await _walk(deps, "humanitas-pmw")]
    name = f"crash-test-{uuid.uuid4().hex[:8]}"
    with pytest.raises(Crash):
        await _project_and_crash(app_engine, tenant, name, new)
    assert await _checkpoint(admin_engine, tenant, name) is None  # nothing of it was kept
    result = await catch_up_tenant(app_engine, STORE, tenant, projection=name, batch_size=7)
    async with admin_engine.connect() as conn:
        total = await conn.scalar(
            text("SELECT count(*) FROM events WHERE tenant_id = :t AND event_type = ANY(:x)"),
            {"t": tenant, "x": sorted(STORE.registry.event_types)},
        )
    applied, upto = await _checkpoint(admin_engine, tenant, name) or (-1, -1)
    assert result.applied == applied == upto == total  # every event once, none twice
    rows = await _rows(admin_engine, "case_id = ANY(:ids)", ids=new)
    assert [dict(zip(REPORT_COLUMNS, r, strict=True)) for r in rows] == await _folded(
        admin_engine, sorted(new)
    )
    async with admin_engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM report_checkpoints WHERE projection = :p"), {"p": name}
        )


async def test_rebuild_from_the_log_equals_the_live_read_model(
    app_engine: AsyncEngine, admin_engine: AsyncEngine
) -> None:
    deps = await _deps(app_engine)
    cases = [await _walk(deps, slug) for slug in ("moviera", "blijf-groep", "het-kopland")]
    await catch_up_all(app_engine, STORE)
    live = await _rows(admin_engine)
    assert {r[1] for r in live} >= set(cases)
    rebuilt_events = await rebuild_all(app_engine, STORE)
    assert rebuilt_events >= 9
    assert await _rows(admin_engine) == live
    for tenant in (t.id for t in deps.tenants.values() if t.kind == "shelter"):
        counted = await _checkpoint(admin_engine, tenant)
        assert counted is not None
        assert counted[0] == counted[1]


async def test_the_service_role_sees_only_its_own_tenant_and_reads_across_only_aggregates(
    app_engine: AsyncEngine,
) -> None:
    deps = await _deps(app_engine)
    moviera, blijf = deps.tenants["moviera"].id, deps.tenants["blijf-groep"].id
    await _walk(deps, "moviera", 2023)
    await _walk(deps, "blijf-groep", 2023)
    await catch_up_all(app_engine, STORE)
    async with tenant_transaction(app_engine, moviera) as conn:
        tenants = (await conn.scalars(text("SELECT DISTINCT tenant_id FROM report_cases"))).all()
        changed = await conn.execute(
            text("UPDATE report_cases SET phase = 'X' WHERE tenant_id = :t"), {"t": blijf}
        )
        assert changed.rowcount == 0
    assert tenants == [moviera]
    async with tenant_transaction(app_engine, None) as conn:
        assert await conn.scalar(text("SELECT count(*) FROM report_cases")) == 0
        assert await conn.scalar(text("SELECT count(*) FROM report_checkpoints")) == 0
    async with report_transaction(app_engine) as conn:
        shelters = (
            await conn.execute(
                text(
                    "SELECT v1, n FROM report_caseload_counts(ARRAY['SHELTER'], "
                    "DATE '2023-01-01', DATE '2023-12-01')"
                )
            )
        ).all()
    assert {s for s, _ in shelters} >= {"moviera", "blijf-groep"}


@pytest.mark.parametrize(
    "dimensions",
    [
        ["SHELTER", "PHASE", "GENDER", "AGE_GROUP"],
        ["SHELTER", "SHELTER"],
        ["r.case_id"],
        ["t.slug FROM tenants; SELECT 1 --"],
    ],
)
async def test_the_aggregate_function_refuses_anything_but_up_to_three_known_dimensions(
    app_engine: AsyncEngine, dimensions: list[str]
) -> None:
    with pytest.raises(DBAPIError, match="dimension"):
        async with report_transaction(app_engine) as conn:
            await conn.execute(
                text(
                    "SELECT * FROM report_caseload_counts(CAST(:d AS text[]), "
                    "DATE '2023-01-01', DATE '2023-12-01')"
                ),
                {"d": dimensions},
            )


async def test_the_cross_tenant_functions_are_definer_functions_for_the_report_role_only(
    admin_engine: AsyncEngine,
) -> None:
    async with admin_engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT p.proname, p.prosecdef, p.proconfig, "
                    "has_function_privilege('safe_future_app', p.oid, 'EXECUTE'), "
                    "has_function_privilege('safe_future_app_reports', p.oid, 'EXECUTE'), "
                    "coalesce(p.proacl::text[], '{}') FROM pg_proc p "
                    "WHERE p.proname IN ('report_caseload_counts', 'report_indicator_counts') "
                    "ORDER BY p.proname"
                )
            )
        ).all()
    assert [r[0] for r in rows] == ["report_caseload_counts", "report_indicator_counts"]
    for _name, definer, config, service_may, reports_may, acl in rows:
        assert definer
        assert config == ["search_path=public, pg_temp"]
        assert not service_may  # raw counts, below k too: only through the report role
        assert reports_may
        assert not any(entry.startswith("=") for entry in acl)  # nothing granted to PUBLIC


@pytest.mark.parametrize(
    "call",
    [
        "SELECT * FROM report_caseload_counts(ARRAY['SHELTER'], DATE '2023-01-01', "
        "DATE '2023-12-01')",
        "SELECT * FROM report_indicator_counts(DATE '2023-01-01', DATE '2023-12-01')",
    ],
)
async def test_a_tenant_transaction_cannot_read_across_tenants(
    app_engine: AsyncEngine, call: str
) -> None:
    tenants = await load_tenants(app_engine)
    with pytest.raises(DBAPIError, match="not for tenant transactions"):  # noqa: PT012
        async with tenant_transaction(app_engine, tenants["moviera"].id) as conn:
            await conn.execute(text("SELECT set_config('role', 'safe_future_app_reports', true)"))
            await conn.execute(text(call))


@pytest.mark.parametrize(
    "call",
    [
        "SELECT * FROM report_caseload_counts(ARRAY['SHELTER'], DATE '2023-01-01', "
        "DATE '2023-12-01')",
        "SELECT * FROM report_indicator_counts(DATE '2023-01-01', DATE '2023-12-01')",
    ],
)
async def test_the_service_role_itself_cannot_call_the_raw_counting_functions(
    app_engine: AsyncEngine, call: str
) -> None:
    with pytest.raises(DBAPIError, match="permission denied"):
        async with tenant_transaction(app_engine, None) as conn:
            await conn.execute(text(call))


@pytest.mark.parametrize("batch_size", [2, 100_000])
async def test_rows_are_the_fold_of_whole_streams_however_batches_cut_them(
    app_engine: AsyncEngine, admin_engine: AsyncEngine, batch_size: int
) -> None:
    """Batches of 2 split every new stream (read again from the log); one large batch holds
    them whole (folded from the batch): either way each row is the fold of the whole stream."""
    deps = await _deps(app_engine)
    tenant = deps.tenants["hvo-querido"].id
    new = sorted([await _walk(deps, "hvo-querido"), await _walk(deps, "hvo-querido")])
    name = f"batching-test-{uuid.uuid4().hex[:8]}"
    result = await catch_up_tenant(
        app_engine, STORE, tenant, projection=name, batch_size=batch_size
    )
    applied, upto = await _checkpoint(admin_engine, tenant, name) or (-1, -1)
    assert result.applied == applied == upto
    rows = await _rows(admin_engine, "case_id = ANY(:ids)", ids=new)
    assert [dict(zip(REPORT_COLUMNS, r, strict=True)) for r in rows] == await _folded(
        admin_engine, new
    )
    async with admin_engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM report_checkpoints WHERE projection = :p"), {"p": name}
        )


def _without_personal(event: Any) -> Any:
    """``event`` with its personal fields ``None``, as a sealed event reads."""
    return dataclasses.replace(event, **dict.fromkeys(type(event).personal_fields))


async def test_the_projection_reads_the_feeds_events_without_metadata_or_personal_parts(
    app_engine: AsyncEngine,
) -> None:
    """Page by page from the start of a shelter's log, the projection's own reader returns the
    events ``read_feed`` returns for its filter, in the same places and order, each without
    who wrote it and without its personal part (the feed's event with its personal fields
    ``None``).

    Each page of the feed is read first; the projection's reader then asks for as many events
    after the same position. Events below the feed's horizon never change and later ones sort
    after them, so both must agree whatever other tests append meanwhile.
    """
    deps = await _deps(app_engine)
    tenant = deps.tenants["hvo-querido"].id
    await _walk(deps, "hvo-querido")
    await _walk(deps, "hvo-querido")
    flt = FeedFilter(event_types=STORE.registry.event_types)
    position, pages, personal = START, 0, 0
    async with tenant_transaction(app_engine, tenant) as conn:
        while True:
            page = await read_feed(conn, STORE, position, 7, flt)
            if not page:
                break
            ours = await read_batch(conn, STORE, position, len(page))
            assert [_place(e) for e in ours] == [_place(e) for e in page]
            assert [e.event for e in ours] == [_without_personal(e.event) for e in page]
            assert not any(hasattr(e, "metadata") or hasattr(e, "sealed") for e in ours)
            personal += sum(e.event != _without_personal(e.event) for e in page)
            position, pages = position_of(page[-1]), pages + 1
    assert pages >= 2  # two walks hold more than one page
    assert personal >= 2  # each walk's opening names the client: read by the feed, not here


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_catching_every_shelter_up_at_once_counts_each_event_once(
    app_engine: AsyncEngine, admin_engine: AsyncEngine, concurrency: int
) -> None:
    """Shelters caught up side by side each reach their new cases, and every checkpoint
    counts the events up to it exactly once."""
    deps = await _deps(app_engine)
    cases = [await _walk(deps, slug) for slug in ("moviera", "blijf-groep", "het-kopland")]
    await catch_up_all(app_engine, STORE, concurrency=concurrency)
    rows = await _rows(admin_engine, "case_id = ANY(:ids)", ids=cases)
    projected = sorted((dict(zip(REPORT_COLUMNS, r, strict=True)) for r in rows), key=_case)
    assert projected == await _folded(admin_engine, sorted(cases))
    for tenant in (t.id for t in deps.tenants.values() if t.kind == "shelter"):
        counted = await _checkpoint(admin_engine, tenant)
        assert counted is not None
        assert counted[0] == counted[1]


async def test_a_stream_out_of_version_order_in_a_batch_is_read_again_not_folded_as_it_came(
    app_engine: AsyncEngine,
) -> None:
    """The whole-in-batch check takes a stream's events in the order they came: versions 1, 2,
    ... in that order up to the latest are folded from the batch; out of order or with a gap,
    the stream is read again from the log (in version order)."""
    deps = await _deps(app_engine)
    case = await _walk(deps, "humanitas-pmw")
    async with tenant_transaction(app_engine, deps.tenants["humanitas-pmw"].id) as conn:
        stream = await STORE.read_stream(conn, case)
        assert len(stream) > 2
        in_order = await _whole_in_batch(conn, stream)
        swapped = await _whole_in_batch(conn, [stream[1], stream[0], *stream[2:]])
        gap = await _whole_in_batch(conn, [stream[0], *stream[2:]])
    assert in_order == ({case: stream}, [])
    assert swapped == ({}, [case])
    assert gap == ({}, [case])


class _CountingRegistry(EventRegistry):
    """The registry, counting the events it decodes."""

    decoded = 0

    def decode(self, *args: Any) -> Any:
        self.decoded += 1
        return super().decode(*args)


async def _append_decided(
    app_engine: AsyncEngine, tenant: uuid.UUID, commands: Sequence[Any], state: Any = None
) -> Any:
    """The events the domain decides for ``commands``, appended in one transaction after
    ``state``; the state after them."""
    events = []
    version = 0 if state is None else state.version
    for command in commands:
        for event in rc.decide(state, command):
            events.append(event)
            state = rc.evolve(state, event)
    async with tenant_transaction(app_engine, tenant) as conn:
        await STORE.append(conn, tenant_id=tenant, stream_id=commands[0].case_id,
                           stream_type="ReturnCase", expected_version=version, events=events,
                           metadata=Metadata("projection-test", "jade-zorggroep", "caseworker",
                                             "r", "r"),
                           occurred_at=dt.datetime.now(dt.UTC))  # fmt: skip
    return state


async def test_catching_up_a_long_case_hands_the_loop_back_between_slices_of_rows(
    app_engine: AsyncEngine, admin_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The projection shares the service's event loop with the feed: a catch-up that reads a
    long case's whole stream again lets other work run between every few dozen rows it
    decodes, never only after the whole stream. The row is still the fold of the stream."""
    monkeypatch.setattr(bulk_read, "TURN_SECONDS", 0.0)  # every stretch long enough
    deps = await _deps(app_engine)
    tenant = deps.tenants["jade-zorggroep"].id
    name = f"turns-test-{uuid.uuid4().hex[:8]}"
    case = uuid.uuid4()
    opened = await _append_decided(app_engine, tenant, [
        rc.OpenReturnCase(case, dt.date(2024, 5, 1), "long", v.Gender.FEMALE, 1990, "NG", "NG",
                          ("en",), (v.ExploitationForm.FORCED_LABOUR,))
    ])  # fmt: skip
    await catch_up_tenant(app_engine, STORE, tenant, projection=name, batch_size=100_000)
    assessed = [rc.AssessRisk(case, dt.date(2024, 5, 2), v.RiskLevel.LOW)] * 300
    await _append_decided(app_engine, tenant, assessed, opened)
    registry = _CountingRegistry(rc.EVENT_TYPES)
    store = EventStore(registry)
    seen: list[int] = []

    async def watch() -> None:
        while True:
            seen.append(registry.decoded)
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0)
    try:
        # The opening was projected alone before, so this batch holds the stream from version
        # 2: the stream is read again whole (301 rows) after the batch's own rows.
        await catch_up_tenant(app_engine, store, tenant, projection=name, batch_size=100_000)
    finally:
        watcher.cancel()
    seen.append(registry.decoded)
    assert registry.decoded >= 300 + 301
    steps = [after - before for before, after in itertools.pairwise(seen)]
    assert max(steps) <= bulk_read.ROWS_PER_TURN_LOOK
    rows = await _rows(admin_engine, "case_id = :id", id=case)
    assert [dict(zip(REPORT_COLUMNS, r, strict=True)) for r in rows] == await _folded(
        admin_engine, [case]
    )
    async with admin_engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM report_checkpoints WHERE projection = :p"), {"p": name}
        )
