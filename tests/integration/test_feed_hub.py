"""The feed hub's fan-out: shared reads, bounded queues, and a listener that comes back.

One ``FeedHub`` per process LISTENs for appends, reads each tenant's log once per wake-up and
hands the events to every live subscriber's bounded queue. These tests drive a hub of their
own, against the real database, with events written through the real command handler:

- a subscriber that stops reading is closed with ``SUBSCRIBER_TOO_SLOW`` once its queue
  overflows, while a subscriber that keeps up on the same tenant misses nothing; the closed
  one resumes from the last position it received and gets the rest, once each;
- events a transport takes at once (``direct``) and events it refuses, which go through the
  queue, arrive once each and in order;
- the number of statements that read the log per append does not grow with the number of
  subscribers (1 vs 50);
- when the LISTEN connection is killed, events written afterwards still arrive (the hub
  reconnects and catches up), without waiting for the safety poll.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from service import db
from service.app import load_tenants
from service.auth import Principal, Tenant
from service.domain import return_case as rc
from service.domain.return_case import EVENT_TYPES
from service.domain.vocabulary import Gender, ReturnWish
from service.events.cursor import START, FeedPosition
from service.events.feed import (
    FeedFilter,
    FeedHub,
    SubscriptionClosed,
    position_of,
    read_feed,
)
from service.events.store import EventStore
from service.events.types import EventRegistry, Metadata, RecordedEvent
from service.handlers.return_case import Dependencies, handle
from service.integrators import clients
from tests.conftest import Database

TENANT = "humanitas-pmw"
WAIT = 10.0
STORE = EventStore(EventRegistry(EVENT_TYPES))
NO_SAFETY_POLL = 600.0  # for tests where a delivery must not come from the periodic re-read


# --- set-up -----------------------------------------------------------------------------------


def _dsn(database: Database) -> str:
    return database.app_url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
async def tenants(app_engine: AsyncEngine) -> dict[str, Tenant]:
    return await load_tenants(app_engine)


@pytest.fixture(scope="module")
async def writer(database: Database, tenants: dict[str, Tenant]) -> AsyncIterator[Dependencies]:
    """The command path, on an engine of its own so that its reads are not counted as the hub's."""
    engine = db.create_app_engine(database.app_url, 2)
    yield Dependencies(engine=engine, store=STORE, tenants=tenants)
    await engine.dispose()


@pytest.fixture(scope="module")
def caseworker(tenants: dict[str, Tenant]) -> Principal:
    return Principal("feed-hub-test", tenants[TENANT], frozenset({"caseworker"}))


@pytest.fixture
def hub_factory(app_engine: AsyncEngine, database: Database) -> Callable[..., Any]:
    @asynccontextmanager
    async def running(
        application_name: str = "feed-hub-test", **options: Any
    ) -> AsyncIterator[FeedHub]:
        dsn = _dsn(database)

        def connect() -> Any:
            return asyncpg.connect(dsn, server_settings={"application_name": application_name})

        hub = FeedHub(app_engine, STORE, connect, **options)
        await hub.start()
        try:
            yield hub
        finally:
            await hub.close()

    return running


async def open_case(deps: Dependencies, principal: Principal) -> uuid.UUID:
    command = rc.OpenReturnCase(
        case_id=uuid.uuid4(), intake_date=dt.date(2026, 1, 5), pseudonym="Hub Client",
        gender=Gender.FEMALE, birth_year=1995, nationality="NG", country_of_origin="NG",
        languages=("en",), exploitation_forms=(),
    )  # fmt: skip
    result = await handle(
        deps, principal, command, expected_version=0, idempotency_key=None, request_id="hub"
    )
    return result.case_id


async def record_conversation(
    deps: Dependencies, principal: Principal, case_id: uuid.UUID, version: int
) -> int:
    command = rc.RecordReturnConversation(
        case_id=case_id, held_on=dt.date(2026, 1, 10), wish=ReturnWish.UNDECIDED
    )
    result = await handle(
        deps, principal, command, expected_version=version, idempotency_key=None, request_id="hub"
    )
    return result.version


