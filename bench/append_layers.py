"""Where scenario 1's gap lies: one append sent through each layer of the store, 8 writers.

    .venv/bin/python -m bench.append_layers [--rounds 12] [--events 150] [--writers 8]

Scenario 1 compares ``tenant_transaction`` + ``EventStore.append`` with raw asyncpg INSERTs.
This tool adds the layers between them, each writing one event per transaction with the same
writers on fresh streams, rounds taken in turns, in one process against a fresh database:

- ``raw``: scenario 1's raw side (``BEGIN``; ``set_config`` and ``events_writer_begin()``; the
  prepared INSERT; ``COMMIT``: four round trips);
- ``statement``: the store's own append statement, as the store sends it for one event
  (captured from a first append through SQLAlchemy's ``before_cursor_execute`` event), on raw
  asyncpg in the store's three round trips (``BEGIN`` with the tenant setting as one simple
  query, the statement, ``COMMIT``);
- ``transaction``: that statement through ``tenant_transaction`` and its driver
  (``service.db.driver``), on an engine made like the service's;
- ``store``: ``tenant_transaction`` + ``EventStore.append``, as scenario 1's store side.

Per layer it prints events/s, this process's CPU per append (user + system) and the ratio to
``raw``. The events are decided by the domain before the rounds (scenario 1's supply). Not a
scenario of ``make bench``: it answers what each layer costs on this machine
(``docs/performance.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import resource
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.scenarios.append import RAW_INSERT, Supply, encode, raw_insert, store_append
from service.db import driver, tenant_transaction
from service.domain import return_case as rc
from service.events.announce import CommitAnnouncer
from service.events.store import EventStore
from service.events.types import EventRegistry, Metadata

LAYERS = ("raw", "statement", "transaction", "store")
# Appends per writer of each layer's untimed first turn (connections, prepared statements, plans).
WARM_UP_APPENDS = 20
_BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT set_config('app.tenant_id', '{}', true)"


@dataclass
class Layer:
    """One layer's rounds: events/s and this process's CPU seconds per append, per round."""

    name: str
    rates: list[float] = field(default_factory=list)
    cpu_per_append: list[float] = field(default_factory=list)
    appended: int = 0

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_per_append)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def captured_statement(
    engine: AsyncEngine, store: EventStore, tenant_id: uuid.UUID, meta: Metadata
) -> str:
    """The statement ``store`` sends to append one event (a new case's first), as its
    listeners see it."""
    supply = Supply(1, 1)
    supply.top_up()
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if "INSERT INTO events" in statement:
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", listen)
    try:
        await store_append(engine, store, tenant_id, supply.take(0), meta, dt.datetime.now(dt.UTC))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listen)
    if len(seen) != 1:
        raise RuntimeError(f"expected the append's one statement, saw {len(seen)}")
    return seen[0]


async def measure(
    engine: AsyncEngine,
    connect: Callable[[], Awaitable[asyncpg.Connection]],
    tenants: list[uuid.UUID],
    *,
    rounds: int,
    events: int,
    writers: int,
) -> list[Layer]:
    """Every layer's rounds, taken in turns; ``events`` appends per writer and round.

    ``connect`` opens a connection as the service's role: one per writer for the layers on
    raw asyncpg, and the announcer's (the store is made like scenario 1's, which announces
    its commits after them, so its statement carries no NOTIFY)."""
    registry = EventRegistry(rc.EVENT_TYPES)
    announcer = CommitAnnouncer(connect)
    store = EventStore(registry, announce=announcer.committed)
    meta = Metadata("bench-layers", "bench", "caseworker", "bench", "bench")
    meta_json = json.dumps(meta.to_json())
    supplies = {name: Supply(writers, events) for name in LAYERS}
    statement = await captured_statement(engine, store, tenants[0], meta)
    conns = [await connect() for _ in range(writers)]
    now = dt.datetime.now(dt.UTC)
    texts = {tenant: str(tenant) for tenant in tenants}  # as scenario 1's raw writers hold it

    def arguments(tenant: uuid.UUID, item: tuple[uuid.UUID, int, Any]) -> tuple[Any, ...]:
        # The parameters in the order the store passes them for one event (store.append).
        case_id, version, decided = item
        kind, schema, payload, personal = encode(registry, decided)
        return (tenant, case_id, "ReturnCase", kind, schema, payload, personal, version - 1,
                meta_json, now)  # fmt: skip

    async def raw(i: int, tenant: uuid.UUID, item: tuple[uuid.UUID, int, Any]) -> None:
        case_id, version, decided = item
        row = encode(registry, decided)
        await raw_insert(conns[i], RAW_INSERT, tenant, texts[tenant], case_id, version, row,
                         meta_json, now)  # fmt: skip

    async def plain(i: int, tenant: uuid.UUID, item: tuple[uuid.UUID, int, Any]) -> None:
        conn = conns[i]
        await conn.execute(_BEGIN.format(tenant))
        try:
            await conn.fetch(statement, *arguments(tenant, item))
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")

    async def wrapped(_i: int, tenant: uuid.UUID, item: tuple[uuid.UUID, int, Any]) -> None:
        async with tenant_transaction(engine, tenant) as conn:
            await (await driver(conn)).fetch(statement, *arguments(tenant, item))

    async def stored(_i: int, tenant: uuid.UUID, item: tuple[uuid.UUID, int, Any]) -> None:
        await store_append(engine, store, tenant, item, meta, now)

    sides: dict[str, Callable[[int, uuid.UUID, tuple[uuid.UUID, int, Any]], Awaitable[None]]]
    sides = {"raw": raw, "statement": plain, "transaction": wrapped, "store": stored}
    found = {name: Layer(name) for name in LAYERS}

    async def writer(name: str, i: int, count: int) -> None:
        tenant = tenants[i % len(tenants)]
        for _ in range(count):
            await sides[name](i, tenant, supplies[name].take(i))

    async def turn(name: str, count: int) -> tuple[float, float]:
        supplies[name].top_up()
        cpu, started = _cpu_seconds(), time.perf_counter()
        await asyncio.gather(*(writer(name, i, count) for i in range(writers)))
        elapsed = time.perf_counter() - started
        return writers * count / elapsed, (_cpu_seconds() - cpu) / (writers * count)

    try:
        for name in LAYERS:
            await turn(name, WARM_UP_APPENDS)
        for _ in range(rounds):
            for name in LAYERS:
                rate, cpu = await turn(name, events)
                found[name].rates.append(rate)
                found[name].cpu_per_append.append(cpu)
                found[name].appended += writers * events
    finally:
        for conn in conns:
            await conn.close()
        await announcer.close()
    return [found[name] for name in LAYERS]


def report(layers: list[Layer]) -> str:
    raw = layers[0]
    lines = [f"{'layer':12} {'events/s':>9} {'CPU/append':>11} {'vs raw':>7}"]
    for layer in layers:
        lines.append(
            f"{layer.name:12} {layer.rate:9.0f} {layer.cpu * 1e6:9.0f} us "
            f"{layer.rate / raw.rate:7.3f}"
        )
    return "\n".join(lines)


async def main(rounds: int, events: int, writers: int) -> None:
    from bench import database
    from bench.scenarios.read import shelters

    bench_db = await database.create()
    engine = bench_db.app_engine(writers)
    try:
        tenants = [tenant for _slug, tenant in await shelters(bench_db)]
        layers = await measure(
            engine, bench_db.app_connect, tenants, rounds=rounds, events=events, writers=writers
        )
        print(f"{rounds} rounds of {writers} writers x {events} appends, medians of the rounds:")
        print(report(layers))
    finally:
        await engine.dispose()
        await bench_db.drop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--events", type=int, default=150, help="appends per writer and round")
    parser.add_argument("--writers", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.events, args.writers))
