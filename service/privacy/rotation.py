"""Rotation of the key-encryption key (KEK), and its schedule.

One rotation, under a session advisory lock (one rotation at a time, across instances):

1. *Prepare*: record a new KEK as ``pending``, then write its file (wrapped by the current
   master key). A crash before the file exists leaves a pending row only; the next run marks
   it destroyed (nothing was ever wrapped under it) and starts again.
2. *Switch*: under the exclusive key-creation lock, the current KEK becomes ``retiring`` and
   the new one ``current``, in one transaction. From then on new data keys are wrapped under
   the new KEK; transactions that created keys under the old one have committed.
3. *Rewrap*: tenant by tenant, batch by batch, every data key not under the current KEK
   (under a retiring KEK, or under a master key for rows older than KEKs) is unwrapped and
   wrapped again under the current one, through ``rewrap_data_keys`` (compare-and-set: a row
   erased or rewrapped meanwhile is left alone). Events and read models are not touched.
4. *Verify*: count the data keys not under the current KEK, in every tenant. Only when none
   is left:
5. *Destroy*: overwrite and remove each retiring KEK's file, then mark it ``destroyed``.

A run interrupted anywhere is resumed by the next one (the CLI's ``keys rotate``, or the
schedule): a retiring KEK means steps 3-5 are still to do, and its file is kept until they
are. No live client's key is lost at any point: an old KEK is destroyed only after every row
under it has been rewrapped (step 4), and no row can be added under it after the switch.

Runs as the service role (row-level security needs ``app.tenant_id`` per tenant) or as the
owner; both may call ``rewrap_data_keys``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.db import set_tenant
from service.privacy.kek import (
    KEY_CREATION_LOCK,
    ROTATION_LOCK,
    KekRing,
    KekUnavailable,
    current_kek_id,
    is_kek_id,
    make_first_kek,
    new_kek_id,
)

log = logging.getLogger("safe_future.privacy.rotation")

BATCH = 500

_STATES = text(
    "SELECT kek_id, state, created_at, activated_at, retired_at, destroyed_at, now() AS now "
    "FROM key_encryption_keys ORDER BY created_at, kek_id"
)
_OLD_ROWS = text(
    "SELECT tenant_id, case_id, key_id, wrapped_key, master_key_id FROM data_keys "
    "WHERE tenant_id = :t AND master_key_id <> :current ORDER BY case_id LIMIT :n"
)
# Each statement names its tenant besides setting it: an owner that bypasses row-level
# security (a superuser) would otherwise see every tenant's rows at once.
_COUNT_BY_WRAPPING = text(
    "SELECT master_key_id, count(*) AS n FROM data_keys WHERE tenant_id = :t GROUP BY 1"
)
_REWRAP = text("SELECT rewrap_data_keys(:cases, :keys, :froms, :wrapped, :to)")


class RotationIncomplete(Exception):
    """Some data keys could not be rewrapped; no KEK was destroyed. Run the rotation again
    once the cause (named in the message, never a key) is fixed."""


@dataclass(frozen=True, slots=True)
class KekState:
    kek_id: str
    state: str
    created_at: dt.datetime
    activated_at: dt.datetime | None
    retired_at: dt.datetime | None
    destroyed_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """What ``safe-future keys status`` shows."""

    now: dt.datetime
    current: KekState | None
    max_age: dt.timedelta
    pending: tuple[KekState, ...]
    retiring: tuple[KekState, ...]
    data_keys_by_wrapping: dict[str, int]
    files_on_disk: frozenset[str]
    destroyed_ids: frozenset[str]

    @property
    def age(self) -> dt.timedelta | None:
        if self.current is None or self.current.activated_at is None:
            return None
        return self.now - self.current.activated_at

    @property
    def due_at(self) -> dt.datetime | None:
        if self.current is None or self.current.activated_at is None:
            return None
        return self.current.activated_at + self.max_age

    @property
    def not_under_current(self) -> int:
        current = self.current.kek_id if self.current else None
        return sum(n for k, n in self.data_keys_by_wrapping.items() if k != current)

    @property
    def legacy_wrapped(self) -> int:
        """Data keys still wrapped directly by a master key (from before KEKs)."""
        return sum(n for k, n in self.data_keys_by_wrapping.items() if not is_kek_id(k))

    @property
    def files_still_present_of_destroyed(self) -> frozenset[str]:
        return self.files_on_disk & self.destroyed_ids


@dataclass
class RotationResult:
    rotated: bool
    current: str | None
    rewrapped: int = 0
    destroyed: list[str] = field(default_factory=list)
    skipped: str | None = None


async def _states(conn: AsyncConnection) -> tuple[list[KekState], dt.datetime]:
    rows = (await conn.execute(_STATES)).all()
    now = rows[0].now if rows else await conn.scalar(text("SELECT now()"))
    states = [
        KekState(r.kek_id, r.state, r.created_at, r.activated_at, r.retired_at, r.destroyed_at)
        for r in rows
    ]
    return states, now


async def _tenants(engine: AsyncEngine) -> list[uuid.UUID]:
    async with engine.connect() as conn:
        return [r[0] for r in await conn.execute(text("SELECT id FROM tenants ORDER BY id"))]


_DESTROYED = text(
    "UPDATE key_encryption_keys SET state = 'destroyed', destroyed_at = now() WHERE kek_id = :k"
)


async def _mark_destroyed(conn: AsyncConnection, kek_id: str) -> None:
    await conn.execute(_DESTROYED, {"k": kek_id})


async def _drop_pending(engine: AsyncEngine, ring: KekRing, states: Sequence[KekState]) -> None:
    for pending in (s for s in states if s.state == "pending"):
        ring.files.destroy(pending.kek_id)  # never current: nothing is wrapped under it
        async with engine.begin() as conn:
            await _mark_destroyed(conn, pending.kek_id)


async def _prepare(engine: AsyncEngine, ring: KekRing, states: Sequence[KekState]) -> str:
    """A pending KEK whose file exists: one left by an interrupted run, or a new one."""
    chosen: str | None = None
    for pending in (s for s in states if s.state == "pending"):
        if chosen is None and ring.get(pending.kek_id) is not None:
            chosen = pending.kek_id
            continue
        ring.files.destroy(pending.kek_id)  # never current: nothing is wrapped under it
        async with engine.begin() as conn:
            await _mark_destroyed(conn, pending.kek_id)
    if chosen is not None:
        return chosen
    kek_id = new_kek_id()
    async with engine.begin() as conn:  # recorded first, so a crash leaves no unknown file
        await conn.execute(
            text("INSERT INTO key_encryption_keys (kek_id, state) VALUES (:k, 'pending')"),
            {"k": kek_id},
        )
    ring.remember(ring.files.write(kek_id))
    return kek_id


async def _switch(engine: AsyncEngine, new: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL lock_timeout = '30s'"))
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(:a, :b)"),
            {"a": KEY_CREATION_LOCK[0], "b": KEY_CREATION_LOCK[1]},
        )
        await conn.execute(
            text(
                "UPDATE key_encryption_keys SET state = 'retiring', retired_at = now() "
                "WHERE state = 'current'"
            )
        )
        await conn.execute(
            text(
                "UPDATE key_encryption_keys SET state = 'current', activated_at = now() "
                "WHERE kek_id = :k AND state = 'pending'"
            ),
            {"k": new},
        )


async def _rewrap_tenant(
    engine: AsyncEngine, ring: KekRing, tenant_id: uuid.UUID, current: str
) -> tuple[int, list[str]]:
    """Rewrap this tenant's data keys under ``current``; ``(rewrapped, problems)``."""
    kek = ring.get(current)
    if kek is None:
        raise KekUnavailable("the current key-encryption key is not in the KEK directory")
    rewrapped = 0
    problems: list[str] = []
    skip: set[uuid.UUID] = set()
    while True:
        async with engine.begin() as conn:
            await set_tenant(conn, tenant_id)
            rows = [
                r
                for r in await conn.execute(
                    _OLD_ROWS, {"t": tenant_id, "current": current, "n": BATCH + len(skip)}
                )
                if r.case_id not in skip
            ]
            if not rows:
                return rewrapped, problems
            cases: list[uuid.UUID] = []
            keys: list[uuid.UUID] = []
            froms: list[str] = []
            wrapped: list[bytes] = []
            for row in rows:
                names = {"tenant_id": row.tenant_id, "case_id": row.case_id, "key_id": row.key_id}
                try:
                    secret = ring.unwrap(bytes(row.wrapped_key), row.master_key_id, **names)
                except Exception as exc:  # reported by kind, never by value
                    skip.add(row.case_id)
                    problems.append(f"tenant {tenant_id} case {row.case_id}: {type(exc).__name__}")
                    continue
                cases.append(row.case_id)
                keys.append(row.key_id)
                froms.append(row.master_key_id)
                wrapped.append(ring.wrap(secret, kek, **names))
            if not cases:
                continue  # every row of this batch failed; the next batch skips them
            batch = {"cases": cases, "keys": keys, "froms": froms, "wrapped": wrapped}
            changed = int(await conn.scalar(_REWRAP, {**batch, "to": current}) or 0)
            if changed == 0:
                # Erased (or rewrapped) meanwhile: the final count catches any row truly left.
                skip.update(cases)
                continue
            rewrapped += changed