async def until(condition: Callable[[], bool], seconds: float = WAIT) -> None:
    """Poll ``condition`` (bounded); ``TimeoutError`` when it never holds."""
    async with asyncio.timeout(seconds):
        for _ in range(int(seconds / 0.005) + 1):
            if condition():
                return
            await asyncio.sleep(0.005)
    raise TimeoutError


async def take(
    events: AsyncIterator[RecordedEvent], count: int, seconds: float = WAIT
) -> list[RecordedEvent]:
    async with asyncio.timeout(seconds):
        return [await anext(events) for _ in range(count)]


async def next_of(events: AsyncIterator[RecordedEvent]) -> RecordedEvent:
    return await anext(events)


async def collect(events: AsyncIterator[RecordedEvent], into: list[RecordedEvent]) -> None:
    async for recorded in events:
        into.append(recorded)


@asynccontextmanager
async def background(*coroutines: Any) -> AsyncIterator[list[asyncio.Task[Any]]]:
    """Run coroutines as tasks for the block; cancel and await them after it."""
    tasks = [asyncio.create_task(c) for c in coroutines]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class LogReads:
    """The statements sent through an engine that read ``FROM events``."""

    statements: list[str] = field(default_factory=list)
    finding_rows: int = 0  # feed reads (in feed order) that returned at least one event

    @property
    def replays(self) -> list[str]:
        """The reads a subscriber's replay makes (``read_feed``), without the live feed's own
        looks (``read_live`` and its ``is_held_back``), which any wake-up of the live feed
        may make, e.g. another process's notification of a commit it was already told of."""
        return [
            s
            for s in self.statements
            if "held_back" not in s and not s.lstrip().startswith("SELECT (SELECT 1 FROM events")
        ]


@contextmanager
def reads_of_the_log(engine: AsyncEngine) -> Iterator[LogReads]:
    seen = LogReads()

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM events" in statement:
            seen.statements.append(statement)

    def after(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        in_feed_order = "ORDER BY transaction_id, global_position" in statement
        reads_events = statement.lstrip().startswith("SELECT global_position")
        if "FROM events" in statement and in_feed_order and reads_events and cursor.rowcount > 0:
            seen.finding_rows += 1

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)
        event.remove(engine.sync_engine, "after_cursor_execute", after)


# --- a slow subscriber ------------------------------------------------------------------------


async def test_a_subscriber_that_falls_behind_is_closed_as_too_slow_and_others_miss_nothing(
    hub_factory: Any, writer: Dependencies, caseworker: Principal
) -> None:
    tenant_id = caseworker.tenant_id
    case_id = await open_case(writer, caseworker)
    only_this_case = FeedFilter(stream_id=case_id)
    async with hub_factory(queue_size=5) as hub, AsyncExitStack() as cleanup:
        fast = hub.subscribe(tenant_id, START, only_this_case)
        slow = hub.subscribe(tenant_id, START, only_this_case)
        cleanup.push_async_callback(fast.aclose)
        cleanup.push_async_callback(slow.aclose)
        assert [e.version for e in await take(fast, 1)] == [1]  # replayed from the log
        assert [e.version for e in await take(slow, 1)] == [1]

        fast_events: list[RecordedEvent] = []
        async with background(collect(fast, fast_events), next_of(slow)) as (_, slow_next):
            await until(lambda: hub.subscriber_count == 2)
            version = await record_conversation(writer, caseworker, case_id, 1)
            async with asyncio.timeout(WAIT):
                last_of_slow: RecordedEvent = await slow_next
            assert last_of_slow.version == 2
            await until(lambda: len(fast_events) == 1)

            # The slow subscriber reads nothing more; one event per wake-up from here on.
            for _ in range(10):
                version = await record_conversation(writer, caseworker, case_id, version)
                await until(lambda v=version: len(fast_events) == v - 1)

            with pytest.raises(SubscriptionClosed) as closed:
                await take(slow, 1)
            assert closed.value.reason == "SUBSCRIBER_TOO_SLOW"
            assert hub.subscriber_count == 1

            # The fast subscriber carries on after the slow one is gone.
            version = await record_conversation(writer, caseworker, case_id, version)
            await until(lambda: len(fast_events) == version - 1)
        assert [e.version for e in fast_events] == list(range(2, version + 1))

        # The closed subscriber resumes from the last position it received: the rest, once each.
        resumed = hub.subscribe(tenant_id, position_of(last_of_slow), only_this_case)
        cleanup.push_async_callback(resumed.aclose)
        rest = await take(resumed, version - 2)
        assert [e.version for e in rest] == list(range(3, version + 1))
        version = await record_conversation(writer, caseworker, case_id, version)
        assert [e.version for e in await take(resumed, 1)] == [version]


