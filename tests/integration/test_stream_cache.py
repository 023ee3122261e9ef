"""A command reads only what came after the stream the cache keeps and starts from the state
kept at that version, decides as if it had read and folded the whole stream, and the caches
hold nothing another shelter, a rollback or a reader of personal data could get anything
from."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from service.app import load_tenants
from service.auth import Principal
from service.db import tenant_transaction
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.errors import BadUserInput, Conflict, NotFound
from service.events.store import EventStore
from service.events.stream_cache import StreamCache
from service.events.types import EventRegistry
from service.handlers.return_case import Dependencies, handle
from service.privacy.cipher import PersonalDataCipher
from service.privacy.erasure import erase_client_personal_data
from service.work.repository import states

SLUG = "jade-zorggroep"
OTHER = "moviera"


@pytest.fixture
async def cached(app_engine: AsyncEngine, cipher: PersonalDataCipher) -> Dependencies:
    store = EventStore(EventRegistry(rc.EVENT_TYPES), cipher=cipher, stream_cache=StreamCache())
    return Dependencies(app_engine, store, await load_tenants(app_engine))


@pytest.fixture
async def uncached(app_engine: AsyncEngine, cipher: PersonalDataCipher) -> Dependencies:
    """Another writer (as another process would be): the same log, no cache of its own."""
    store = EventStore(EventRegistry(rc.EVENT_TYPES), cipher=cipher)
    return Dependencies(app_engine, store, await load_tenants(app_engine))


def worker(deps: Dependencies, slug: str = SLUG, *roles: str) -> Principal:
    return Principal("cache-tester", deps.tenants[slug], frozenset(roles or {"caseworker"}))


def cache_of(deps: Dependencies) -> StreamCache:
    assert deps.store.stream_cache is not None
    return deps.store.stream_cache


SECRETS = ("Aminata Kouyate-Stream", "met her cousin at the station", "her passport is held")


async def walk(deps: Dependencies) -> uuid.UUID:
    case_id = uuid.uuid4()
    commands: list[Any] = [
        rc.OpenReturnCase(case_id, dt.date(2026, 3, 1), f"P-{case_id.hex[:6]}", v.Gender.FEMALE,
                          1990, "ML", "ML", ("fr",), (v.ExploitationForm.FORCED_LABOUR,),
                          SECRETS[0], dt.date(1990, 1, 9), SECRETS[1]),
        rc.RecordReturnConversation(case_id, dt.date(2026, 3, 2), v.ReturnWish.UNDECIDED,
                                    SECRETS[2]),
        rc.AssessRisk(case_id, dt.date(2026, 3, 3), v.RiskLevel.LOW, (), None),
    ]  # fmt: skip
    for version, command in enumerate(commands):
        await handle(
            deps, worker(deps), command, expected_version=version,
            idempotency_key=f"{case_id}-{version}", request_id="cache-test",
        )  # fmt: skip
    return case_id


@contextmanager
def reads_after(engine: AsyncEngine) -> Iterator[list[int]]:
    """The version after which each stream read of a command asked for events."""
    seen: list[int] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if "LEFT JOIN events AS e" in statement:
            seen.append(parameters[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def talk(case_id: uuid.UUID, day: int, notes: str | None = None) -> rc.RecordReturnConversation:
    return rc.RecordReturnConversation(
        case_id, dt.date(2026, 3, day), v.ReturnWish.WANTS_TO_RETURN, notes
    )


async def test_a_command_reads_only_the_events_after_the_kept_stream(
    cached: Dependencies,
) -> None:
    case_id = await walk(cached)
    kept = cache_of(cached).get(cached.tenants[SLUG].id, case_id)
    assert [e.version for e in kept] == [1, 2, 3]

    with reads_after(cached.engine) as after:
        result = await handle(
            cached, worker(cached), talk(case_id, 4), expected_version=3,
            idempotency_key=None, request_id="cache-test",
        )  # fmt: skip
    assert after == [3]
    assert result.version == 4
    kept = cache_of(cached).get(cached.tenants[SLUG].id, case_id)
    assert [e.version for e in kept] == [1, 2, 3, 4]


async def test_events_another_writer_appended_come_after_the_kept_ones(
    cached: Dependencies, uncached: Dependencies
) -> None:
    case_id = await walk(cached)
    close = rc.CloseReturnCase(case_id, v.ClosingReason.WITHDREW, dt.date(2026, 3, 5))
    await handle(
        uncached, worker(uncached), close, expected_version=3, idempotency_key=None,
        request_id="cache-test",
    )  # fmt: skip

    with pytest.raises(Conflict) as stale:
        await handle(
            cached, worker(cached), talk(case_id, 6), expected_version=3,
            idempotency_key=None, request_id="cache-test",
        )  # fmt: skip
    assert stale.value.current_version == 4
    # Decided on the whole stream, the closing included: a closed case takes no conversation.
    with pytest.raises(BadUserInput):
        await handle(
            cached, worker(cached), talk(case_id, 6), expected_version=4,
            idempotency_key=None, request_id="cache-test",
        )  # fmt: skip
    # Refused commands roll back and keep nothing; the next accepted one keeps it all.
    assert len(cache_of(cached).get(cached.tenants[SLUG].id, case_id)) == 3
    reopen = rc.ReopenReturnCase(case_id, dt.date(2026, 3, 7), "she came back to us")
    await handle(
        cached, worker(cached), reopen, expected_version=4, idempotency_key=None,
        request_id="cache-test",
    )  # fmt: skip
    kept = cache_of(cached).get(cached.tenants[SLUG].id, case_id)
    assert [e.event_type for e in kept][3:] == ["ReturnCaseClosed", "ReturnCaseReopened"]


async def test_a_command_that_rolls_back_leaves_the_kept_stream_as_it_was(
    cached: Dependencies,
) -> None:
    case_id = await walk(cached)
    tenant = cached.tenants[SLUG].id
    store = cached.store

    class Abandoned(Exception):
        pass

    async def append_then_fail() -> None:
        async with tenant_transaction(cached.engine, tenant) as conn:
            _, stream = await store.read_stream_after_receipt(conn, case_id, None)
            await store.append(
                conn, tenant_id=tenant, stream_id=case_id, stream_type="ReturnCase",
                expected_version=len(stream), events=[rc.ReturnConversationRecorded(
                    case_id, dt.date(2026, 3, 7), v.ReturnWish.UNDECIDED, None)],
                metadata=stream[-1].metadata, occurred_at=dt.datetime.now(dt.UTC),
            )  # fmt: skip
            raise Abandoned

    with pytest.raises(Abandoned):
        await append_then_fail()

    assert [e.version for e in cache_of(cached).get(tenant, case_id)] == [1, 2, 3]
    result = await handle(
        cached, worker(cached), talk(case_id, 8), expected_version=3, idempotency_key=None,
        request_id="cache-test",
    )  # fmt: skip
    assert result.version == 4


async def test_the_kept_streams_hold_no_personal_value_even_after_an_erasure(
    cached: Dependencies,
) -> None:
    case_id = await walk(cached)
    tenant = cached.tenants[SLUG].id
    await handle(
        cached, worker(cached), talk(case_id, 4, "she wants to see her mother"),
        expected_version=3, idempotency_key=None, request_id="cache-test",
    )  # fmt: skip
    await erase_client_personal_data(
        cached, worker(cached, SLUG, "tenant-admin"), case_id, expected_version=4,
        reason=v.ErasureReason.CLIENT_REQUEST, idempotency_key=None, request_id="cache-test",
    )  # fmt: skip
    # After the erasure a command opens the stream it reads; what it keeps is still sealed.
    await handle(
        cached, worker(cached), talk(case_id, 6, "new note after erasure"),
        expected_version=5, idempotency_key=None, request_id="cache-test",
    )  # fmt: skip

    kept = cache_of(cached).get(tenant, case_id)
    assert [e.version for e in kept] == [1, 2, 3, 4, 5, 6]
    for recorded in kept:
        for name in type(recorded.event).personal_fields:
            assert getattr(recorded.event, name) is None
    shown = repr([dataclasses.astuple(e) for e in kept])
    for value in (*SECRETS, "she wants to see her mother", "new note after erasure", "1990-01-09"):
        assert value not in shown
    assert sum(e.sealed is not None for e in kept) >= 3


async def test_another_shelter_gets_nothing_through_a_kept_stream(
    cached: Dependencies,
) -> None:
    case_id = await walk(cached)
    assert cache_of(cached).get(cached.tenants[SLUG].id, case_id)

    with pytest.raises(NotFound):
        await handle(
            cached, worker(cached, OTHER), talk(case_id, 4), expected_version=3,
            idempotency_key=None, request_id="cache-test",
        )  # fmt: skip
    async with tenant_transaction(cached.engine, cached.tenants[OTHER].id) as conn:
        receipt, stream = await cached.store.read_stream_after_receipt(conn, case_id, None)
    assert (receipt, stream) == (None, [])
    assert cache_of(cached).get(cached.tenants[OTHER].id, case_id) == ()


async def test_a_command_keeps_the_state_the_next_one_starts_from(cached: Dependencies) -> None:
    case_id = await walk(cached)
    tenant = cached.tenants[SLUG].id
    async with tenant_transaction(cached.engine, tenant) as conn:
        stream = await cached.store.read_stream(conn, case_id)

    assert cached.state_cache.get((tenant, case_id, 3)) == rc.fold(e.event for e in stream)
    assert cached.state_cache.get((tenant, case_id, 2)) is None  # replaced, not piled up


async def test_a_state_read_unopened_after_an_erasure_is_neither_kept_nor_trusted(
    cached: Dependencies, uncached: Dependencies
) -> None:
    case_id = await walk(uncached)  # written by another process
    tenant = uncached.tenants[SLUG].id
    admin = worker(uncached, SLUG, "tenant-admin")
    await erase_client_personal_data(
        uncached, admin, case_id, expected_version=3, reason=v.ErasureReason.CLIENT_REQUEST,
        idempotency_key=None, request_id="cache-test",
    )  # fmt: skip
    await handle(
        uncached, worker(uncached), talk(case_id, 5, "she told us her new address"),
        expected_version=4, idempotency_key=None, request_id="cache-test",
    )  # fmt: skip
    # A work list folds the case from its events unopened: it misses that the new note is
    # personal data again, so that state is used for the list and not kept.
    async with tenant_transaction(cached.engine, tenant) as conn:
        found = await states(conn, cached.store, tenant, [(case_id, 5)], cached.state_cache)
    assert found[case_id].personal_data_erased
    assert cached.state_cache.get((tenant, case_id, 5)) is None

    # Were such a state kept, a command would still not start from it.
    cached.state_cache.put((tenant, case_id, 5), found[case_id])
    second = await erase_client_personal_data(
        cached, admin, case_id, expected_version=5, reason=v.ErasureReason.CLIENT_REQUEST,
        idempotency_key=None, request_id="cache-test",
    )  # fmt: skip
    assert second.version == 6  # decided on the opened stream: the new note is erased too
