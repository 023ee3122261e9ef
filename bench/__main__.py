"""``make bench``: every scenario against its raw floor, in one run, on one machine.

    .venv/bin/python -m bench             # the full run: 100,000 cases, ~1M events (< 15 min)
    .venv/bin/python -m bench --quick     # a smoke run: 5,000 cases, short rounds (~3 min)
    .venv/bin/python -m bench --only 1,3  # some scenarios (the population is always made)
    .venv/bin/python -m bench --profile   # also profile (cProfile) each scenario; slower
    .venv/bin/python -m bench --patch NAME,...   # candidate fixes (bench/patches.py)
    .venv/bin/python -m bench --guards    # only the guard chain's worst documents (no database)

Order: fresh database -> population (bench/populate.py) -> 5 rebuild (builds the read models)
-> 6 reports (report projection, caseload vs GROUP BY) -> 1 append (in this process) ->
the service starts as a ``safe-future serve`` subprocess -> 3 read -> 4 feed -> 2 command
path -> 8 mixed load; 7 memory comes from the service process during 3 and 4. Prints a table,
then every judged ratio with its target and verdict, and writes ``bench/results.json``; the
database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import json
import os
import platform
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import database, populate, profiling, server
from bench import patches as patch_module
from bench.common import MIB, ROOT, Result, load_average, log
from bench.scenarios import append, command, feed, mixed, read, rebuild, reports

RESULTS = ROOT / "bench" / "results.json"


@dataclass(frozen=True)
class Plan:
    cases: int
    append_rounds: int
    append_seconds: float
    append_max: int
    read_rounds: int
    read_seconds: float
    read_max: int
    count_requests: int
    feed_levels: dict[int, int]
    feed_gap: float
    feed_timeout: float
    command_seconds: float
    command_max: int
    report_repeat: int
    mixed_seconds: float
    pool_size: int = 10  # the service's default (SAFE_FUTURE_DB_POOL_SIZE)


FULL = Plan(
    cases=100_000,
    append_rounds=3,
    append_seconds=5.0,
    append_max=20_000,
    read_rounds=3,
    read_seconds=8.0,
    read_max=20_000,
    count_requests=50,
    feed_levels={1: 200, 100: 100, 1000: 40, 10000: 20},
    feed_gap=0.05,
    feed_timeout=30.0,
    command_seconds=20.0,
    command_max=10_000,
    report_repeat=20,
    mixed_seconds=20.0,
)
QUICK = Plan(
    cases=5_000,
    append_rounds=6,  # short rounds in turns, judged by their median: a stall moves one
    append_seconds=1.0,
    append_max=5_000,
    read_rounds=1,
    read_seconds=4.0,
    read_max=5_000,
    count_requests=20,
    feed_levels={1: 100, 100: 10, 1000: 10, 10000: 3},
    feed_gap=0.02,
    feed_timeout=15.0,
    command_seconds=6.0,
    command_max=2_000,
    report_repeat=20,  # ~10 ms each; medians of 5 moved 2x with the machine's load
    mixed_seconds=6.0,
)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def table(results: list[Result]) -> str:
    head = (
        f"{'scenario':<10} {'measure':<58} {'figure':>18} {'baseline':>12} {'ratio':>7} "
        f"{'target':<16} met"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        figure = f"{_fmt(r.figure)} {r.unit.split(' ')[0]}"
        met = "-" if r.met is None else ("yes" if r.met else "NO")
        lines.append(
            f"{r.scenario:<10} {r.measure[:58]:<58} {figure:>18} {_fmt(r.baseline):>12} "
            f"{_fmt(r.ratio):>7} {r.target[:16]:<16} {met}"
        )
    return "\n".join(lines)


def memory_results(read_mem: dict[str, int], feed_mem: dict[str, Any]) -> list[Result]:
    out: list[Result] = []
    if feed_mem:
        subs = feed_mem["subscriptions"]
        per_sub = (feed_mem["open_rss"] - feed_mem["idle_rss"]) / subs
        total = max(feed_mem["open_rss"], feed_mem["peak_rss"])
        out.append(
            Result(
                scenario="7 memory",
                measure=f"service RSS with {subs:,} open subscriptions (peak)",
                figure=round(total / MIB, 1),
                unit="MiB",
                target="< 300 MiB",
                met=total < 300 * MIB,
                details={
                    "idle_rss_mib": round(feed_mem["idle_rss"] / MIB, 1),
                    "open_idle_rss_mib": round(feed_mem["open_rss"] / MIB, 1),
                    "peak_rss_while_delivering_mib": round(feed_mem["peak_rss"] / MIB, 1),
                },
            )
        )
        out.append(
            Result(
                scenario="7 memory",
                measure="memory per open subscription ((open - idle) / n)",
                figure=round(per_sub / 1024, 1),
                unit="KiB",
                target="reported",
                parameters={"subscriptions": subs},
            )
        )
    peaks = [m for m in (read_mem.get("peak_rss"), feed_mem.get("peak_rss")) if m]
    hwm = max([read_mem.get("hwm", 0), feed_mem.get("hwm", 0)])
    if peaks:
        out.append(
            Result(
                scenario="7 memory",
                measure="service peak RSS during 3 read and 4 feed (VmHWM)",
                figure=round(max(max(peaks), hwm) / MIB, 1),
                unit="MiB",
                target="reported",
                details={
                    "read_peak_rss_mib": round(read_mem.get("peak_rss", 0) / MIB, 1),
                    "feed_peak_rss_mib": round(feed_mem.get("peak_rss", 0) / MIB, 1),
                    "vmhwm_mib": round(hwm / MIB, 1),
                },
            )
        )
    return out


class Service:
    """One ``safe-future serve`` for scenarios 3, 4, 2, or one per scenario when profiling."""

    def __init__(
        self,
        bench_db: database.BenchDatabase,
        plan: Plan,
        profile: bool,
        patches: tuple[str, ...],
    ) -> None:
        self.bench_db = bench_db
        self.plan = plan
        self.profile = profile
        self.patches = patches
        self.proc: server.Process | None = None

    async def get(self, name: str) -> server.Process:
        if self.proc is not None and not self.profile:
            return self.proc
        await self.stop()
        prof = profiling.path(f"service-{name}") if self.profile else None
        self.proc = server.service(
            self.bench_db, pool_size=self.plan.pool_size, profile=prof, patches=self.patches
        )
        self.proc.name = f"service-{name}" if self.profile else "service"
        await self.proc.start()
        await asyncio.sleep(1.0)  # the report projection's first look at every shelter
        return self.proc

    async def stop(self) -> None:
        if self.proc is None:
            return
        await self.proc.stop()
        if self.profile:
            name = self.proc.name
            prof = profiling.path(name)
            if prof.exists():
                log(f"profile: {profiling.save(name, prof)}")
        self.proc = None


async def main(
    plan: Plan,
    only: set[int],
    profile: bool,
    mode: str,
    patches: tuple[str, ...],
    results_path: Path = RESULTS,
) -> int:
    started = time.perf_counter()
    load_before = load_average()
    log(f"{mode} run: {plan.cases:,} cases; scenarios {sorted(only)}")
    bench_db = await database.create()
    results: list[Result] = []
    report: dict[str, Any] = {
        "mode": mode,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "patches": {p: d for p, d in patch_module.describe().items() if p in patches},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": load_before,
        },
    }
    try:
        report["postgres"] = await bench_db.server_facts()
        pop = await populate.populate(database.asyncpg_dsn(bench_db.admin_url), plan.cases)
        report["population"] = {
            "cases": pop.cases,
            "events": pop.events,
            "seconds": round(pop.seconds, 1),
            "per_shelter": pop.per_shelter,
        }
        log(f"population: {pop.cases:,} cases, {pop.events:,} events in {pop.seconds:.1f} s")
        prof = cProfile.Profile() if profile else None
        results += await rebuild.run(bench_db, prof)  # builds the read models
        if prof is not None:
            log(f"profile: {profiling.save('rebuild', prof)}")
        if 6 in only:
            prof = cProfile.Profile() if profile else None
            results += await reports.run(bench_db, repeat=plan.report_repeat, profile=prof)
            if prof is not None:
                log(f"profile: {profiling.save('report-catch-up', prof)}")
        if 1 in only:
            prof = cProfile.Profile() if profile else None
            results += await append.run(
                bench_db,
                seconds=plan.append_seconds,
                max_events=plan.append_max,
                rounds=plan.append_rounds,
                profile=prof,
            )
            if prof is not None:
                log(f"profile: {profiling.save('append-store', prof)}")
        # The service's report projection starts by catching every shelter up: do that here
        # (untimed) so that it does not run during the timed scenarios.
        await reports.catch_up(bench_db)
        service = Service(bench_db, plan, profile, patches)
        read_mem: dict[str, int] = {}
        feed_mem: dict[str, Any] = {}
        try:
            if 3 in only:
                proc = await service.get("read")
                out, read_mem = await read.run(
                    bench_db,
                    proc,
                    pool_size=plan.pool_size,
                    seconds=plan.read_seconds,
                    rounds=plan.read_rounds,
                    max_requests=plan.read_max,
                    count_requests=plan.count_requests,
                    patches=patches,
                )
                results += out
            if 4 in only:
                proc = await service.get("feed")
                out, feed_mem = await feed.run(
                    bench_db,
                    proc,
                    levels=plan.feed_levels,
                    gap=plan.feed_gap,
                    patience=plan.feed_timeout,
                )
                results += out
            if 2 in only:
                proc = await service.get("command")
                out, _ = await command.run(
                    bench_db, proc, seconds=plan.command_seconds, max_requests=plan.command_max
                )
                raw = next((r for r in results if r.scenario == "1 append"), None)
                for r in out:
                    if r.baseline is None and raw is not None and raw.baseline:
                        r.baseline = raw.baseline
                        r.ratio = round((r.figure or 0) / raw.baseline, 4)
                results += out
            if 8 in only:
                # A fresh process: collecting the garbage of scenario 4's 10,000 sockets would
                # otherwise stop this scenario's event loop for seconds (docs/performance.md).
                await service.stop()
                proc = await service.get("mixed")
                results += await mixed.run(
                    bench_db,
                    proc,
                    seconds=plan.mixed_seconds,
                    gap=max(plan.feed_gap, 0.05),
                    patience=plan.feed_timeout,
                )
        finally:
            await service.stop()
        if 7 in only:
            results += memory_results(read_mem, feed_mem)
    finally:
        await bench_db.drop()
    order = {s: i for i, s in enumerate(["1", "2", "3", "4", "5", "6", "7", "8"])}
    results.sort(key=lambda r: order.get(r.scenario.split(" ")[0], 9))
    total = time.perf_counter() - started
    report["machine"]["load_average_after"] = load_average()
    report["total_seconds"] = round(total, 1)
    report["results"] = [r.as_json() for r in results]
    _write(results_path, report)
    print(table(results))
    print(
        f"\ntotal {total / 60:.1f} min ({total:.0f} s); PostgreSQL "
        f"{report['postgres']['server_version']}; results in {results_path}"
    )
    for r in results:
        if "warning" in r.details:
            print(f"warning, {r.scenario}: {r.details['warning']}")
    print("\ntargets (ratio or figure against the issue's target):")
    for r in results:
        if r.met is None and not r.target.startswith(("<", ">")):
            continue
        shown = r.ratio if r.ratio is not None else r.figure
        verdict = "not judged" if r.met is None else ("met" if r.met else "MISSED")
        print(f"  {r.scenario:<10} {r.measure[:64]:<64} {_fmt(shown):>8}  {r.target:<10} {verdict}")
    missed = [r for r in results if r.met is False]
    if missed:
        print("targets missed: " + "; ".join(f"{r.scenario}: {r.measure}" for r in missed))
    return 0


def _write(path: Path, report: dict[str, Any]) -> None:
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


def _raise_file_limit() -> None:
    """10,000 WebSockets in the service (and 1,000 in each client process) need more than the
    usual 1,024 descriptors; the service and the client processes inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 32768 if hard == resource.RLIM_INFINITY else min(32768, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (~3 minutes)")
    parser.add_argument("--cases", type=int, help="population size (default 100,000; quick 5,000)")
    parser.add_argument("--only", help="comma-separated scenarios, e.g. 1,3 (default: all)")
    parser.add_argument("--profile", action="store_true", help="cProfile every scenario")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument(
        "--patch", default="", help="candidate fixes: " + ", ".join(patch_module.PATCHES)
    )
    parser.add_argument(
        "--guards",
        action="store_true",
        help="only the guard chain's worst documents (no database; not a numbered scenario)",
    )
    args = parser.parse_args()
    if args.guards:
        from bench.scenarios import guards

        print(guards.report(guards.measure_all()))
        sys.exit(0)
    chosen_patches = tuple(patch_module.apply([p for p in args.patch.split(",") if p]))
    chosen = QUICK if args.quick else FULL
    if args.cases:
        chosen = Plan(**{**chosen.__dict__, "cases": args.cases})
    wanted = {int(x) for x in args.only.split(",")} if args.only else {1, 2, 3, 4, 5, 6, 7, 8}
    _raise_file_limit()
    Path(database.DATA_DIR).mkdir(parents=True, exist_ok=True)
    mode = ("quick" if args.quick else "full") + (
        "+" + "+".join(chosen_patches) if chosen_patches else ""
    )
    sys.exit(asyncio.run(main(chosen, wanted, args.profile, mode, chosen_patches, args.results)))