async def test_a_subscriber_keeping_pace_with_a_small_queue_is_never_closed(
    hub_factory: Any, writer: Dependencies, caseworker: Principal
) -> None:
    """The bound is on what is waiting, not on how much is delivered over time."""
    case_id = await open_case(writer, caseworker)
    async with hub_factory(queue_size=2) as hub:
        events = hub.subscribe(caseworker.tenant_id, START, FeedFilter(stream_id=case_id))
        try:
            assert [e.version for e in await take(events, 1)] == [1]
            received: list[RecordedEvent] = []
            async with background(collect(events, received)) as (collector,):
                await until(lambda: hub.subscriber_count == 1)
                version = 1
                for _ in range(12):
                    version = await record_conversation(writer, caseworker, case_id, version)
                    await until(lambda v=version: len(received) == v - 1)
                assert not collector.done()
            assert [e.version for e in received] == list(range(2, 14))
        finally:
            await events.aclose()


async def test_events_a_transport_takes_at_once_or_refuses_all_arrive_once_and_in_order(
    hub_factory: Any, writer: Dependencies, caseworker: Principal
) -> None:
    """A live, idle subscriber's events may skip its queue (``direct``); one the transport
    cannot take now goes through the queue, and so does every later one until it is idle.
    The events are held back behind an older writer, then fanned out in one batch."""
    case_id = await open_case(writer, caseworker)
    other = await open_case(writer, caseworker)
    arrived: list[tuple[str, int]] = []

    def direct(recorded: RecordedEvent) -> bool:
        if recorded.version % 3 == 0:  # a socket that is momentarily not writable
            return False
        arrived.append(("direct", recorded.version))
        return True

    async def through_queue(events: AsyncIterator[RecordedEvent]) -> None:
        async for recorded in events:
            arrived.append(("queue", recorded.version))

    async with hub_factory(safety_poll_seconds=NO_SAFETY_POLL) as hub:
        events = hub.subscribe(
            caseworker.tenant_id, START, FeedFilter(stream_id=case_id), direct=direct
        )
        try:
            assert [e.version for e in await take(events, 1)] == [1]
            async with background(through_queue(events)):
                await until(lambda: hub.subscriber_count == 1)
                async with db.tenant_transaction(writer.engine, caseworker.tenant_id) as older:
                    await _append_uncommitted(older, caseworker, other, 1)  # holds them back
                    version = 1
                    for _ in range(12):
                        version = await record_conversation(writer, caseworker, case_id, version)
                    await older.rollback()
                await until(lambda: len(arrived) >= 12)
                await asyncio.sleep(0.2)  # nothing more may come
        finally:
            await events.aclose()
    assert [v for _, v in arrived] == list(range(2, 14))
    assert {how for how, v in arrived if v % 3 == 0} == {"queue"}
    assert "direct" in {how for how, _ in arrived}


# --- one read per wake-up, shared ---------------------------------------------------------------


async def _log_reads_per_append(
    hub_factory: Any,
    app_engine: AsyncEngine,
    writer: Dependencies,
    caseworker: Principal,
    subscribers: int,
) -> list[LogReads]:
    """What the hub reads of the log between an append and its delivery to every subscriber.

    One warm-up append first (the subscribers' own replays are done by the time it has
    reached all of them), then three measured appends.
    """
    case_id = await open_case(writer, caseworker)
    flt = FeedFilter(stream_id=case_id)
    trials: list[LogReads] = []
    async with hub_factory() as hub, AsyncExitStack() as cleanup:
        streams = [hub.subscribe(caseworker.tenant_id, START, flt) for _ in range(subscribers)]
        for stream in streams:
            cleanup.push_async_callback(stream.aclose)
        received: list[list[RecordedEvent]] = [[] for _ in streams]
        async with background(*(collect(s, r) for s, r in zip(streams, received, strict=True))):
            await until(
                lambda: hub.subscriber_count == subscribers and all(len(r) == 1 for r in received)
            )
            version = await record_conversation(writer, caseworker, case_id, 1)
            await until(lambda: all(len(r) == 2 for r in received))
            for _ in range(3):
                with reads_of_the_log(app_engine) as reads:
                    version = await record_conversation(writer, caseworker, case_id, version)
                    await until(lambda v=version: all(len(r) == v for r in received))
                trials.append(reads)
        assert all([e.version for e in r] == [1, 2, 3, 4, 5] for r in received)
    return trials


