"""What every scenario shares: results, percentiles, bounded load and the server's memory."""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


@dataclass
class Result:
    """One line of the table and of ``bench/results.json``.

    ``ratio`` is figure / baseline unless ``ratio_meaning`` says otherwise; ``target`` is the
    ratio (or figure) the issue asks for, and ``met`` whether this run met it.
    """

    scenario: str
    measure: str
    figure: float | None
    unit: str
    baseline: float | None = None
    baseline_measure: str = ""
    ratio: float | None = None
    ratio_meaning: str = "figure / baseline"
    target: str = ""
    met: bool | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0..100) by the nearest-rank method; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p90 / p99 / max in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "p50_ms": round(percentile(ms, 50), 3),
        "p90_ms": round(percentile(ms, 90), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(max(ms), 3) if ms else math.nan,
        "samples": len(ms),
    }


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


class Budget:
    """A load bound: at most ``requests`` operations and at most ``seconds`` of wall time."""

    def __init__(self, requests: int, seconds: float) -> None:
        self.limit = requests
        self.taken = 0
        self.deadline = time.perf_counter() + seconds
        self.started = time.perf_counter()
        self.finished: float | None = None
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error: str | None = None

    def take(self) -> bool:
        """May one more operation start?"""
        if self.taken >= self.limit or time.perf_counter() >= self.deadline:
            if self.finished is None:
                self.finished = time.perf_counter()
            return False
        self.taken += 1
        return True

    def record(self, seconds: float) -> None:
        self.latencies.append(seconds)

    def fail(self, message: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = message[:500]

    @property
    def elapsed(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.completed / self.elapsed if self.elapsed > 0 else 0.0


def round_ratios(figures: Sequence[Budget], floors: Sequence[Budget]) -> list[float]:
    """Each round's ratio: the figure's rate over its floor's rate in the same round (rounds
    run in turns, so a pair shares the machine's state). A floor that completed nothing is a
    broken run, not a ratio: ``ValueError``."""
    pairs = list(zip(figures, floors, strict=True))
    if any(floor.rate <= 0 for _, floor in pairs):
        raise ValueError("a floor's round completed nothing")
    return [figure.rate / floor.rate for figure, floor in pairs]


def judged_ratio(figures: Sequence[Budget], floors: Sequence[Budget]) -> float:
    """The median of ``round_ratios``: a stall of the machine that falls on one round of either
    side moves that round's ratio and leaves the median where the other rounds put it."""
    return median(round_ratios(figures, floors))


async def run_workers(
    count: int, worker: Callable[[int, Budget], Awaitable[None]], budget: Budget
) -> Budget:
    """Run ``count`` closed-loop workers until the budget is spent; errors end no worker."""
    budget.started = time.perf_counter()
    await asyncio.gather(*(worker(i, budget) for i in range(count)))
    if budget.finished is None:
        budget.finished = time.perf_counter()
    return budget


def proc_memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process in bytes, from ``/proc/<pid>/status``."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0]) * 1024
    return out


def proc_cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used, from ``/proc/<pid>/stat``."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(parent: int) -> float:
    """User plus system CPU time of ``parent``'s live children (a PostgreSQL server's
    backends and workers, under its postmaster), from ``/proc``."""
    total = 0.0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:  # gone since the listing
            continue
        if int(fields[1]) == parent:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class MemorySampler:
    """Samples a process's resident memory in the background; keeps the largest VmRSS."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_rss = 0
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> dict[str, int]:
        mem = proc_memory(self.pid)
        self.peak_rss = max(self.peak_rss, mem.get("VmRSS", 0))
        return mem

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
        self.sample()


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def log(message: str) -> None:
    """Progress on stderr, so the table on stdout stays clean."""
    import sys

    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
