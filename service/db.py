"""Database access: the embedded server, engines, migrations and tenant-scoped transactions.

Two identities reach the database:

* the *owner* (``DATABASE_URL``, or the embedded server's bootstrap superuser) runs migrations
  and seeding, and owns every table;
* the *service role* (``safe_future_app`` by default) is what the running service connects as:
  a login role that is not superuser, has no ``BYPASSRLS``, owns nothing and holds only the
  privileges that migrations grant it. Row-level security applies to it in full.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import sys
import uuid
import weakref
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import asyncpg
from asyncpg.pgproto.pgproto import UUID as PgUUID
from asyncpg.transaction import TransactionState
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from service.config import Settings

_MIGRATION_LOCK = 0x5AFE_F07E  # advisory lock key held while migrating
# Beside ``service/`` both in a checkout and in an installed wheel (which ships ``migrations``).
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
EMBEDDED_DATABASE = "safe_future"


class EmbeddedServer:
    """A PostgreSQL server run by ``pgserver`` with its data in a folder of ours."""

    def __init__(self, pgdata: Path) -> None:
        try:  # imported here: starting a server is never import-time work
            import pgserver
        except ImportError as exc:
            raise RuntimeError(
                "no DATABASE_URL and no embedded PostgreSQL: install the 'embedded' extra"
            ) from exc

        pgdata.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(pgdata)
        self._server: Any = pgserver.get_server(  # type: ignore[attr-defined]
            pgdata, cleanup_mode="stop"
        )
        self.socket_dir = str(pgdata)

    def admin_url(self, database: str = EMBEDDED_DATABASE) -> URL:
        return URL.create(
            "postgresql+asyncpg",
            username="postgres",
            database=database,
            query={"host": self.socket_dir},
        )

    def cleanup(self) -> None:
        self._server.cleanup()


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop the processes that died without saying so from the server's list of users.

    ``pgserver`` stops the server when the last process using it exits cleanly, and keeps the
    users' process ids in a file. A process killed with ``kill -9`` never removes its id, so
    the server would never be stopped again; ids of processes that no longer run are removed.
    """
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList, process_is_running

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    with PostgresServer._lock:
        users = DiskList(handles)
        alive = [pid for pid in users.get() if pid == os.getpid() or process_is_running(pid)]
        users.put(alive)


def to_async_url(url: str | URL) -> URL:
    """Normalise a PostgreSQL URL to the asyncpg driver."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql+asyncpg")


def app_url(admin_url: URL, role: str, password: str | None) -> URL:
    """The service role's URL: the owner's server and database with the service's identity."""
    return admin_url.set(username=role, password=password)


async def ensure_database(admin_url: URL) -> None:
    """Create the database named in ``admin_url`` when it does not exist yet."""
    name = admin_url.database
    if name is None:
        return
    engine = create_async_engine(
        admin_url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=None
    )
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            )
            if not exists:
                quoted = '"' + name.replace('"', '""') + '"'
                await conn.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        await engine.dispose()


def app_password(settings: Settings) -> str | None:
    """The service role's password: configured, or generated once in the data folder."""
    if settings.app_db_password is not None:
        return settings.app_db_password
    path = settings.data_dir / "app-db-password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def _revision_imports(migrations_dir: Path) -> None:
    """Revisions import ``migration_helpers`` from their folder: make it importable.

    Alembic's ``env.py`` does this when migrating; reading the revisions without migrating (the
    API's readiness check, when ``serve`` skips migrating in production) needs it too.
    """
    folder = str(migrations_dir.resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)


