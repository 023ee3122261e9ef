"""The event store's contract: ordered streams, optimistic concurrency, upcasting."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import ClassVar

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import tenant_transaction
from service.events.store import ConcurrencyConflict, DuplicateReceipt, EventStore, Receipt
from service.events.types import EventRegistry, Metadata


@dataclass(frozen=True, slots=True)
class NoteTaken:
    event_type: ClassVar[str] = "NoteTaken"
    schema_version: ClassVar[int] = 2
    personal_fields: ClassVar[frozenset[str]] = frozenset({"text"})
    case_id: uuid.UUID
    on: dt.date
    text: str | None
    priority: int


def _v1_to_v2(payload: dict, personal: dict | None) -> tuple[dict, dict | None]:  # type: ignore[type-arg]
    return {**payload, "priority": 0}, personal


META = Metadata(
    actor="u1", organisation="moviera", role="caseworker", request_id="r1", correlation_id="r1"
)
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def store() -> EventStore:
    registry = EventRegistry([NoteTaken])
    registry.add_upcaster("NoteTaken", 1, _v1_to_v2)
    return EventStore(registry)


async def _tenant(engine: AsyncEngine) -> uuid.UUID:
    async with engine.connect() as conn:
        value = await conn.scalar(text("SELECT id FROM tenants WHERE slug = 'jade-zorggroep'"))
    assert isinstance(value, uuid.UUID)
    return value


async def _append(
    store: EventStore,
    engine: AsyncEngine,
    tenant: uuid.UUID,
    stream: uuid.UUID,
    expected: int,
    count: int = 1,
    receipt: tuple[str, Receipt] | None = None,
) -> list[int]:
    events = [NoteTaken(stream, dt.date(2026, 1, i + 1), f"secret {i}", i) for i in range(count)]
    async with tenant_transaction(engine, tenant) as conn:
        recorded = await store.append(
            conn,
            tenant_id=tenant,
            stream_id=stream,
            stream_type="Test",
            expected_version=expected,
            events=events,
            metadata=META,
            occurred_at=NOW,
            receipt=receipt,
        )
    return [r.version for r in recorded]


async def test_append_numbers_versions_without_holes_and_reads_them_back(
    store: EventStore, app_engine: AsyncEngine
) -> None:
    tenant, stream = await _tenant(app_engine), uuid.uuid4()
    assert await _append(store, app_engine, tenant, stream, 0, 2) == [1, 2]
    assert await _append(store, app_engine, tenant, stream, 2, 1) == [3]
    async with tenant_transaction(app_engine, tenant) as conn:
        read = await store.read_stream(conn, stream)
    assert [r.version for r in read] == [1, 2, 3]
    assert [r.event.priority for r in read] == [0, 1, 0]
    assert read[0].metadata == META


async def test_personal_fields_are_stored_apart_from_the_payload(
    store: EventStore, app_engine: AsyncEngine
) -> None:
    tenant, stream = await _tenant(app_engine), uuid.uuid4()
    await _append(store, app_engine, tenant, stream, 0)
    async with tenant_transaction(app_engine, tenant) as conn:
        row = (
            await conn.execute(
                text("SELECT payload, personal FROM events WHERE stream_id = :s"), {"s": stream}
            )
        ).one()
    assert "text" not in row.payload
    assert row.personal == {"text": "secret 0"}


async def test_stale_expected_version_is_a_conflict_naming_the_current_version(
    store: EventStore, app_engine: AsyncEngine
) -> None:
    tenant, stream = await _tenant(app_engine), uuid.uuid4()
    await _append(store, app_engine, tenant, stream, 0, 2)
    with pytest.raises(ConcurrencyConflict) as caught:
        await _append(store, app_engine, tenant, stream, 1)
    assert (caught.value.expected, caught.value.current) == (1, 2)


async def test_two_concurrent_appends_on_one_stream_exactly_one_wins(
    store: EventStore, app_engine: AsyncEngine
) -> None:
    tenant, stream = await _tenant(app_engine), uuid.uuid4()
    await _append(store, app_engine, tenant, stream, 0)
    results = await asyncio.gather(
        *[_append(store, app_engine, tenant, stream, 1) for _ in range(2)],
        return_exceptions=True,
    )
    wins = [r for r in results if isinstance(r, list)]
    conflicts = [r for r in results if isinstance(r, ConcurrencyConflict)]
    assert (len(wins), len(conflicts)) == (1, 1)
    assert conflicts[0].current == 2
    async with tenant_transaction(app_engine, tenant) as conn:
        assert [r.version for r in await store.read_stream(conn, stream)] == [1, 2]


async def test_old_schema_versions_are_upcast_when_read(
    store: EventStore, app_engine: AsyncEngine
) -> None:
    tenant, stream = await _tenant(app_engine), uuid.uuid4()
    async with tenant_transaction(app_engine, tenant) as conn:
        await conn.execute(text("SELECT events_writer_begin()"))  # as every event writer does
        await conn.execute(
            text(
                "INSERT INTO events (tenant_id, stream_id, stream_type, version, event_type, "
                "schema_version, payload, personal, metadata, occurred_at) VALUES (:t, :s, "
                "'Test', 1, 'NoteTaken', 1, :p, NULL, :m, now())"
            ),
            {
                "t": tenant,
                "s": stream,
                "p": json.dumps({"case_id": str(stream), "on": "2025-12-31"}),
                "m": json.dumps(META.to_json()),
            },
        )
        (recorded,) = await store.read_stream(conn, stream)
    assert recorded.event == NoteTaken(stream, dt.date(2025, 12, 31), None, 0)
    assert recorded.schema_version == 1


async def test_a_second_receipt_for_the_same_key_is_refused(
    store: EventStore, app_engine: AsyncEngine
) -> None:
    tenant, key = await _tenant(app_engine), f"key-{uuid.uuid4()}"
    receipt = Receipt(uuid.uuid4(), "Test", "abc", 1)
    async with tenant_transaction(app_engine, tenant) as conn:
        await store.save_receipt(conn, tenant_id=tenant, key=key, receipt=receipt)
    with pytest.raises(DuplicateReceipt):
        async with tenant_transaction(app_engine, tenant) as conn:
            await store.save_receipt(conn, tenant_id=tenant, key=key, receipt=receipt)
    async with tenant_transaction(app_engine, tenant) as conn:
        assert await store.find_receipt(conn, key) == receipt


async def _receipt_and_versions(
    store: EventStore, engine: AsyncEngine, tenant: uuid.UUID, stream: uuid.UUID, key: str
) -> tuple[Receipt | None, list[int]]:
    async with tenant_transaction(engine, tenant) as conn:
        receipt = await store.find_receipt(conn, key)
        versions = [r.version for r in await store.read_stream(conn, stream)]
    return receipt, versions


@pytest.mark.parametrize("count", [1, 3], ids=["one event", "three events"])
async def test_an_append_saves_the_receipt_it_carries_with_its_events(
    store: EventStore, app_engine: AsyncEngine, count: int
) -> None:
    tenant, stream, key = await _tenant(app_engine), uuid.uuid4(), f"key-{uuid.uuid4()}"
    receipt = Receipt(stream, "Test", "abc", count)
    assert await _append(store, app_engine, tenant, stream, 0, count, (key, receipt)) == list(
        range(1, count + 1)
    )
    assert await _receipt_and_versions(store, app_engine, tenant, stream, key) == (
        receipt,
        list(range(1, count + 1)),
    )


async def test_an_append_that_conflicts_saves_no_receipt(
    store: EventStore, app_engine: AsyncEngine
) -> None:
    tenant, stream, key = await _tenant(app_engine), uuid.uuid4(), f"key-{uuid.uuid4()}"
    await _append(store, app_engine, tenant, stream, 0, 2)
    with pytest.raises(ConcurrencyConflict):
        await _append(store, app_engine, tenant, stream, 1, 1, (key, Receipt(stream, "T", "x", 2)))
    assert await _receipt_and_versions(store, app_engine, tenant, stream, key) == (None, [1, 2])


async def test_an_append_whose_key_another_request_saved_keeps_nothing(
    store: EventStore, app_engine: AsyncEngine
) -> None:
    tenant, stream, key = await _tenant(app_engine), uuid.uuid4(), f"key-{uuid.uuid4()}"
    first = Receipt(uuid.uuid4(), "Test", "first", 1)
    async with tenant_transaction(app_engine, tenant) as conn:
        await store.save_receipt(conn, tenant_id=tenant, key=key, receipt=first)
    with pytest.raises(DuplicateReceipt):
        await _append(store, app_engine, tenant, stream, 0, 1, (key, Receipt(stream, "T", "x", 1)))
    assert await _receipt_and_versions(store, app_engine, tenant, stream, key) == (first, [])


async def test_an_append_refuses_a_receipt_of_another_version(
    store: EventStore, app_engine: AsyncEngine
) -> None:
    tenant, stream, key = await _tenant(app_engine), uuid.uuid4(), f"key-{uuid.uuid4()}"
    with pytest.raises(ValueError, match="the version it reaches"):
        await _append(store, app_engine, tenant, stream, 0, 2, (key, Receipt(stream, "T", "x", 1)))
    assert await _receipt_and_versions(store, app_engine, tenant, stream, key) == (None, [])


async def test_two_concurrent_appends_carrying_one_key_keep_exactly_one(
    store: EventStore, app_engine: AsyncEngine
) -> None:
    tenant, key = await _tenant(app_engine), f"key-{uuid.uuid4()}"
    streams = [uuid.uuid4(), uuid.uuid4()]
    results = await asyncio.gather(
        *[
            _append(store, app_engine, tenant, s, 0, 1, (key, Receipt(s, "Test", "x", 1)))
            for s in streams
        ],
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["DuplicateReceipt", "list"]
    winner = streams[[isinstance(r, list) for r in results].index(True)]
    loser = streams[1 - streams.index(winner)]
    assert await _receipt_and_versions(store, app_engine, tenant, winner, key) == (
        Receipt(winner, "Test", "x", 1),
        [1],
    )
    assert (await _receipt_and_versions(store, app_engine, tenant, loser, key))[1] == []


async def test_two_shelters_appending_with_one_key_each_keep_and_see_only_their_own(
    store: EventStore, app_engine: AsyncEngine
) -> None:
    async with app_engine.connect() as conn:
        other = await conn.scalar(text("SELECT id FROM tenants WHERE slug = 'moviera'"))
    tenants, key = [await _tenant(app_engine), other], f"key-{uuid.uuid4()}"
    streams = [uuid.uuid4(), uuid.uuid4()]
    for tenant, stream in zip(tenants, streams, strict=True):
        receipt = Receipt(stream, "Test", "x", 1)
        assert await _append(store, app_engine, tenant, stream, 0, 1, (key, receipt)) == [1]
    for tenant, stream in zip(tenants, streams, strict=True):
        assert await _receipt_and_versions(store, app_engine, tenant, stream, key) == (
            Receipt(stream, "Test", "x", 1),
            [1],
        )
