"""The ordered, gap-free feed of a tenant's events, and its fan-out to live subscribers.

Ordering: identity values are taken before commit, so transactions commit out of position
order. A reader therefore sees only events whose writing transaction is older than every
*event writer* still running, reads them in ``(transaction_id, global_position)`` order and
resumes after the last pair it saw. Every event writer below that horizon has finished, so no
event can later appear before a pair already read: readers never miss or repeat an event.

Only event writers count: an appending transaction announces itself (``events_writer_begin()``,
a shared advisory lock taken before it has a transaction id) and ``events_horizon()`` is the
smallest transaction id among the running holders of that lock, or the first id not yet handed
out when none holds it. An unrelated long transaction (another database, an idle session, a
rebuild, an import, ``pg_dump``) holds no feed back. The horizon is read in one statement and
the events in the next, whose snapshot is later: a writer running at the first either still
held the lock (and bounded the horizon) or had finished, and so is visible to the second.

Waking (``FeedHub.wake(tenant_id)``): a writer's commit announces its tenant
(``service.events.announce``): a writer in this process calls ``wake`` directly after its
commit; writers in other processes NOTIFY (coalesced, after their commits), which this
process's LISTEN connection turns into ``wake``. A writer that rolls back announces nothing,
so while events are held back the feed also looks again after a short, growing pause (50 ms
doubling to 1 s). Nothing depends on a wake-up arriving (the feed reads by position): a
writer killed between its commit and its NOTIFY, or a NOTIFY lost while the LISTEN connection
was down, is caught by the periodic re-check of every live tenant feed
(``safety_poll_seconds``, 5 s by default).

Fan-out: one LISTEN connection per process. On a wake-up the process's ``TenantFeed`` for
that tenant reads the log once and hands each event to every subscriber's bounded queue. A
subscriber whose queue overflows is closed with a reason and resumes from its cursor; it
never slows the others.

What a transport builds from an event (its sealed cursor, a serialised message) is the same
for every subscriber that asks for the same thing: ``FeedHub.memo`` keeps it, per event, for
the most recent events, so it is built once per event and not once per subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.db import tenant_transaction
from service.events.cursor import START, FeedPosition
from service.events.store import COLUMNS, EVENTS_CHANNEL, FEED_ORDER, EventStore
from service.events.types import InLog, RecordedEvent

log = logging.getLogger("service.feed")

REVOCATIONS_CHANNEL = "safe_future_revocations"
_HORIZON = "transaction_id < CAST(:horizon AS text)::xid8"
HELD_BACK_FIRST_PAUSE = 0.05
HELD_BACK_LONGEST_PAUSE = 1.0


async def horizon(conn: AsyncConnection) -> str:
    """The feed's horizon now, as text: read it in its own statement, before the events."""
    return str(await conn.scalar(text("SELECT events_horizon()::text")))


def position_of(event: InLog) -> FeedPosition:
    return FeedPosition(event.transaction_id, event.global_position)


@dataclass(frozen=True, slots=True)
class FeedFilter:
    """Which events of a tenant's log a reader wants; return cases' by default."""

    event_types: frozenset[str] | None = None
    stream_id: uuid.UUID | None = None
    stream_type: str = "ReturnCase"

    def matches(self, event: RecordedEvent) -> bool:
        if event.stream_type != self.stream_type:
            return False
        if self.event_types is not None and event.event_type not in self.event_types:
            return False
        return self.stream_id is None or event.stream_id == self.stream_id


ALL = FeedFilter()


async def read_feed(
    conn: AsyncConnection,
    store: EventStore,
    after: FeedPosition,
    limit: int,
    flt: FeedFilter = ALL,
) -> list[RecordedEvent]:
    """Up to ``limit`` events after ``after`` in feed order, below the visibility horizon."""
    where = [
        _HORIZON,
        "(transaction_id, global_position) > (CAST(:tx AS text)::xid8, :pos)",
        "stream_type = :stream_type",
    ]
    params: dict[str, Any] = {
        "horizon": await horizon(conn),
        "tx": str(after.transaction_id),
        "pos": after.global_position,
        "stream_type": flt.stream_type,
    }
    if flt.event_types is not None:
        where.append("event_type = ANY(:types)")
        params["types"] = sorted(flt.event_types)
    if flt.stream_id is not None:
        where.append("stream_id = :stream")
        params["stream"] = flt.stream_id
    sql = (
        f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(where)} "  # noqa: S608
        f"ORDER BY {FEED_ORDER} LIMIT :limit"
    )
    params["limit"] = limit
    return [store.recorded(row) for row in await conn.execute(text(sql), params)]