async def test_the_log_is_read_once_per_wake_up_for_all_subscribers_of_a_tenant(
    hub_factory: Any, app_engine: AsyncEngine, writer: Dependencies, caseworker: Principal
) -> None:
    """One read brings an appended event to every subscriber: 1 subscriber or 50, same reads.

    Besides that read, a wake-up may find nothing yet (another transaction on the shared
    server holds the event back for a moment) and look again; such empty looks are counted
    too, and they do not multiply with the subscribers either.
    """
    one = await _log_reads_per_append(hub_factory, app_engine, writer, caseworker, 1)
    fifty = await _log_reads_per_append(hub_factory, app_engine, writer, caseworker, 50)
    assert [t.finding_rows for t in one] == [1, 1, 1]
    assert [t.finding_rows for t in fifty] == [1, 1, 1]
    # Everything read around it stays a handful of statements, not one per subscriber.
    assert all(len(t.statements) < 50 for t in fifty), [len(t.statements) for t in fifty]


# --- the listener connection ------------------------------------------------------------------


async def _backend_pids(admin_engine: AsyncEngine, application_name: str) -> list[int]:
    async with admin_engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
            {"n": application_name},
        )
        return [int(pid) for pid in rows.scalars()]


async def test_events_written_after_the_listener_connection_is_killed_still_arrive(
    hub_factory: Any, admin_engine: AsyncEngine, writer: Dependencies, caseworker: Principal
) -> None:
    name = f"feed-hub-listener-{uuid.uuid4().hex[:8]}"
    case_id = await open_case(writer, caseworker)
    async with hub_factory(application_name=name, safety_poll_seconds=NO_SAFETY_POLL) as hub:
        events = hub.subscribe(caseworker.tenant_id, START, FeedFilter(stream_id=case_id))
        try:
            assert [e.version for e in await take(events, 1)] == [1]
            async with background(next_of(events)) as (next_event,):
                await until(lambda: hub.subscriber_count == 1)
                (listener,) = await _backend_pids(admin_engine, name)
                async with admin_engine.connect() as conn:
                    killed = await conn.scalar(
                        text("SELECT pg_terminate_backend(:p)"), {"p": listener}
                    )
                assert killed is True

                # Written at once, most likely before the hub has noticed the loss.
                version = await record_conversation(writer, caseworker, case_id, 1)
                async with asyncio.timeout(5):
                    delivered = await next_event
                assert delivered.version == version

            async with asyncio.timeout(5):
                for _ in range(250):
                    pids = await _backend_pids(admin_engine, name)
                    if pids not in ([], [listener]):
                        break
                    await asyncio.sleep(0.02)
            assert len(pids) == 1  # listening again, on a new connection
            assert listener not in pids

            version = await record_conversation(writer, caseworker, case_id, version)
            assert [e.version for e in await take(events, 1, seconds=5)] == [version]
        finally:
            await events.aclose()


async def _append_uncommitted(
    conn: Any, principal: Principal, case_id: uuid.UUID, version: int
) -> None:
    """A conversation appended in ``conn``'s transaction, left for the caller to end."""
    event = rc.ReturnConversationRecorded(
        case_id=case_id, held_on=dt.date(2026, 1, 10), wish=ReturnWish.UNDECIDED, notes=None
    )
    meta = Metadata(actor="older", organisation=principal.organisation.slug, role="caseworker",
                    request_id="older", correlation_id="older")  # fmt: skip
    await STORE.append(
        conn, tenant_id=principal.tenant_id, stream_id=case_id, stream_type="ReturnCase",
        expected_version=version, events=[event], metadata=meta,
        occurred_at=dt.datetime.now(dt.UTC),
    )  # fmt: skip