async def _left_behind(engine: AsyncEngine, tenants: Sequence[uuid.UUID], current: str) -> int:
    left = 0
    for tenant_id in tenants:
        async with engine.begin() as conn:
            await set_tenant(conn, tenant_id)
            left += int(
                await conn.scalar(
                    text(
                        "SELECT count(*) FROM data_keys WHERE tenant_id = :t "
                        "AND master_key_id <> :c"
                    ),
                    {"t": tenant_id, "c": current},
                )
                or 0
            )
    return left


async def _rotate(engine: AsyncEngine, ring: KekRing, *, new_kek: bool) -> RotationResult:
    async with engine.connect() as conn:
        states, _ = await _states(conn)
    if not any(s.state in ("current", "retiring") for s in states):
        async with engine.begin() as conn:  # a new database: its first KEK is new enough
            await make_first_kek(conn, ring)
        async with engine.connect() as conn:
            states, _ = await _states(conn)
        new_kek = False
    retiring = [s for s in states if s.state == "retiring"]
    # An instance that cannot read the live KEKs (another KEK directory) must not rotate: its
    # new KEK would be current while living in a directory the other instances do not see.
    for live in (s for s in states if s.state in ("current", "retiring")):
        if ring.get(live.kek_id) is None:
            raise KekUnavailable(
                f"the key-encryption key {live.kek_id} is not in this KEK directory; "
                "check SAFE_FUTURE_KEK_DIR"
            )
    if new_kek and not retiring:
        await _switch(engine, await _prepare(engine, ring, states))
    else:  # finishing: a pending KEK (from a run that failed before its switch) is dropped
        await _drop_pending(engine, ring, states)
    async with engine.connect() as conn:
        states, _ = await _states(conn)
    current = next(s.kek_id for s in states if s.state == "current")
    tenants = await _tenants(engine)
    rewrapped = 0
    problems: list[str] = []
    for tenant_id in tenants:
        done, trouble = await _rewrap_tenant(engine, ring, tenant_id, current)
        rewrapped += done
        problems += trouble
    left = await _left_behind(engine, tenants, current)
    if problems or left:
        raise RotationIncomplete(
            f"{left} data key(s) are not under the current key-encryption key; nothing was "
            "destroyed: " + "; ".join(problems[:10])
        )
    destroyed: list[str] = []
    for old in (s for s in states if s.state == "retiring"):
        ring.files.destroy(old.kek_id)
        async with engine.begin() as conn:
            await _mark_destroyed(conn, old.kek_id)
        destroyed.append(old.kek_id)
    ring.prune([s.kek_id for s in states if s.state in ("current", "pending")])
    return RotationResult(True, current, rewrapped, destroyed)


