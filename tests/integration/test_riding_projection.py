"""The case read models ride on their events' append statement: the row a command answers with
is the row stored, the timeline carries each event's own stamps, and an append that inserts
nothing writes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
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
from service.events.projections import return_cases
from service.events.projections.inline import RidingCase, rides
from service.events.store import ConcurrencyConflict, EventStore
from service.events.types import EventRegistry, Metadata
from service.handlers.return_case import Dependencies, handle
from service.privacy.cipher import PersonalDataCipher
from tests.preparation import ready_commands

SLUG = "jade-zorggroep"
META = Metadata("riding-tester", SLUG, "caseworker", "riding-test", "riding-test")


@pytest.fixture(scope="module")
async def deps(app_engine: AsyncEngine, cipher: PersonalDataCipher) -> Dependencies:
    store = EventStore(EventRegistry(rc.EVENT_TYPES), cipher=cipher)
    return Dependencies(app_engine, store, await load_tenants(app_engine))


def worker(deps: Dependencies) -> Principal:
    return Principal("riding-tester", deps.tenants[SLUG], frozenset({"caseworker"}))


def commands(case_id: uuid.UUID) -> list[Any]:
    return [
        rc.OpenReturnCase(case_id, dt.date(2026, 2, 1), "riding", v.Gender.FEMALE, 1990, "NG",
                          "NG", ("en",), (v.ExploitationForm.SEXUAL_EXPLOITATION,), "Ada Test"),
        rc.RecordReturnConversation(case_id, dt.date(2026, 2, 3), v.ReturnWish.WANTS_TO_RETURN,
                                    "a note that is personal"),
        *ready_commands(case_id, dt.date(2026, 2, 20), "NG", v.DepartureMode.INDEPENDENT,
                        birth_year=1990, intake=dt.date(2026, 2, 1)),
        rc.RecordDeparture(case_id, dt.date(2026, 3, 1), v.DepartureMode.INDEPENDENT, "NG"),
        rc.CloseReturnCase(case_id, v.ClosingReason.RETURNED, dt.date(2026, 3, 2)),
    ]  # fmt: skip


async def stored(deps: Dependencies, case_id: uuid.UUID) -> tuple[dict[str, Any], list[Any]]:
    """The case's row, and its timeline beside its events' own stamps."""
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        row = await return_cases.get_case(conn, case_id)
        entries = (
            await conn.execute(
                text(
                    "SELECT t.version, t.global_position, t.recorded_at, "
                    "e.global_position, e.recorded_at FROM case_timeline AS t "
                    "JOIN events AS e ON e.stream_id = t.case_id AND e.version = t.version "
                    "WHERE t.case_id = :c ORDER BY t.version"
                ),
                {"c": case_id},
            )
        ).all()
    assert row is not None
    return row, [tuple(e) for e in entries]


async def test_every_command_answers_with_its_row_as_stored(deps: Dependencies) -> None:
    case_id = uuid.uuid4()
    walk = commands(case_id)
    for version, command in enumerate(walk):
        result = await handle(
            deps, worker(deps), command, expected_version=version,
            idempotency_key=f"riding-{uuid.uuid4()}", request_id="riding-test",
        )  # fmt: skip
        row, entries = await stored(deps, case_id)
        assert result.row == row, type(command).__name__
        assert row["version"] == version + 1
        # Each entry carries its event's position and time, as the database stamped them.
        assert [e[0] for e in entries] == list(range(1, version + 2))
        assert all(e[1:3] == e[3:5] for e in entries)
        assert row["updated_at"] == entries[-1][2]
    assert row["phase"] == "CLOSED"


async def _walked(deps: Dependencies) -> uuid.UUID:
    case_id = uuid.uuid4()
    for version, command in enumerate(commands(case_id)[:2]):
        await handle(deps, worker(deps), command, expected_version=version,
                     idempotency_key=None, request_id="riding-test")  # fmt: skip
    return case_id


async def test_an_append_that_inserts_nothing_writes_no_read_model(deps: Dependencies) -> None:
    case_id = await _walked(deps)
    before = await stored(deps, case_id)
    risk = rc.RiskAssessed(case_id, dt.date(2026, 2, 5), v.RiskLevel.LOW, (), None)
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        stream = await deps.store.read_stream(conn, case_id)
        with pytest.raises(ConcurrencyConflict):  # decided on version 1; the case is at 2
            await deps.store.append(
                conn, tenant_id=deps.tenants[SLUG].id, stream_id=case_id,
                stream_type="ReturnCase", expected_version=1, events=[risk], metadata=META,
                occurred_at=dt.datetime.now(dt.UTC), riding=RidingCase(stream[:1]),
            )  # fmt: skip
        # Within the same transaction still: the row and the timeline are as they were.
        row = await return_cases.get_case(conn, case_id)
        count = await conn.scalar(
            text("SELECT count(*) FROM case_timeline WHERE case_id = :c"), {"c": case_id}
        )
    assert row == before[0]
    assert count == len(before[1])


async def test_events_appended_together_ride_with_their_own_stamps(deps: Dependencies) -> None:
    case_id = await _walked(deps)
    events = [
        rc.RiskAssessed(case_id, dt.date(2026, 2, 5), v.RiskLevel.LOW, (), None),
        rc.RiskAssessed(
            case_id, dt.date(2026, 2, 6), v.RiskLevel.HIGH, (v.RiskFactor.DEBTS,), None
        ),
    ]
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        stream = await deps.store.read_stream(conn, case_id)
        riding = RidingCase(stream)
        recorded = await deps.store.append(
            conn, tenant_id=deps.tenants[SLUG].id, stream_id=case_id, stream_type="ReturnCase",
            expected_version=2, events=events, metadata=META,
            occurred_at=dt.datetime.now(dt.UTC), riding=riding,
        )  # fmt: skip
        answered = riding.stored(recorded)
    row, entries = await stored(deps, case_id)
    assert answered == row
    assert (row["version"], row["risk_level"]) == (4, "HIGH")
    assert row["updated_at"] == recorded[-1].recorded_at
    assert entries[2:] == [
        (r.version, r.global_position, r.recorded_at, r.global_position, r.recorded_at)
        for r in recorded
    ]


def test_an_event_that_sets_the_personal_part_does_not_ride() -> None:
    case_id = uuid.uuid4()
    opened = rc.ReturnCaseOpened(
        case_id, dt.date(2026, 2, 1), "riding", v.Gender.FEMALE, 1990, "NG", "NG", ("en",),
        (v.ExploitationForm.SEXUAL_EXPLOITATION,), "Ada Test", None, None,
    )  # fmt: skip
    risk = rc.RiskAssessed(case_id, dt.date(2026, 2, 5), v.RiskLevel.LOW, (), None)
    assert rides([risk])
    assert not rides([opened])
    assert not rides(
        [
            risk,
            rc.ClientPersonalDataErased(
                case_id, dt.date(2026, 3, 1), v.ErasureReason.CLIENT_REQUEST, None
            ),
        ]
    )


async def test_another_shelter_cannot_write_a_case_through_a_riding_append(
    deps: Dependencies,
) -> None:
    case_id = await _walked(deps)  # a case of jade-zorggroep, at version 2
    before = await stored(deps, case_id)
    async with tenant_transaction(deps.engine, deps.tenants[SLUG].id) as conn:
        stream = await deps.store.read_stream(conn, case_id)
    other = deps.tenants["moviera"].id
    risk = rc.RiskAssessed(case_id, dt.date(2026, 2, 5), v.RiskLevel.LOW, (), None)
    # Even with the owner's stream in hand, another shelter's transaction writes nothing:
    # row-level security refuses the row the rider carries, and the statement fails whole.
    async with tenant_transaction(deps.engine, other) as conn:
        assert await deps.store.read_stream(conn, case_id) == []
        with pytest.raises(DBAPIError, match="row-level security"):
            await deps.store.append(
                conn, tenant_id=other, stream_id=case_id, stream_type="ReturnCase",
                expected_version=2, events=[risk], metadata=META,
                occurred_at=dt.datetime.now(dt.UTC), riding=RidingCase(stream),
            )  # fmt: skip
        await conn.rollback()  # the failed statement ended what the transaction could do
    assert await stored(deps, case_id) == before
    async with tenant_transaction(deps.engine, other) as conn:
        assert await return_cases.get_case(conn, case_id) is None
        assert await deps.store.read_stream(conn, case_id) == []