def migration_heads(migrations_dir: Path = MIGRATIONS_DIR) -> tuple[str, ...]:
    """The head revisions the code expects the database to be at."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    if not (migrations_dir / "env.py").is_file():
        raise RuntimeError(f"no migrations in {migrations_dir}: set SAFE_FUTURE_MIGRATIONS_DIR")
    _revision_imports(migrations_dir)
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    script = ScriptDirectory.from_config(cfg)
    # A head that another revision depends on is not kept in ``alembic_version`` once that
    # revision is applied: it is implied by it.
    implied = {
        dep
        for rev in script.walk_revisions()
        for dep in (
            (rev.dependencies,) if isinstance(rev.dependencies, str) else rev.dependencies or ()
        )
    }
    return tuple(h for h in script.get_heads() if h not in implied)


def _alembic_upgrade(sync_conn: Connection, role: str, revision: str, migrations_dir: Path) -> None:
    from alembic import command
    from alembic.config import Config

    _revision_imports(migrations_dir)
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.attributes["connection"] = sync_conn
    cfg.attributes["app_role"] = role
    command.upgrade(cfg, revision)


async def migrate(
    admin_url: URL,
    role: str,
    password: str | None,
    revision: str = "heads",
    migrations_dir: Path = MIGRATIONS_DIR,
) -> None:
    """Apply migrations as the owner, then give the service role its password.

    Several instances may start at once: an advisory lock makes them migrate one after the
    other, and a role change that collides with another database's (the role is
    cluster-wide: "tuple concurrently updated") is tried again.
    """
    engine = create_async_engine(admin_url)
    try:
        for attempt in range(5):
            try:
                async with engine.begin() as conn:
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK}
                    )
                    await conn.run_sync(_alembic_upgrade, role, revision, migrations_dir)
                if password is not None:
                    async with engine.begin() as conn:
                        quoted_pw = "'" + password.replace("'", "''") + "'"
                        await conn.execute(
                            text(f'ALTER ROLE "{role}" WITH LOGIN PASSWORD {quoted_pw}')
                        )
                return
            except DBAPIError as exc:
                if "concurrently" not in str(exc.orig) or attempt == 4:
                    raise
                await asyncio.sleep(0.1 * (attempt + 1))
    finally:
        await engine.dispose()


def create_app_engine(url: URL, pool_size: int) -> AsyncEngine:
    """The service's engine: a pool of ``pool_size`` connections (as many again on overflow).

    No pre-ping: it cost three round trips (``BEGIN``, ``;``, ``ROLLBACK``) per checkout on
    every request. A connection that died in the pool is found by the first statement that
    uses it; SQLAlchemy then invalidates the whole pool (every connection older than the
    failure is replaced at its next checkout) and the error says so
    (``DBAPIError.connection_invalidated``): the command handler tries such a command again on
    a fresh connection (``service.handlers.return_case.CONNECTION_ATTEMPTS``).
    """
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)
    event.listen(engine.sync_engine.pool, "checkout", _refuse_left_in_transaction)
    idle = _Idle(pool_size, engine.sync_engine)
    _IDLE[engine.sync_engine] = idle
    event.listen(engine.sync_engine, "engine_disposed", idle.drop_all)
    return engine


def _refuse_left_in_transaction(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Never hand out a connection that a cancelled request left inside a transaction.

    A task cancelled while its ``BEGIN`` was under way (a client gone, a shutdown) leaves the
    driver believing a transaction is open: the next user's ``BEGIN`` would become a
    SAVEPOINT inside it and its "commit" would commit nothing. The pre-ping used to discard
    such connections by chance; this check costs no round trip. The pool replaces the
    connection (``DisconnectionError``) and checks out another.
    """
    if _left_unusable(record.driver_connection):
        raise DisconnectionError("connection closed or left inside a transaction")


def _left_open(conn: AsyncConnection, raw: asyncpg.Connection | None) -> bool:
    """Whether ``conn`` (its asyncpg connection ``raw``) is still usable but left (or half
    left) inside a transaction by a block that did not commit."""
    sync = conn.sync_connection
    if raw is None or sync is None or sync.closed or sync.invalidated:
        return False
    return _left_unusable(raw)


def _left_unusable(raw: Any) -> bool:
    """Whether an asyncpg connection is closed or still (or half) inside a transaction."""
    return raw is not None and (
        raw.is_closed() or raw.is_in_transaction() or raw._top_xact is not None
    )


