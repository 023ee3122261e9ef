"""Service CPU per mutation of two checkouts, served side by side.

    .venv/bin/python -m bench.compare TREE_A TREE_B [--rounds 16] [--seconds 1.5]
        [--cases 500]

Run-to-run figures of scenario 2 move by 15-25 % on a shared machine, more than most changes
to the command path. This serves both checkouts at once (``safe-future serve`` of each, run
from its own tree with its own ``service`` package, against one database), and sends
scenario 2's load (``CaseWalk``: 8 case workers walking cases through the method) to one of
them at a time, switching every ``--seconds`` in the order A B, B A, A B, ..., so that both
see the same machine. Each window's CPU time of the process under load is read from
``/proc``, and so is the database's: that of every process under PostgreSQL's postmaster (its
backends and workers, the other side's idle ones too) on the embedded server.
It prints each side's CPU per mutation over all its windows and per window, and the
database's per mutation.

A tree is a checkout with GraphiQL's assets in place (``make install`` there, or a copy of
``service/graphiql/static/vendor``); ``git worktree add ../other <commit>`` makes one. Not a
scenario of ``make bench``: it compares code, where ``make bench`` judges one code against
its floors.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bench import database, populate, server
from bench.common import Budget, children_cpu_seconds, log, proc_cpu_seconds, run_workers
from bench.scenarios import rebuild
from bench.scenarios.command import CLIENTS, CaseWalk


def _served(name: str, tree: Path, bench_db: database.BenchDatabase) -> server.Process:
    port = server.free_port()
    env = {
        **bench_db.env,
        "SAFE_FUTURE_HOST": "127.0.0.1",
        "SAFE_FUTURE_PORT": str(port),
        "SAFE_FUTURE_DB_POOL_SIZE": "10",
        "PYTHONPATH": str(tree),  # this tree's ``service``, not the installed one
    }
    argv = [sys.executable, "-m", "service.cli", "serve"]
    return server.Process(name, argv, env, port, cwd=tree)


async def compare(trees: dict[str, Path], rounds: int, seconds: float, cases: int) -> None:
    bench_db = await database.create()
    procs: dict[str, server.Process] = {}
    try:
        await populate.populate(database.asyncpg_dsn(bench_db.admin_url), cases)
        await rebuild.run(bench_db)
        for name, tree in trees.items():
            procs[name] = _served(name, tree, bench_db)
            await procs[name].start()
        await asyncio.sleep(1.0)  # the report projections' first look at every shelter
        walk = await CaseWalk.prepare(bench_db)
        for proc in procs.values():  # warm-up: plans, caches, the first data keys
            await run_workers(CLIENTS, walk.worker(proc.port), Budget(CLIENTS * 24, 3.0))
        postmaster = await _postmaster(bench_db)
        cpu = dict.fromkeys(procs, 0.0)
        db_cpu = dict.fromkeys(procs, 0.0)
        done = dict.fromkeys(procs, 0)
        windows: dict[str, list[float]] = {name: [] for name in procs}
        names = list(procs)
        for index in range(rounds):
            for name in names if index % 2 == 0 else names[::-1]:
                proc = procs[name]
                db_before = children_cpu_seconds(postmaster) if postmaster else 0.0
                before = proc_cpu_seconds(proc.pid)
                budget = await run_workers(CLIENTS, walk.worker(proc.port), Budget(10**9, seconds))
                used = proc_cpu_seconds(proc.pid) - before
                if postmaster:
                    db_cpu[name] += children_cpu_seconds(postmaster) - db_before
                if budget.errors:
                    log(f"{name}: {budget.errors} errors, first: {budget.first_error}")
                cpu[name] += used
                done[name] += budget.completed
                windows[name].append(1000 * used / max(1, budget.completed))
        for name in names:
            per = 1000 * cpu[name] / max(1, done[name])
            print(
                f"{name} ({trees[name]}): {per:.3f} ms of service CPU per mutation over "
                f"{done[name]} mutations; per window: "
                + " ".join(f"{w:.2f}" for w in windows[name])
            )
            if postmaster:
                per_db = 1000 * db_cpu[name] / max(1, done[name])
                print(f"{name}: {per_db:.3f} ms of database CPU per mutation")
    finally:
        for proc in procs.values():
            await proc.stop()
        await bench_db.drop()


async def _postmaster(bench_db: database.BenchDatabase) -> int | None:
    """The embedded PostgreSQL server's postmaster (``None`` on ``DATABASE_URL``: a server
    that may run elsewhere, where a backend's pid means nothing here)."""
    if bench_db.external:
        return None
    conn = await bench_db.owner_connect()
    try:  # read while the backend is there
        return _parent(await conn.fetchval("SELECT pg_backend_pid()"))
    finally:
        await conn.close()


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rpartition(")")[2].split()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree_a", type=Path)
    parser.add_argument("tree_b", type=Path)
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--cases", type=int, default=500)
    args = parser.parse_args()
    trees = {"A": args.tree_a.resolve(), "B": args.tree_b.resolve()}
    asyncio.run(compare(trees, args.rounds, args.seconds, args.cases))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