async def is_held_back(
    conn: AsyncConnection, after: FeedPosition, stream_type: str = ALL.stream_type
) -> bool:
    """Committed events beyond ``after`` that the horizon still holds back?

    Asked as "the first such row in feed order", so the ``events_feed`` index answers at once
    under any plan (an ``EXISTS`` on a generic plan scanned the whole log on every delivery).
    """
    return bool(
        await conn.scalar(
            text(
                "SELECT (SELECT 1 FROM events WHERE (transaction_id, global_position) "
                "> (CAST(:tx AS text)::xid8, :pos) AND stream_type = :stream_type "
                "ORDER BY transaction_id, global_position LIMIT 1) IS NOT NULL"
            ),
            {
                "tx": str(after.transaction_id),
                "pos": after.global_position,
                "stream_type": stream_type,
            },
        )
    )


async def read_live(
    conn: AsyncConnection,
    store: EventStore,
    tenant_id: uuid.UUID,
    after: FeedPosition,
    limit: int,
) -> tuple[list[RecordedEvent], bool]:
    """``read_feed`` of return cases and ``is_held_back`` in two round trips, for live feeds.

    ``conn`` is in autocommit and serves nothing else: the first statement sets the tenant
    for its session (read by row-level security) and reads the horizon, the second, whose
    snapshot is later, reads the events below it and whether a committed event at or beyond
    it is held back. Within one snapshot every event after ``after`` below the horizon is in
    the batch when it is not full, so an event beyond the batch is one the horizon holds back:
    the same answer as ``is_held_back`` after the batch's last pair. Without transactions
    (``BEGIN``, ``COMMIT``) and a pool checkout per look, a live event reaches the fan-out in
    two round trips instead of six.
    """
    tenant_and_horizon = await conn.execute(
        text(
            "SELECT set_config('app.tenant_id', :tenant, false) AS tenant, "
            "events_horizon()::text AS horizon"
        ),
        {"tenant": str(tenant_id)},
    )
    current_horizon = tenant_and_horizon.one().horizon
    after_pair = "(transaction_id, global_position) > (CAST(:tx AS text)::xid8, :pos)"
    sql = (
        f"SELECT {COLUMNS}, (SELECT 1 FROM events WHERE {after_pair} "  # noqa: S608
        "AND transaction_id >= CAST(:horizon AS text)::xid8 AND stream_type = :stream_type "
        "ORDER BY transaction_id, global_position LIMIT 1) IS NOT NULL AS held_back "
        f"FROM events WHERE {_HORIZON} AND {after_pair} AND stream_type = :stream_type "
        f"ORDER BY {FEED_ORDER} LIMIT :limit"
    )
    params: dict[str, Any] = {
        "horizon": current_horizon,
        "tx": str(after.transaction_id),
        "pos": after.global_position,
        "stream_type": ALL.stream_type,
        "limit": limit,
    }
    rows = list(await conn.execute(text(sql), params))
    batch = [store.recorded(r) for r in rows]
    if len(batch) == limit:
        return batch, False
    if rows:
        return batch, bool(rows[-1].held_back)
    # Nothing below the horizon: is anything committed held back behind it?
    return batch, await is_held_back(conn, after)


async def _horizon_end(conn: AsyncConnection) -> FeedPosition:
    row = (
        await conn.execute(
            text(
                "SELECT transaction_id::text::bigint, global_position FROM events "  # noqa: S608
                f"WHERE {_HORIZON} "
                "ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1"
            ),
            {"horizon": await horizon(conn)},
        )
    ).first()
    return START if row is None else FeedPosition(row[0], row[1])


class EventMemo:
    """What was built from recent events, by (event position, what was built), least recently
    used first out. Bounded by entries: one entry per event and distinct shape asked for."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._values: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any | None:
        value = self._values.get(key)
        if value is not None:
            self._values.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        self._values[key] = value
        self._values.move_to_end(key)
        while len(self._values) > self.entries:
            self._values.popitem(last=False)

    def __len__(self) -> int:
        return len(self._values)


class SharedWhileOpen:
    """Values every open subscription asking with the same key shares (e.g. how a selection
    renders an event), kept exactly while one of them is open: each subscription takes the
    value with ``acquire`` and gives it back with ``release``; the last one out drops it."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, list[Any]] = {}  # key -> [value, holders]

    def acquire(self, key: Hashable, value: Any) -> Any:
        """The value already shared under ``key``, else ``value``, now shared under it."""
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = [value, 1]
            return value
        entry[1] += 1
        return entry[0]

    def release(self, key: Hashable) -> None:
        entry = self._entries.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] <= 0:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


