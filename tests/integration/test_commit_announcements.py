"""Commits announced after they happen: at once in the process, coalesced to the others.

The store sends no NOTIFY inside an appending transaction when it has an announcer: after the
commit, the announcer wakes this process's readers by a call and sends other processes one
NOTIFY per tenant per window, from a connection of its own. These tests check:

- a commit reaches a subscriber of the same process without any notification;
- many commits of a tenant in one window make one NOTIFY, sent after the commits;
- a commit after a quiet window is announced after the short delay; one inside the window of
  the last NOTIFY waits for that window's end (or the announcer's close, which does not wait);
- a rolled-back append announces nothing, and a committed one only after its commit;
- a commit whose announcement never went out (the writing process was killed between its
  commit and its NOTIFY) still reaches another process's subscribers, by the feed's periodic
  re-check;
- pooled connections without a pre-ping: a command survives a connection the server dropped,
  and a connection left inside a transaction is never handed out again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service import db
from service.app import load_tenants
from service.auth import Principal, Tenant
from service.domain.return_case import EVENT_TYPES
from service.events.announce import CommitAnnouncer
from service.events.cursor import START
from service.events.feed import FeedFilter, FeedHub
from service.events.store import EVENTS_CHANNEL, EventStore
from service.events.types import EventRegistry, Metadata
from service.handlers.return_case import Dependencies
from service.reports.projection import ReportProjection
from tests.conftest import Database
from tests.integration.test_feed_hub import open_case, record_conversation, take

TENANT = "humanitas-pmw"
NO_SAFETY_POLL = 600.0


def _dsn(database: Database) -> str:
    return database.app_url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
async def tenants(app_engine: AsyncEngine) -> dict[str, Tenant]:
    return await load_tenants(app_engine)


@pytest.fixture(scope="module")
def caseworker(tenants: dict[str, Tenant]) -> Principal:
    return Principal("announce-test", tenants[TENANT], frozenset({"caseworker"}))


class Listener:
    """A LISTEN connection that records the tenants announced on the events channel."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.payloads: list[str] = []

    def _on(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.payloads.append(payload)

    async def settle(self) -> list[str]:
        """The payloads received so far: a round trip delivers every earlier notification."""
        await self.conn.fetchval("SELECT 1")
        return list(self.payloads)


@pytest.fixture
async def listener(database: Database) -> AsyncIterator[Listener]:
    conn = await asyncpg.connect(_dsn(database))
    seen = Listener(conn)
    await conn.add_listener(EVENTS_CHANNEL, seen._on)
    try:
        yield seen
    finally:
        await conn.close()


def _store(announce: Any) -> EventStore:
    return EventStore(EventRegistry(EVENT_TYPES), announce=announce)


async def test_a_commit_reaches_a_subscriber_of_the_same_process_without_a_notification(
    app_engine: AsyncEngine, database: Database, caseworker: Principal, listener: Listener
) -> None:
    announcer = CommitAnnouncer(None)  # no NOTIFY at all: only the in-process wake-up
    store = _store(announcer.committed)
    hub = FeedHub(app_engine, store, lambda: asyncpg.connect(_dsn(database)),
                  safety_poll_seconds=NO_SAFETY_POLL)  # fmt: skip
    announcer.on_commit(hub.wake)
    await hub.start()
    deps = Dependencies(engine=app_engine, store=store, tenants={})
    try:
        case_id = await open_case(deps, caseworker)
        events = hub.subscribe(caseworker.tenant_id, START, FeedFilter(stream_id=case_id))
        try:
            assert [e.version for e in await take(events, 1)] == [1]
            nxt = asyncio.ensure_future(anext(events))
            for _ in range(200):  # until the subscriber has joined the live fan-out
                if hub.subscriber_count == 1:
                    break
                await asyncio.sleep(0.01)
            version = await record_conversation(deps, caseworker, case_id, 1)
            async with asyncio.timeout(10):
                assert (await nxt).version == version
        finally:
            await events.aclose()
    finally:
        await hub.close()
    assert str(caseworker.tenant_id) not in await listener.settle()


async def test_the_commits_of_one_window_share_one_notification_sent_after_them(
    database: Database, caseworker: Principal, listener: Listener
) -> None:
    announcer = CommitAnnouncer(lambda: asyncpg.connect(_dsn(database)), window=0.05)
    woken: list[uuid.UUID] = []
    announcer.on_commit(woken.append)
    other = uuid.uuid4()
    for _ in range(20):  # twenty commits of a tenant, and one of another, in one window
        announcer.committed(caseworker.tenant_id)
    announcer.committed(other)
    assert woken == [caseworker.tenant_id] * 20 + [other]  # this process: every commit, at once
    await announcer.close()
    assert announcer.notifications_sent == 1
    payloads = await listener.settle()
    assert sorted(payloads) == sorted([str(caseworker.tenant_id), str(other)])


async def test_a_commit_after_a_quiet_window_goes_soon_and_the_next_waits_for_the_window(
    database: Database, caseworker: Principal, listener: Listener
) -> None:
    hour = 3600.0  # a window no test outlives: what is sent was sent without waiting for it
    announcer = CommitAnnouncer(lambda: asyncpg.connect(_dsn(database)), window=hour, delay=0.01)
    first, second = str(caseworker.tenant_id), uuid.uuid4()
    announcer.committed(caseworker.tenant_id)
    for _ in range(500):
        if announcer.notifications_sent:
            break
        await asyncio.sleep(0.01)
    assert announcer.notifications_sent == 1
    assert await listener.settle() == [first]
    announcer.committed(second)  # inside the first one's window
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert announcer.notifications_sent == 1
    assert await listener.settle() == [first]
    await announcer.close()  # sends what waits, without waiting for the window
    assert announcer.notifications_sent == 2
    assert await listener.settle() == [first, str(second)]


@dataclass(frozen=True, slots=True)
class AnnouncementTested:
    """An event of a stream type of its own: nothing of return cases is left behind."""

    event_type: ClassVar[str] = "AnnouncementTested"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = frozenset()
    stream: uuid.UUID


async def test_an_append_is_announced_after_its_commit_and_never_after_a_rollback(
    app_engine: AsyncEngine, caseworker: Principal, listener: Listener
) -> None:
    woken: list[uuid.UUID] = []
    store = EventStore(EventRegistry([AnnouncementTested]), announce=woken.append)
    stream = uuid.uuid4()
    meta = Metadata("announce-test", TENANT, "caseworker", "r", "r")

    async def append(conn: Any) -> None:
        await store.append(conn, tenant_id=caseworker.tenant_id, stream_id=stream,
                           stream_type="AnnouncementTest", expected_version=0,
                           events=[AnnouncementTested(stream)], metadata=meta,
                           occurred_at=dt.datetime.now(dt.UTC))  # fmt: skip

    async def append_then_fail() -> None:
        async with db.tenant_transaction(app_engine, caseworker.tenant_id) as conn:
            await append(conn)
            raise RuntimeError("the unit of work fails after the append")

    with pytest.raises(RuntimeError):
        await append_then_fail()
    assert woken == []
    async with db.tenant_transaction(app_engine, caseworker.tenant_id) as conn:
        await append(conn)
        assert woken == []  # not before the commit
    assert woken == [caseworker.tenant_id]
    # The announcing store sent no NOTIFY of its own inside those transactions.
    assert str(caseworker.tenant_id) not in await listener.settle()


async def test_a_commit_whose_announcement_was_lost_reaches_other_processes_by_the_recheck(
    app_engine: AsyncEngine, database: Database, caseworker: Principal
) -> None:
    # The writing process committed and was killed before it could announce anything.
    killed_before_announcing = _store(lambda _tenant: None)
    deps = Dependencies(engine=app_engine, store=killed_before_announcing, tenants={})
    case_id = await open_case(deps, caseworker)
    hub = FeedHub(app_engine, _store(None), lambda: asyncpg.connect(_dsn(database)),
                  safety_poll_seconds=0.2)  # fmt: skip
    await hub.start()
    try:
        events = hub.subscribe(caseworker.tenant_id, START, FeedFilter(stream_id=case_id))
        try:
            assert [e.version for e in await take(events, 1)] == [1]
            nxt = asyncio.ensure_future(anext(events))
            for _ in range(200):
                if hub.subscriber_count == 1:
                    break
                await asyncio.sleep(0.01)
            version = await record_conversation(deps, caseworker, case_id, 1)
            async with asyncio.timeout(10):
                assert (await nxt).version == version
        finally:
            await events.aclose()
    finally:
        await hub.close()


async def _backend_pid(engine: AsyncEngine) -> int:
    """The backend of the connection the next command takes (the one the last kept)."""
    async with db.tenant_transaction(engine, None) as conn:
        return int(await conn.scalar(text("SELECT pg_backend_pid()")))


async def test_a_command_survives_a_pooled_connection_the_server_dropped(
    database: Database, admin_engine: AsyncEngine, caseworker: Principal
) -> None:
    engine = db.create_app_engine(database.app_url, 1)
    try:
        deps = Dependencies(engine=engine, store=_store(None), tenants={})
        case_id = await open_case(deps, caseworker)
        pid = await _backend_pid(engine)
        async with admin_engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        # The pooled connection is dead; without a pre-ping the command meets it, and is run
        # again on a fresh connection.
        assert await record_conversation(deps, caseworker, case_id, 1) == 2
        assert await _backend_pid(engine) != pid
    finally:
        await engine.dispose()


async def test_a_connection_left_inside_a_transaction_is_never_handed_out_again(
    database: Database, admin_engine: AsyncEngine, caseworker: Principal
) -> None:
    engine = db.create_app_engine(database.app_url, 1)
    try:
        deps = Dependencies(engine=engine, store=_store(None), tenants={})
        # As a request cancelled during its BEGIN leaves it: the driver thinks a transaction
        # is open; the pool knows nothing of it. (Marked before any command, so that the pool
        # holds it and no kept connection stands in front of it.)
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.transaction().start()
            marked = raw.get_server_pid()
        case_id = await open_case(deps, caseworker)
        assert await _backend_pid(engine) != marked
        version = await record_conversation(deps, caseworker, case_id, 1)
        async with admin_engine.connect() as conn:
            stored = await conn.scalar(
                text("SELECT max(version) FROM events WHERE stream_id = :s"), {"s": case_id}
            )
        assert stored == version == 2  # committed for everyone, not inside a stale transaction
    finally:
        await engine.dispose()


class _RecordingProjection(ReportProjection):
    """The report projection with its wake-ups recorded instead of acted on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.woken: list[uuid.UUID] = []

    def wake(self, tenant_id: uuid.UUID) -> None:
        self.woken.append(tenant_id)


async def test_a_process_hears_the_other_processes_commits_but_not_its_own_again(
    database: Database, app_engine: AsyncEngine, caseworker: Principal
) -> None:
    # Two processes' announcers; the first process's report projection listens as the
    # service's does, told which notifications its own announcer sent.
    ours = CommitAnnouncer(lambda: asyncpg.connect(_dsn(database)), window=0.01)
    theirs = CommitAnnouncer(lambda: asyncpg.connect(_dsn(database)), window=0.01)
    projection = _RecordingProjection(
        app_engine,
        _store(None),
        lambda: asyncpg.connect(_dsn(database)),
        poll_seconds=NO_SAFETY_POLL,
        own_notification=ours.sent_here,
    )
    woken: list[uuid.UUID] = []
    ours.on_commit(woken.append)
    conn = await asyncpg.connect(_dsn(database))
    heard = Listener(conn)  # hears every notification: both were sent
    await conn.add_listener(EVENTS_CHANNEL, heard._on)
    await projection.start()
    try:
        own_tenant, their_tenant = caseworker.tenant_id, uuid.uuid4()
        ours.committed(own_tenant)
        theirs.committed(their_tenant)
        for _ in range(200):  # both NOTIFYs sent and heard
            if len(heard.payloads) >= 2:
                break
            await asyncio.sleep(0.01)
        assert ours.backend_pid is not None
        assert theirs.backend_pid != ours.backend_pid
        assert sorted(await heard.settle()) == sorted([str(own_tenant), str(their_tenant)])
        await asyncio.sleep(0.1)  # the projection's listener had the same time to hear them
        assert projection.woken == [their_tenant]
        assert woken == [own_tenant]  # this process was woken once, by the call
    finally:
        await projection.stop()
        await ours.close()
        await theirs.close()
        await conn.close()