async def ensure_first_kek(engine: AsyncEngine, ring: KekRing) -> None:
    """Make the first KEK of a new database before the service takes requests, so that no
    request ever has to make it: a request that did would need a second connection of its own
    while holding one, and many at once would exhaust the pool."""
    async with engine.connect() as conn:
        if await current_kek_id(conn) is not None:
            return
    async with engine.begin() as conn:
        await make_first_kek(conn, ring)


async def check_kek_directory(engine: AsyncEngine, ring: KekRing) -> None:
    """Refuse to start (``KekUnavailable``) when the current KEK's file is not in this
    instance's KEK directory: it could neither read nor create any client's key."""
    async with engine.connect() as conn:
        states, _ = await _states(conn)
    for live in (s for s in states if s.state in ("current", "retiring")):
        if ring.get(live.kek_id) is None:
            raise KekUnavailable(
                f"the key-encryption key {live.kek_id} is not in {ring.files.directory}; "
                "every instance needs the same SAFE_FUTURE_KEK_DIR"
            )


async def rotate_keks(
    engine: AsyncEngine, ring: KekRing, *, wait: bool = True, new_kek: bool = True
) -> RotationResult:
    """Rotate the KEK (or, with ``new_kek=False``, only finish an interrupted rotation and
    rewrap rows not yet under the current KEK). With ``wait=False`` it returns at once
    (``skipped``) when another rotation is running."""
    async with engine.connect() as lock_conn:
        autocommit = await lock_conn.execution_options(isolation_level="AUTOCOMMIT")
        args = {"a": ROTATION_LOCK[0], "b": ROTATION_LOCK[1]}
        if wait:
            await autocommit.execute(text("SELECT pg_advisory_lock(:a, :b)"), args)
        elif not await autocommit.scalar(text("SELECT pg_try_advisory_lock(:a, :b)"), args):
            return RotationResult(False, None, skipped="another rotation is running")
        try:
            return await _rotate(engine, ring, new_kek=new_kek)
        finally:
            await autocommit.execute(text("SELECT pg_advisory_unlock(:a, :b)"), args)