class SubscriptionClosed(Exception):
    """The server ended a subscription; ``reason`` says why, the cursor says where to resume."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(eq=False, slots=True)
class _Subscriber:
    flt: FeedFilter
    client_id: str | None
    queue: asyncio.Queue[RecordedEvent | SubscriptionClosed]
    tenant_id: uuid.UUID | None = None
    closed: SubscriptionClosed | None = None
    # The last pair this subscriber was given, from the log, its queue or ``direct``.
    last: FeedPosition = START
    # Hands a live event to the transport at once; False when it cannot (then it is queued).
    direct: Callable[[RecordedEvent], bool] | None = None
    # True only while the subscriber is live and idle with an empty queue: then an event may
    # skip the queue without overtaking one still in it.
    direct_ok: bool = False

    def close(self, reason: str, message: str) -> None:
        self.direct_ok = False
        self.closed = SubscriptionClosed(reason, message)
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(self.closed)


@dataclass(eq=False)
class _TenantFeed:
    tenant_id: uuid.UUID
    position: FeedPosition
    # In the order they joined: the fan-out serves first those that joined first.
    subscribers: dict[_Subscriber, None] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class FeedHub:
    """One per process: LISTENs for appends and feeds every live subscription."""

    def __init__(
        self,
        engine: AsyncEngine,
        store: EventStore,
        connect: Callable[[], Any],
        *,
        queue_size: int = 1000,
        batch_size: int = 500,
        safety_poll_seconds: float = 5.0,
        client_active: Callable[[uuid.UUID, str], Awaitable[bool]] | None = None,
        revocation_recheck_seconds: float = 30.0,
        memo_entries: int = 4096,
        own_notification: Callable[[int], bool] | None = None,
        write_together: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
    ) -> None:
        self._engine = engine
        # Around each batch's fan-out: the server's way to make its socket writes together
        # (``service.serving.writes_together``).
        self._write_together = write_together
        # Notifications this process sent itself (by the notifying backend's pid): its own
        # commits woke the feed by a call already (``CommitAnnouncer.sent_here``).
        self._own_notification = own_notification
        self._store = store
        self._connect = connect
        self.queue_size = queue_size
        self.batch_size = batch_size
        self.safety_poll_seconds = safety_poll_seconds
        self._feeds: dict[uuid.UUID, _TenantFeed] = {}
        # Built once per event for every subscriber that wants the same (service.schema.feed).
        self.memo = EventMemo(memo_entries)
        # How each distinct subscription renders events, shared while any of them is open.
        self.shapes = SharedWhileOpen()
        # Every open subscription of an integrator client, replaying or live: revocation
        # must reach it in both states.
        self._by_client: dict[str, set[_Subscriber]] = {}
        self._listener: asyncpg.Connection | None = None
        self._listen_task: asyncio.Task[None] | None = None
        self._closing = False
        # A revocation NOTIFY can be lost (the LISTEN connection was down): open clients are
        # checked again on every reconnect and every ``revocation_recheck_seconds``.
        self._client_active = client_active
        self.revocation_recheck_seconds = revocation_recheck_seconds
        self._recheck_task: asyncio.Task[None] | None = None
        # Live feeds read on one connection of their own (``read_live``), one feed at a time.
        self._reader: AsyncConnection | None = None
        self._reader_lock = asyncio.Lock()

    @property
    def subscriber_count(self) -> int:
        return sum(len(f.subscribers) for f in self._feeds.values())

    async def start(self) -> None:
        await self._listen()
        if self._client_active is not None:
            self._recheck_task = asyncio.get_running_loop().create_task(self._recheck_forever())

    async def _recheck_forever(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.revocation_recheck_seconds)
            await self.recheck_clients()

    async def recheck_clients(self) -> None:
        """Close the subscriptions of every client revoked since it subscribed."""
        if self._client_active is None:
            return
        for client_id, subs in list(self._by_client.items()):
            tenant_id = next((s.tenant_id for s in subs if s.tenant_id is not None), None)
            if tenant_id is None:
                continue
            try:
                active = await self._client_active(tenant_id, client_id)
            except Exception as exc:  # the database may be away; the next check tries again
                log.warning("revocation re-check failed: %s", type(exc).__name__)
                return
            if not active:
                self._revoke(client_id)

    async def _listen(self) -> None:
        conn: asyncpg.Connection = await self._connect()
        await conn.add_listener(EVENTS_CHANNEL, self._on_event)
        await conn.add_listener(REVOCATIONS_CHANNEL, self._on_revocation)
        conn.add_termination_listener(self._on_listener_lost)
        self._listener = conn

    def _on_listener_lost(self, _conn: Any) -> None:
        if not self._closing:
            log.warning("feed listener connection lost; reconnecting")
            self._listen_task = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = 0.05
        while not self._closing:
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("feed listener reconnect failed: %s", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            else:
                for feed in self._feeds.values():  # notifications may have been missed
                    feed.wake.set()
                await self.recheck_clients()  # so may revocations
                return

    async def close(self) -> None:
        self._closing = True
        if self._recheck_task is not None:
            self._recheck_task.cancel()
        for feed in list(self._feeds.values()):
            for sub in list(feed.subscribers):
                sub.close("SERVER_SHUTDOWN", "the server is shutting down; resume from your cursor")
            if feed.task is not None:
                feed.task.cancel()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
        await self._release_reader()

    def _on_event(self, _conn: Any, pid: int, _channel: str, payload: str) -> None:
        if self._own_notification is not None and self._own_notification(pid):
            return
        try:
            tenant_id = uuid.UUID(payload)
        except ValueError:
            return
        self.wake(tenant_id)

    def wake(self, tenant_id: uuid.UUID) -> None:
        """Events of ``tenant_id`` committed: its live feed (if any) reads the log again."""
        feed = self._feeds.get(tenant_id)
        if feed is not None:
            feed.wake.set()

    def _on_revocation(self, _conn: Any, _pid: int, _channel: str, client_id: str) -> None:
        self._revoke(client_id)

    def _revoke(self, client_id: str) -> None:
        for sub in self._by_client.pop(client_id, set()):
            for feed in self._feeds.values():
                feed.subscribers.pop(sub, None)
            sub.close("CREDENTIALS_REVOKED", "the integrator's credentials were revoked")

    async def _feed_for(self, tenant_id: uuid.UUID) -> _TenantFeed:
        feed = self._feeds.get(tenant_id)
        if feed is None:
            async with tenant_transaction(self._engine, tenant_id) as conn:
                position = await _horizon_end(conn)
            feed = self._feeds.get(tenant_id)  # another subscriber may have won the race
            if feed is None:
                feed = _TenantFeed(tenant_id, position)
                self._feeds[tenant_id] = feed
                # Look at once: events behind the horizon now announced nothing to this feed.
                feed.wake.set()
                feed.task = asyncio.get_running_loop().create_task(self._run(feed))
        return feed

    async def _run(self, feed: _TenantFeed) -> None:
        timeout = self.safety_poll_seconds
        pause = HELD_BACK_FIRST_PAUSE
        failures = 0
        while feed.subscribers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(feed.wake.wait(), timeout)
            feed.wake.clear()
            try:
                held_back = await self._catch_up(feed)
            except Exception as exc:  # the feed must outlive a dropped connection
                failures += 1
                log.error("feed read failed: %s", type(exc).__name__)
                timeout = min(0.05 * 2**failures, 2.0)
                feed.wake.set()
                await asyncio.sleep(timeout)
                continue
            failures = 0
            # Events held back by an older event writer: its commit NOTIFYs; a rollback does
            # not, so look again after a pause that grows while the same writer runs.
            if held_back:
                timeout, pause = pause, min(pause * 2, HELD_BACK_LONGEST_PAUSE)
            else:
                timeout, pause = self.safety_poll_seconds, HELD_BACK_FIRST_PAUSE
        self._feeds.pop(feed.tenant_id, None)
        if not self._feeds:
            async with self._reader_lock:
                if not self._feeds:
                    await self._release_reader()

    async def _live_reader(self) -> AsyncConnection:
        """The connection the live feeds read on, taken from the pool while any is live."""
        if self._reader is None:
            conn = await self._engine.connect()
            try:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
            except BaseException:
                await conn.close()
                raise
            self._reader = conn
        return self._reader

    async def _release_reader(self) -> None:
        """Closes the live reader's connection: it carries a tenant in its session, so it is
        never handed back to the pool for other work."""
        conn, self._reader = self._reader, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()

    async def _catch_up(self, feed: _TenantFeed) -> bool:
        while True:
            async with self._reader_lock:
                conn = await self._live_reader()
                try:
                    batch, held_back = await read_live(
                        conn, self._store, feed.tenant_id, feed.position, self.batch_size
                    )
                except BaseException:
                    await self._release_reader()
                    raise
            with self._write_together():
                for event in batch:
                    feed.position = position_of(event)
                    self._dispatch(feed, event)
            if len(batch) < self.batch_size:
                return held_back

    def _dispatch(self, feed: _TenantFeed, event: RecordedEvent) -> None:
        position = position_of(event)
        tx, pos = position.transaction_id, position.global_position
        for sub in list(feed.subscribers):
            # The live feed reads only ALL's stream type: ALL takes every event it hands out.
            if sub.flt is not ALL and not sub.flt.matches(event):
                continue
            if sub.direct_ok and sub.direct is not None:
                last = sub.last  # ``position <= last`` without building tuples
                if tx < last.transaction_id or (
                    tx == last.transaction_id and pos <= last.global_position
                ):
                    continue
                try:
                    delivered = sub.direct(event)
                except Exception as exc:  # the queue's path reports it to the subscriber
                    log.warning("direct feed delivery failed: %s", type(exc).__name__)
                    delivered = False
                if delivered:
                    sub.last = position
                    continue
                sub.direct_ok = False
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                feed.subscribers.pop(sub, None)
                sub.close(
                    "SUBSCRIBER_TOO_SLOW",
                    "the subscriber fell behind; resubscribe with the last cursor it received",
                )

    async def _replay(
        self, tenant_id: uuid.UUID, after: FeedPosition, flt: FeedFilter
    ) -> AsyncIterator[RecordedEvent]:
        position = after
        while True:
            async with tenant_transaction(self._engine, tenant_id) as conn:
                batch = await read_feed(conn, self._store, position, self.batch_size, flt)
            for event in batch:
                position = position_of(event)
                yield event
            if len(batch) < self.batch_size:
                return

    async def subscribe(
        self,
        tenant_id: uuid.UUID,
        after: FeedPosition,
        flt: FeedFilter = ALL,
        client_id: str | None = None,
        expires_at: float | None = None,
        direct: Callable[[RecordedEvent], bool] | None = None,
    ) -> AsyncIterator[RecordedEvent]:
        """Everything after ``after``: first from the log, then live; no gap, no repeat.

        With ``direct``, a live event that finds the subscriber idle is handed to ``direct``
        right in the fan-out instead of through its queue and this iterator; an event
        ``direct`` refuses (it returns False) and every later one come through the queue
        until the subscriber is idle again, so the order holds.

        With ``expires_at`` (seconds since the epoch: the token's expiry) the subscription ends
        then with ``TOKEN_EXPIRED``; the client re-authenticates and resumes from its cursor.

        The subscriber joins the live fan-out only after a first replay has caught up, then
        replays once more from where it stood, so events written while it joined come from the
        log or the queue; the queue's copies at or before the last delivered pair are skipped.
        A subscriber resuming at or after the pair the tenant's live feed last handed out
        (e.g. an integrator reconnecting with its last cursor) has nothing to replay: it joins
        at once, without reading the log, and skips the fan-out's events up to its cursor.
        """
        sub = _Subscriber(flt, client_id, asyncio.Queue(self.queue_size), tenant_id, last=after)
        sub.direct = direct
        if client_id is not None:
            self._by_client.setdefault(client_id, set()).add(sub)
        expiry: asyncio.TimerHandle | None = None
        if expires_at is not None:
            loop = asyncio.get_running_loop()
            expiry = loop.call_at(
                loop.time() + max(0.0, expires_at - time.time()),
                sub.close,
                "TOKEN_EXPIRED",
                "the token expired; authenticate again and resume from your last cursor",
            )
        feed: _TenantFeed | None = None
        try:
            live = self._feeds.get(tenant_id)
            if live is None or sub.last < live.position:
                async for event in self._replay(tenant_id, sub.last, flt):
                    if sub.closed is not None:
                        raise sub.closed
                    sub.last = position_of(event)
                    yield event
            feed = await self._feed_for(tenant_id)
            # Nothing between here and the join waits, so the fan-out has handed out exactly
            # the events up to ``feed.position`` and will hand this subscriber every later one.
            behind = sub.last < feed.position
            feed.subscribers[sub] = None
            if behind:
                async for event in self._replay(tenant_id, sub.last, flt):
                    if sub.closed is not None:
                        raise sub.closed
                    sub.last = position_of(event)
                    yield event
            while True:
                if sub.queue.empty() and sub.closed is None and direct is not None:
                    sub.direct_ok = True
                item = await sub.queue.get()
                sub.direct_ok = False
                if isinstance(item, SubscriptionClosed):
                    raise item
                if position_of(item) > sub.last:
                    sub.last = position_of(item)
                    yield item
        finally:
            if expiry is not None:
                expiry.cancel()
            if client_id is not None:
                subs = self._by_client.get(client_id, set())
                subs.discard(sub)
                if not subs:
                    self._by_client.pop(client_id, None)
            if feed is not None:
                feed.subscribers.pop(sub, None)
                if not feed.subscribers:
                    feed.wake.set()  # lets its task see it is unused and end