class _Idle:
    """Connections of an engine made by ``create_app_engine`` kept between tenant transactions.

    A ``tenant_transaction`` that committed keeps its connection here, checked out of the pool
    (at most ``pool_size`` of them, the most recent used first), and the next one takes it
    without a pool checkout and checkin (each a greenlet switch, the pool's events and its
    reset). Whatever the pool would refuse is never taken again and goes back through the pool:
    a connection closed, invalidated (or older than an invalidation of the whole pool), left
    inside a transaction, or given execution options of its own (an isolation level). A rolled
    back transaction returns its connection to the pool as before. Disposing of the engine
    closes the connections kept here (``drop_all``).
    """

    __slots__ = ("_cap", "_kept", "_options")

    def __init__(self, cap: int, engine: Engine) -> None:
        self._cap = cap
        self._options = engine._execution_options  # not the engine: it keys ``_IDLE`` weakly
        self._kept: list[AsyncConnection] = []

    def _usable(self, conn: AsyncConnection) -> bool:
        sync = conn.sync_connection
        if sync is None or sync.closed or sync.invalidated or sync.in_transaction():
            return False
        if sync._execution_options is not self._options:
            return False
        fairy = sync.connection
        record = fairy._connection_record
        return (
            record is not None
            and not record._is_hard_or_soft_invalidated()
            and not _left_unusable(fairy.driver_connection)
        )

    async def take(self) -> AsyncConnection | None:
        """A kept connection still fit for a transaction, or ``None``.

        What ``keep`` checked cannot change while the connection waits here, except what the
        server or another connection's failure does to it: its socket closed, or the whole
        pool invalidated.
        """
        while self._kept:
            conn = self._kept.pop()
            sync = conn.sync_connection
            assert sync is not None  # kept connections are open
            fairy = sync.connection
            record, raw = fairy._connection_record, fairy.driver_connection
            if not (
                record is None
                or raw is None
                or record._is_hard_or_soft_invalidated()
                or raw.is_closed()
            ):
                return conn
            await conn.close()
        return None

    def keep(self, conn: AsyncConnection) -> bool:
        """Keep ``conn`` for the next transaction, if it is fit and there is room."""
        if len(self._kept) >= self._cap or not self._usable(conn):
            return False
        self._kept.append(conn)
        return True

    def drop_all(self, _engine: Engine) -> None:
        """Close the kept connections (the engine was disposed of; this runs in its greenlet)."""
        kept, self._kept = self._kept, []
        for conn in kept:
            sync = conn.sync_connection
            if sync is not None and not sync.closed:
                with contextlib.suppress(Exception):
                    sync.invalidate()
                sync.close()


_IDLE: weakref.WeakKeyDictionary[Engine, _Idle] = weakref.WeakKeyDictionary()


class _Open:
    """What an open ``tenant_transaction`` keeps for the code inside it."""

    __slots__ = ("driver", "memo", "pending", "tenant")

    def __init__(self, driver: _Driver, tenant: uuid.UUID | None) -> None:
        self.driver = driver
        self.tenant = tenant
        self.memo: dict[str, Any] = {}
        self.pending: list[Callable[[], object]] = []


# The connections inside a ``tenant_transaction``: each is added by the transaction that holds
# it and removed before that transaction lets it go, so an entry never outlives its transaction.
_OPEN: dict[AsyncConnection, _Open] = {}


def transaction_memo(conn: AsyncConnection) -> dict[str, Any] | None:
    """A dict that lives exactly as long as the current ``tenant_transaction`` (``None``
    outside one): for what a transaction may remember of its own reads."""
    state = _OPEN.get(conn)
    return None if state is None else state.memo


def transaction_tenant(conn: AsyncConnection) -> uuid.UUID | None:
    """The tenant of the current ``tenant_transaction``: the one whose rows row-level security
    shows it (``None`` outside one, or in one without a tenant)."""
    state = _OPEN.get(conn)
    return None if state is None else state.tenant


def after_commit(conn: AsyncConnection, callback: Callable[[], object]) -> bool:
    """Call ``callback`` once the transaction of ``conn`` has committed, never on rollback.

    Only ``tenant_transaction`` runs these callbacks; on another transaction this registers
    nothing and returns ``False`` (the caller then does what it must inside the transaction).
    """
    state = _OPEN.get(conn)
    if state is None:
        return False
    state.pending.append(callback)
    return True