async def key_status(engine: AsyncEngine, ring: KekRing, max_age: dt.timedelta) -> KeyStatus:
    async with engine.connect() as conn:
        states, now = await _states(conn)
    by_wrapping: dict[str, int] = {}
    for tenant_id in await _tenants(engine):
        async with engine.begin() as conn:
            await set_tenant(conn, tenant_id)
            for row in await conn.execute(_COUNT_BY_WRAPPING, {"t": tenant_id}):
                by_wrapping[row.master_key_id] = by_wrapping.get(row.master_key_id, 0) + row.n
    return KeyStatus(
        now=now,
        current=next((s for s in states if s.state == "current"), None),
        max_age=max_age,
        pending=tuple(s for s in states if s.state == "pending"),
        retiring=tuple(s for s in states if s.state == "retiring"),
        data_keys_by_wrapping=by_wrapping,
        files_on_disk=frozenset(ring.files.ids_on_disk()),
        destroyed_ids=frozenset(s.kek_id for s in states if s.state == "destroyed"),
    )


def rotation_due(status: KeyStatus, margin: dt.timedelta) -> bool:
    """True when a rotation should run now: no current KEK yet, an interrupted rotation, or a
    current KEK that would pass its maximum age before the next check (``margin``)."""
    if status.current is None or status.pending or status.retiring:
        return True
    age = status.age
    return age is not None and age + margin >= status.max_age