async def test_an_event_held_back_when_a_subscriber_joins_arrives_once_the_older_writer_ends(
    hub_factory: Any, writer: Dependencies, caseworker: Principal
) -> None:
    """Out-of-order commits at the moment a tenant's feed starts.

    An older event writer is still open when an event commits, so the event lies behind the
    horizon while a first subscriber of the tenant joins: neither its replays nor the feed's
    starting point can see it, and its NOTIFY came before the feed existed. When the older
    writer rolls back (which announces nothing) the event must still be delivered, from the
    feed's own short re-check, not only at the next unrelated append or periodic re-read.
    """
    case_id = await open_case(writer, caseworker)
    other = await open_case(writer, caseworker)
    async with (
        hub_factory(safety_poll_seconds=NO_SAFETY_POLL) as hub,
        db.tenant_transaction(writer.engine, caseworker.tenant_id) as older,
    ):
        await _append_uncommitted(older, caseworker, other, 1)  # holds the horizon back
        version = await record_conversation(writer, caseworker, case_id, 1)
        events = hub.subscribe(caseworker.tenant_id, START, FeedFilter(stream_id=case_id))
        try:
            assert [e.version for e in await take(events, 1)] == [1]
            async with background(next_of(events)) as (pending,):
                await until(lambda: hub.subscriber_count == 1)
                await asyncio.sleep(0.2)  # let the joining replay run while it is held back
                assert not pending.done()  # not visible yet: the older one might still commit
                await older.rollback()
                async with asyncio.timeout(3):
                    delivered = await pending
                assert delivered.version == version
        finally:
            await events.aclose()


@pytest.mark.parametrize("where", ["this database", "another database"])
async def test_an_unrelated_long_transaction_delays_no_delivery_and_no_page(
    hub_factory: Any,
    writer: Dependencies,
    caseworker: Principal,
    admin_engine: AsyncEngine,
    database: Database,
    where: str,
) -> None:
    """Only event writers hold the feed back: an idle transaction holding a transaction id
    (a rebuild, an import, another database's session) does not, and events appended while it
    stays open are delivered live and paged, each once, in order."""
    case_id = await open_case(writer, caseworker)
    url = (
        database.admin_url
        if where == "this database"
        else database.admin_url.set(database="postgres")
    )
    stranger = db.create_app_engine(url, 1)
    try:
        async with (
            hub_factory(safety_poll_seconds=NO_SAFETY_POLL) as hub,
            stranger.connect() as idle,
        ):
            assert await idle.scalar(text("SELECT pg_current_xact_id()")) is not None
            events = hub.subscribe(caseworker.tenant_id, START, FeedFilter(stream_id=case_id))
            try:
                assert [e.version for e in await take(events, 1)] == [1]
                version = 1
                for _ in range(5):
                    version = await record_conversation(writer, caseworker, case_id, version)
                    delivered = await take(events, 1, seconds=5)
                    assert [e.version for e in delivered] == [version]
                async with db.tenant_transaction(writer.engine, caseworker.tenant_id) as conn:
                    paged = await read_feed(conn, STORE, START, 100, FeedFilter(stream_id=case_id))
                assert [e.version for e in paged] == list(range(1, version + 1))
                assert await idle.scalar(text("SELECT 1")) == 1  # still open all along
            finally:
                await events.aclose()
    finally:
        await stranger.dispose()


async def _until_closed(
    events: AsyncIterator[RecordedEvent], seconds: float = 2.0
) -> tuple[list[int], str]:
    """The versions still delivered, and why the subscription ended ("OPEN" if it did not)."""
    versions: list[int] = []
    try:
        for _ in range(100):
            versions.append((await take(events, 1, seconds))[0].version)
    except SubscriptionClosed as closed:
        return versions, closed.reason
    except TimeoutError:
        return versions, "OPEN"
    raise AssertionError("the subscription kept delivering")