def tenant_transaction(
    engine: AsyncEngine, tenant_id: uuid.UUID | None, *, setup: str | None = None
) -> AbstractAsyncContextManager[AsyncConnection]:
    """One transaction with ``app.tenant_id`` set for its duration only.

    Row-level security policies read this setting; with ``tenant_id=None`` the setting stays
    empty and every tenant-owned table shows no rows. Callbacks registered with
    ``after_commit`` run after the commit succeeded; not when the block rolled back itself
    (``conn.rollback()``) or ended normally in a transaction a failed statement had aborted
    (PostgreSQL rolls that back).

    On the service's engine (``create_app_engine``) a committed transaction's connection is
    kept for the next one (``_Idle``) instead of going back through the pool.

    ``BEGIN`` and the setting go in one round trip, and ``BEGIN``/``COMMIT`` through the
    driver (``_Driver.begin``/``end``): SQLAlchemy's statements inside run in this transaction
    as in one it began itself, and a savepoint (``begin_nested``) works as usual. ``setup``, a
    fixed statement without parameters (never built from input), rides on the same round trip.

    Use it as ``async with tenant_transaction(engine, tenant_id) as conn:``. Every command and
    read runs through it, so it is a class of its own rather than a generator
    (``contextlib.asynccontextmanager``), and keeps what the block may ask of it in one dict
    keyed by the connection (``_OPEN``) rather than in ``conn.info`` (four property lookups
    each): with its own ``COMMIT`` (``_Driver.end``), about 25 us of CPU less per transaction
    on the bench's machine (``docs/performance.md``, round sixteen).
    """
    return _TenantTransaction(engine, tenant_id, setup)


class _TenantTransaction:
    """The context of one ``tenant_transaction`` (see there)."""

    __slots__ = ("_conn", "_engine", "_idle", "_open", "_outer", "_setup", "_tenant_id")

    def __init__(self, engine: AsyncEngine, tenant_id: uuid.UUID | None, setup: str | None) -> None:
        self._engine = engine
        self._tenant_id = tenant_id
        self._setup = setup

    async def __aenter__(self) -> AsyncConnection:
        engine = self._engine
        idle = self._idle = _IDLE.get(engine.sync_engine)
        conn = None if idle is None else await idle.take()
        if conn is None:
            conn = await engine.connect()
        self._conn = conn
        state: _Open | None = None
        try:
            state = _Open(await driver(conn), self._tenant_id)
            # SQLAlchemy's own transaction, begun and ended without I/O (its asyncpg dialect
            # begins lazily, and ends nothing once the driver has): ``conn.rollback()`` and
            # ``begin_nested`` inside the block work as in any SQLAlchemy transaction.
            assert conn.sync_connection is not None
            self._outer = conn.sync_connection.begin()
            _OPEN[conn] = state
            await state.driver.begin(self._tenant_id, self._setup)
        except BaseException:
            await self._let_go(state, committed=False)
            raise
        self._open = state
        return conn

    async def __aexit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        state, outer = self._open, self._outer
        committed = False
        try:
            if exc_type is None:
                committed = await state.driver.end(commit=True)
                if outer.is_active:
                    outer.commit()
            else:
                await state.driver.end(commit=False)
                if outer.is_active:
                    outer.rollback()
        finally:
            await self._let_go(state, committed=committed)
        if committed:
            for callback in state.pending:
                callback()

    async def _let_go(self, state: _Open | None, *, committed: bool) -> None:
        """End the connection's part in this transaction: kept for the next one after a
        commit (on the service's engine), otherwise closed as ``async with`` closes it."""
        conn, idle = self._conn, self._idle
        _OPEN.pop(conn, None)
        if not committed and _left_open(conn, None if state is None else state.driver.connection):
            # Cancelled during its BEGIN or its ROLLBACK (a task group's sibling failed, a
            # client went away): the driver still thinks a transaction is open, and the next
            # user's BEGIN would become a SAVEPOINT inside it. Every engine's pool, not only the
            # service's (``create_app_engine``), gets a fresh connection instead.
            await conn.invalidate()
        if not (committed and idle is not None and idle.keep(conn)):
            await conn.__aexit__(None, None, None)