async def run_rotation_schedule(
    engine: AsyncEngine,
    ring: KekRing,
    *,
    max_age: dt.timedelta,
    interval: dt.timedelta,
    stop: asyncio.Event,
) -> None:
    """Every ``interval``: rotate when due (one instance at a time; the others skip), and
    forget cached KEKs another instance destroyed. Failures are logged (kind only) and tried
    again at the next check; a KEK is never destroyed by a failed run."""
    while not stop.is_set():
        try:
            await check_rotation(engine, ring, max_age=max_age, margin=interval)
        except Exception as exc:  # the schedule must outlive one failed run
            log.error("key rotation failed: %s", type(exc).__name__)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval.total_seconds())
        except TimeoutError:
            continue


async def check_rotation(
    engine: AsyncEngine, ring: KekRing, *, max_age: dt.timedelta, margin: dt.timedelta
) -> RotationResult | None:
    """One check of the schedule: rotate if due, else only prune the cache."""
    status = await key_status_brief(engine, ring, max_age)
    if rotation_due(status, margin):
        result = await rotate_keks(engine, ring, wait=False)
        if result.rotated:
            log.info(
                "key-encryption key rotated: rewrapped %d data keys, destroyed %d old key(s)",
                result.rewrapped,
                len(result.destroyed),
            )
        return result
    alive = [s.kek_id for s in (status.current, *status.pending, *status.retiring) if s]
    ring.prune(alive)
    return None


async def key_status_brief(engine: AsyncEngine, ring: KekRing, max_age: dt.timedelta) -> KeyStatus:
    """``key_status`` without counting data keys (cheap enough for every check)."""
    async with engine.connect() as conn:
        states, now = await _states(conn)
    empty: dict[str, int] = {}
    return KeyStatus(
        now=now,
        current=next((s for s in states if s.state == "current"), None),
        max_age=max_age,
        pending=tuple(s for s in states if s.state == "pending"),
        retiring=tuple(s for s in states if s.state == "retiring"),
        data_keys_by_wrapping=empty,
        files_on_disk=frozenset(),
        destroyed_ids=frozenset(s.kek_id for s in states if s.state == "destroyed"),
    )


def describe(status: KeyStatus) -> list[str]:
    """The lines ``safe-future keys status`` prints (ids and counts only, never a key)."""
    lines: list[str] = []
    if status.current is None:
        lines.append("current key-encryption key: none yet (made with the first client key)")
    else:
        age = status.age or dt.timedelta()
        lines.append(f"current key-encryption key: {status.current.kek_id}")
        lines.append(
            f"  active since {status.current.activated_at:%Y-%m-%d %H:%M:%S %Z}, age "
            f"{_hours(age)}, rotation due by {status.due_at:%Y-%m-%d %H:%M:%S %Z} "
            f"(maximum age {_hours(status.max_age)})"
        )
        if age > status.max_age:
            lines.append("  OVERDUE: run `safe-future keys rotate`")
    for s in status.pending:
        lines.append(f"pending (rotation interrupted before the switch): {s.kek_id}")
    for s in status.retiring:
        lines.append(f"retiring (rewrap unfinished; its file is kept): {s.kek_id}")
    total = sum(status.data_keys_by_wrapping.values())
    lines.append(
        f"data keys: {total}, of which {status.not_under_current} not yet under the current "
        f"key ({status.legacy_wrapped} still wrapped directly by a master key)"
    )
    lingering = sorted(status.files_still_present_of_destroyed)
    if lingering:
        lines.append(f"files of destroyed keys still on disk: {', '.join(lingering)}")
    known = {s.kek_id for s in (status.current, *status.pending, *status.retiring) if s}
    unknown = sorted(status.files_on_disk - known - status.destroyed_ids)
    if unknown:
        lines.append(
            "KEK files this database does not know (another database's, or left by a failed "
            f"first start; not touched): {', '.join(unknown)}"
        )
    missing = sorted(k for k in known if k not in status.files_on_disk)
    if missing:
        lines.append(f"MISSING files of live keys: {', '.join(missing)}")
    return lines


def _hours(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"
