"""Wake-ups after appends: at once inside the process, coalesced NOTIFYs to the others.

An append used to NOTIFY inside its own transaction; a transaction that notified takes a
cluster-wide lock on the notification queue while it commits, so every appending transaction
queued behind every other one. Now the store calls ``CommitAnnouncer.committed(tenant_id)``
after the commit (``service.db.after_commit``), and:

* this process's readers of the log (the feed hub, the report projection) are woken at once,
  by a plain function call: no round trip, no wait for a notification;
* the other processes learn of it by one NOTIFY per tenant (payload: the tenant id, as before),
  sent from a connection of the announcer's own, outside every writer's transaction. A commit
  waits ``delay`` (5 ms) for others to share its statement, and longer if the last statement
  went out less than ``window`` (20 ms) before: under load that is one statement per window (50
  a second) whatever the rate of commits. A NOTIFY costs the server a transaction: with a
  statement every 5 ms under load (200 a second), as before the window, appends ran about 4 %
  slower on the bench's two cores (``docs/performance.md``, round sixteen).

A process's own NOTIFYs also reach its own LISTEN connections, which would wake its readers a
second time for commits they were already called about. Their listeners (the feed hub, the
report projection, given ``CommitAnnouncer.sent_here``) drop the notifications sent from the
announcer's connection (PostgreSQL names the notifying backend's pid with each one); those of
other processes (other backends) still wake this process.

Nothing depends on a notification arriving: readers read the log by position. A process killed
between a commit and its NOTIFY (or a NOTIFY lost with the announcer's connection) delays the
other processes' subscribers until their periodic re-check (``FeedHub.safety_poll_seconds``,
5 s; the report projection's ``poll_seconds``, 5 s), never for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from service.events.store import EVENTS_CHANNEL

log = logging.getLogger("service.feed")

DEFAULT_WINDOW_SECONDS = 0.02
DEFAULT_DELAY_SECONDS = 0.005
_NOTIFY = "SELECT pg_notify($1, t) FROM unnest($2::text[]) AS t"


class CommitAnnouncer:
    """One per process: announces the tenants whose events committed.

    ``connect`` opens the connection the NOTIFYs are sent on (``None``: announce inside the
    process only, e.g. a process alone on its database in a test).
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[Any]] | None,
        *,
        window: float = DEFAULT_WINDOW_SECONDS,
        delay: float = DEFAULT_DELAY_SECONDS,
    ) -> None:
        self._connect = connect
        self.window = window
        self.delay = delay
        self._local: list[Callable[[uuid.UUID], object]] = []
        self._pending: set[uuid.UUID] = set()
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._last_sent = -float("inf")  # the loop's time of the last statement
        self._waiting = False  # the task waits for its window to end (not sending)
        self._closed = False
        self.notifications_sent = 0  # statements sent (each announces one or more tenants)
        # The PostgreSQL backend the NOTIFYs go out from while its connection is open.
        self.backend_pid: int | None = None

    def sent_here(self, pid: int) -> bool:
        """Was a notification from backend ``pid`` sent by this announcer?"""
        return pid == self.backend_pid

    def on_commit(self, wake: Callable[[uuid.UUID], object]) -> None:
        """Call ``wake(tenant_id)`` in this process after every announced commit."""
        self._local.append(wake)

    def committed(self, tenant_id: uuid.UUID) -> None:
        """Events of ``tenant_id`` committed: wake this process now, the others soon."""
        for wake in self._local:
            wake(tenant_id)
        connect = self._connect
        if connect is None or self._closed:
            return
        self._pending.add(tenant_id)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._send_soon(connect))

    async def _send_soon(self, connect: Callable[[], Awaitable[Any]]) -> None:
        """Send what is pending ``delay`` after it came, or when ``window`` has passed since
        the last statement if that is later (commits until then share the statement)."""
        loop = asyncio.get_running_loop()
        while self._pending and not self._closed:
            wait = max(self.delay, self._last_sent + self.window - loop.time())
            if wait > 0:
                self._waiting = True
                try:
                    await asyncio.sleep(wait)
                finally:
                    self._waiting = False
            self._last_sent = loop.time()
            await self._send(connect)

    async def _send(self, connect: Callable[[], Awaitable[Any]]) -> None:
        """One statement NOTIFYs every pending tenant."""
        tenants, self._pending = sorted(str(t) for t in self._pending), set()
        if not tenants:
            return
        for attempt in (1, 2):  # once more on a fresh connection if the old one died
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await connect()
                    self._conn.add_termination_listener(self._lost)
                    self.backend_pid = self._conn.get_server_pid()
                await self._conn.execute(_NOTIFY, EVENTS_CHANNEL, tenants)
                self.notifications_sent += 1
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self._drop_connection()
                if attempt == 2:
                    # The other processes find these events at their next re-check.
                    log.warning("commit announcement not sent: %s", type(exc).__name__)

    def _lost(self, conn: Any) -> None:
        if conn is self._conn:
            self.backend_pid = None

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        self.backend_pid = None  # its backend is gone: the pid may be another's soon
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.terminate()

    async def close(self) -> None:
        """Send what is pending, then close the connection."""
        self._closed = True
        task = self._task
        if task is not None and not task.done():
            if self._waiting:
                task.cancel()  # no need to wait for its window: what it holds is sent below
            await asyncio.wait([task])
            failure = None if task.cancelled() else task.exception()
            if failure is not None:
                log.warning("commit announcer failed: %s", type(failure).__name__)
        if self._pending and self._connect is not None:
            await self._send(self._connect)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