async def test_a_revocation_while_the_subscriber_still_replays_the_log_also_ends_it(
    hub_factory: Any, writer: Dependencies, caseworker: Principal
) -> None:
    """Revocation closes every open subscription of the client, not only those already live.

    A subscription is open from its first event on; until its replay of the log has caught up
    it has not yet joined the live fan-out. A revocation announced in that moment must still
    end it, and no event written after the revocation may reach it.
    """
    admin = Principal("feed-hub-admin", caseworker.organisation, frozenset({"tenant-admin"}))
    client, _secret = await clients.create(writer.engine, admin, "hub test", ["events:read"])
    case_id = await open_case(writer, caseworker)
    version = 1
    for _ in range(3):
        version = await record_conversation(writer, caseworker, case_id, version)
    only_this_case = FeedFilter(stream_id=case_id)
    async with hub_factory() as hub, AsyncExitStack() as cleanup:
        probe = hub.subscribe(caseworker.tenant_id, START, only_this_case)  # live, no client
        cleanup.push_async_callback(probe.aclose)
        assert [e.version for e in await take(probe, version)] == [1, 2, 3, 4]
        async with background(next_of(probe)) as (probe_next,):
            await until(lambda: hub.subscriber_count == 1)
            replaying = hub.subscribe(
                caseworker.tenant_id, START, only_this_case, client_id=client.client_id
            )
            cleanup.push_async_callback(replaying.aclose)
            assert [e.version for e in await take(replaying, 1)] == [1]  # mid-replay

            await clients.revoke(writer.engine, admin, client.client_id)
            version = await record_conversation(writer, caseworker, case_id, version)
            # Notifications arrive in commit order: the hub has seen the revocation by the
            # time it hands the later event to the probe.
            async with asyncio.timeout(WAIT):
                assert (await probe_next).version == version

        delivered, reason = await _until_closed(replaying)
        assert version not in delivered, delivered
        assert reason == "CREDENTIALS_REVOKED", (reason, delivered)


async def test_positions_follow_the_feed_order_of_transaction_then_position(
    hub_factory: Any, writer: Dependencies, caseworker: Principal
) -> None:
    """What a subscriber checkpoints on: strictly increasing (transaction id, position) pairs."""
    case_id = await open_case(writer, caseworker)
    version = 1
    for _ in range(4):
        version = await record_conversation(writer, caseworker, case_id, version)
    async with hub_factory() as hub:
        events = hub.subscribe(caseworker.tenant_id, START, FeedFilter(stream_id=case_id))
        try:
            replayed = await take(events, version)
        finally:
            await events.aclose()
    positions: list[FeedPosition] = [position_of(e) for e in replayed]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
    assert [e.version for e in replayed] == list(range(1, version + 1))


def _active_in(engine: AsyncEngine) -> Callable[[uuid.UUID, str], Any]:
    async def active(tenant_id: uuid.UUID, client_id: str) -> bool:
        async with db.tenant_transaction(engine, tenant_id) as conn:
            return await clients.is_active(conn, client_id)

    return active


async def test_a_revocation_made_while_the_listener_was_down_is_applied_on_reconnect(
    hub_factory: Any, admin_engine: AsyncEngine, writer: Dependencies, caseworker: Principal
) -> None:
    """The revocation's NOTIFY is lost (made while nobody listened): the hub checks its open
    clients again when it reconnects, and closes the revoked one's subscription."""
    admin = Principal("feed-hub-admin", caseworker.organisation, frozenset({"tenant-admin"}))
    client, _secret = await clients.create(writer.engine, admin, "outage", ["events:read"])
    case_id = await open_case(writer, caseworker)
    name = f"feed-hub-outage-{uuid.uuid4().hex[:8]}"
    async with hub_factory(
        application_name=name,
        safety_poll_seconds=NO_SAFETY_POLL,
        client_active=_active_in(writer.engine),
        revocation_recheck_seconds=NO_SAFETY_POLL,
    ) as hub:
        events = hub.subscribe(
            caseworker.tenant_id, START, FeedFilter(stream_id=case_id), client_id=client.client_id
        )
        try:
            assert [e.version for e in await take(events, 1)] == [1]
            async with admin_engine.begin() as conn:  # revoked with no NOTIFY: it was missed
                await conn.execute(
                    text("UPDATE integrator_clients SET revoked_at = now() WHERE client_id = :c"),
                    {"c": client.client_id},
                )
                (listener,) = await _backend_pids(admin_engine, name)
                await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": listener})
            delivered, reason = await _until_closed(events, seconds=5)
            assert (delivered, reason) == ([], "CREDENTIALS_REVOKED")
        finally:
            await events.aclose()