_SET_TENANT = "SELECT set_config('app.tenant_id', $1, true)"


_ENGINE_LOG = logging.getLogger("sqlalchemy.engine.Engine")
# How the adapter would begin a transaction at each of its isolation settings (``None``: the
# server's default; a pooled connection that once ran in AUTOCOMMIT comes back at the dialect's
# default, "read_committed"). Other settings (autocommit) begin the adapter's own way.
_BEGIN: dict[str | None, str] = {
    None: "BEGIN",
    "read_committed": "BEGIN ISOLATION LEVEL READ COMMITTED",
    "repeatable_read": "BEGIN ISOLATION LEVEL REPEATABLE READ",
    "serializable": "BEGIN ISOLATION LEVEL SERIALIZABLE",
}


_UUID_TYPES = (uuid.UUID, PgUUID)  # the standard library's, and the driver's (as it reads one)


def _literal(tenant_id: uuid.UUID) -> str:
    """The tenant id as a safe SQL literal's text: hex digits and dashes only."""
    if type(tenant_id) in _UUID_TYPES:  # their text is always the canonical form
        return str(tenant_id)
    return str(uuid.UUID(str(tenant_id)))


class _Driver:
    """The asyncpg connection under an ``AsyncConnection``, inside its transaction.

    Statements sent here skip SQLAlchemy's per-statement work (compilation cache, parameter
    processing, result objects, a greenlet switch each), for the hot paths only. Errors are
    translated exactly as SQLAlchemy translates its own statements' errors: the same
    ``DBAPIError`` subclasses (``IntegrityError`` for a unique violation), and a lost
    connection invalidates the pool and is reported with ``connection_invalidated``.
    """

    __slots__ = ("_adapted", "_conn")

    def __init__(self, conn: AsyncConnection, adapted: Any) -> None:
        self._conn = conn
        self._adapted = adapted

    def _observed(self, sql: str, args: tuple[Any, ...]) -> None:
        """Tell SQLAlchemy's ``before_cursor_execute`` listeners (statement counters, tracing)
        about a statement sent past SQLAlchemy, as if it had sent it; and echo it where
        SQLAlchemy echoes its own (the ``sqlalchemy.engine.Engine`` logger at INFO), so a
        statement log shows every statement whichever way it was sent."""
        if _ENGINE_LOG.isEnabledFor(logging.INFO):
            _ENGINE_LOG.info(sql)
            _ENGINE_LOG.info("[driver] %r", args)
        sync = self._conn.sync_connection
        if sync is not None and sync.dispatch.before_cursor_execute:
            sync.dispatch.before_cursor_execute(sync, None, sql, args, None, False)

    async def _run(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        adapted = self._adapted
        self._observed(sql, args)
        try:
            if adapted._transaction is None and self._conn.in_transaction():
                await adapted._start_transaction()  # SQLAlchemy begins lazily: begin now
            return await getattr(adapted._connection, method)(sql, *args)
        except Exception as exc:
            error = exc
        await self._conn.run_sync(_raise_translated, adapted, error, sql)
        raise AssertionError("unreachable")

    async def begin(self, tenant_id: uuid.UUID | None, setup: str | None = None) -> None:
        """``BEGIN``, the tenant setting (if any) and ``setup`` (if any: a fixed statement
        without parameters) in one round trip, as one simple query.

        The transaction is registered with the driver and with SQLAlchemy's adapter as if they
        had begun it, at the adapter's isolation level. Where they would begin it some other
        way (autocommit, read-only, deferrable), they do, and the setting and ``setup`` follow
        in statements of their own.
        """
        adapted, raw = self._adapted, self._adapted._connection
        begin = _BEGIN.get(adapted.isolation_level)
        plain = not (adapted.readonly or adapted.deferrable)
        if begin is None or not plain or adapted._transaction is not None or raw._top_xact:
            if adapted._transaction is None:
                await adapted._start_transaction()
            if tenant_id is not None:
                await self._run("execute", _SET_TENANT, (str(tenant_id),))
            if setup is not None:
                await self._run("execute", setup, ())
            return
        sql = begin
        if tenant_id is not None:
            sql = f"{sql}; SELECT set_config('app.tenant_id', '{_literal(tenant_id)}', true)"
        if setup is not None:
            sql = f"{sql}; {setup}"
        if sql != begin:
            self._observed(sql, ())
        try:
            xact = raw.transaction(isolation=adapted.isolation_level)
            # As asyncpg's own start: if this fails or is cancelled, the connection keeps the
            # transaction marked, and the pool never hands it out again (create_app_engine).
            raw._top_xact = xact
            xact._state = TransactionState.FAILED
            await raw.execute(sql)
        except Exception as exc:
            await self._conn.run_sync(_raise_translated, adapted, exc, "BEGIN")
        xact._state = TransactionState.STARTED
        adapted._transaction = xact

    async def end(self, *, commit: bool) -> bool:
        """``COMMIT`` (or ``ROLLBACK``) the transaction ``begin`` started; whether it committed.

        Not committed: a rollback; a transaction the block rolled back itself
        (``conn.rollback()``); or one a failed statement had aborted, which PostgreSQL ends
        with a rollback whatever it is sent (its answer to the ``COMMIT`` says so, and
        asyncpg's own commit would drop that answer).

        A failed commit raises as SQLAlchemy's would. A failed rollback (the connection is
        gone) is not raised over the error that caused it: the connection is invalidated.
        """
        adapted = self._adapted
        xact = adapted._transaction
        if xact is None:
            return False
        if not commit:
            try:
                await adapted._call_and_discard(xact.rollback)
            except Exception as exc:
                with contextlib.suppress(Exception):
                    await self._conn.invalidate(exc)
            return False
        raw = adapted._connection
        # As asyncpg's own commit: the driver's transaction ends whatever the answer, and one
        # that failed or was cancelled stays marked failed (``_left_open`` then invalidates it).
        if raw._top_xact is xact:
            raw._top_xact = None
        adapted._transaction = None
        try:
            answer = await raw.execute("COMMIT")
        except BaseException as exc:
            xact._state = TransactionState.FAILED
            if isinstance(exc, Exception):
                await self._conn.run_sync(_raise_translated, adapted, exc, "COMMIT")
            raise
        xact._state = TransactionState.COMMITTED
        return bool(answer == "COMMIT")

    async def execute(self, sql: str, *args: Any) -> None:
        await self._run("execute", sql, args)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self._run("fetch", sql, args)
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self._run("fetchrow", sql, args)
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run("fetchval", sql, args)

    @property
    def connection(self) -> asyncpg.Connection:
        """The asyncpg connection itself, in the same transaction, for what this class does
        not wrap (a server-side cursor, ``COPY``): bulk work of tools such as the rebuild.
        Its statements are neither observed nor translated."""
        raw: asyncpg.Connection = self._adapted._connection
        return raw


def _raise_translated(sync_conn: Connection, adapted: Any, error: Exception, sql: str) -> None:
    try:
        adapted._handle_exception(error)  # raises the DB-API error SQLAlchemy would see
    except Exception as dbapi_error:
        sync_conn._handle_dbapi_exception(dbapi_error, sql, None, None, None)
        raise


async def driver(conn: AsyncConnection) -> _Driver:
    """Statements on ``conn``'s asyncpg connection, in its transaction (see ``_Driver``)."""
    state = _OPEN.get(conn)
    if state is not None:
        return state.driver  # the one its tenant transaction began with
    sync = conn.sync_connection
    if sync is not None and not sync.closed and not sync.invalidated:
        fairy = sync.connection  # checked out already: no round trip through a greenlet
    else:
        fairy = await conn.get_raw_connection()
    return _Driver(conn, fairy.dbapi_connection)


async def set_tenant(conn: AsyncConnection, tenant_id: uuid.UUID) -> None:
    """Set ``app.tenant_id`` for the rest of ``conn``'s transaction, for a transaction that
    goes from tenant to tenant (the rebuild's swap); ``tenant_transaction`` sets it for one."""
    await (await driver(conn)).execute(_SET_TENANT, str(tenant_id))