async def test_a_revocation_is_found_by_the_periodic_recheck_too(
    hub_factory: Any, admin_engine: AsyncEngine, writer: Dependencies, caseworker: Principal
) -> None:
    admin = Principal("feed-hub-admin", caseworker.organisation, frozenset({"tenant-admin"}))
    client, _secret = await clients.create(writer.engine, admin, "periodic", ["events:read"])
    case_id = await open_case(writer, caseworker)
    async with hub_factory(
        safety_poll_seconds=NO_SAFETY_POLL,
        client_active=_active_in(writer.engine),
        revocation_recheck_seconds=0.2,
    ) as hub:
        events = hub.subscribe(
            caseworker.tenant_id, START, FeedFilter(stream_id=case_id), client_id=client.client_id
        )
        try:
            assert [e.version for e in await take(events, 1)] == [1]
            async with admin_engine.begin() as conn:
                await conn.execute(
                    text("UPDATE integrator_clients SET revoked_at = now() WHERE client_id = :c"),
                    {"c": client.client_id},
                )
            assert await _until_closed(events, seconds=5) == ([], "CREDENTIALS_REVOKED")
        finally:
            await events.aclose()


async def test_a_subscription_ends_when_its_token_expires_and_resumes_from_its_cursor(
    hub_factory: Any, writer: Dependencies, caseworker: Principal
) -> None:
    case_id = await open_case(writer, caseworker)
    only = FeedFilter(stream_id=case_id)
    async with hub_factory(safety_poll_seconds=NO_SAFETY_POLL) as hub:
        events = hub.subscribe(caseworker.tenant_id, START, only, expires_at=time.time() + 0.5)
        try:
            (first,) = await take(events, 1)
            assert await _until_closed(events, seconds=5) == ([], "TOKEN_EXPIRED")
        finally:
            await events.aclose()
        version = await record_conversation(writer, caseworker, case_id, 1)
        resumed = hub.subscribe(caseworker.tenant_id, position_of(first), only)
        try:
            assert [e.version for e in await take(resumed, 1)] == [version]
        finally:
            await resumed.aclose()


async def test_a_subscriber_resuming_where_the_live_feed_stands_joins_without_reading_the_log(
    hub_factory: Any, app_engine: AsyncEngine, writer: Dependencies, caseworker: Principal
) -> None:
    """An integrator reconnecting with its last cursor while the shelter's feed is live: no
    replay (no read of the log), and every later event once, in order; one resuming from an
    older cursor still gets what it missed from the log first."""
    case_id = await open_case(writer, caseworker)
    flt = FeedFilter(stream_id=case_id)
    tenant = caseworker.tenant_id
    async with hub_factory(safety_poll_seconds=NO_SAFETY_POLL) as hub:
        first = hub.subscribe(tenant, START, flt)
        try:
            (opened,) = await take(first, 1)
            pending = asyncio.ensure_future(anext(first))
            await until(lambda: hub.subscriber_count == 1)
            version = await record_conversation(writer, caseworker, case_id, 1)
            live = await asyncio.wait_for(pending, WAIT)
            assert live.version == version
            with reads_of_the_log(app_engine) as reads:
                resumed = hub.subscribe(tenant, position_of(live), flt)
                resumed_next = asyncio.ensure_future(anext(resumed))
                await until(lambda: hub.subscriber_count == 2)
            assert reads.replays == []
            older = hub.subscribe(tenant, position_of(opened), flt)
            try:
                assert [e.version for e in await take(older, 1)] == [live.version]
                older_next = asyncio.ensure_future(anext(older))
                await until(lambda: hub.subscriber_count == 3)
                pending = asyncio.ensure_future(anext(first))
                version = await record_conversation(writer, caseworker, case_id, version)
                got = await asyncio.wait_for(
                    asyncio.gather(pending, resumed_next, older_next), WAIT
                )
                assert [e.version for e in got] == [version] * 3
                version = await record_conversation(writer, caseworker, case_id, version)
                for stream in (first, resumed, older):
                    assert [e.version for e in await take(stream, 1)] == [version]
            finally:
                await older.aclose()
                await resumed.aclose()
        finally:
            await first.aclose()
