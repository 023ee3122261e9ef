"""Profiles with the standard library's cProfile (no py-spy or pyinstrument needed).

``python -m bench --profile`` runs each server-side scenario against a service of its own
started under ``python -m cProfile -o <file>``, and profiles the in-process ones (the
store's append rounds, the rebuild, the report catch-up) directly; the top entries land in
``.data/bench/profiles/<scenario>.txt``. Figures of a profiled run are slowed by the profiler:
use them to see where time goes, and the figures of a plain run to judge targets.
"""

from __future__ import annotations

import cProfile
import io
import pstats
from pathlib import Path

from bench.database import DATA_DIR

PROFILES = DATA_DIR / "profiles"


def path(name: str) -> Path:
    PROFILES.mkdir(parents=True, exist_ok=True)
    return PROFILES / f"{name}.prof"


WAITING = "waiting for I/O (epoll, in the bench's own loop)"
_WAITS = {"<method 'poll' of 'select.epoll' objects>"}


def _package(filename: str) -> str:
    """A profile entry's package: ``service.events.store``, ``sqlalchemy``, ``stdlib:json``..."""
    if filename.startswith(("~", "<")):
        return "builtins / C"
    path = Path(filename)
    parts = path.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].split(".")[0]
    if "service" in parts:
        i = len(parts) - 1 - parts[::-1].index("service")
        return ".".join(parts[i : i + 3]).removesuffix(".py")
    if "bench" in parts:
        return "bench"
    return "stdlib:" + (parts[-2] if parts[-2] not in ("python3.11", "lib") else path.stem)


def by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own time summed per package, largest first: where an async program spends its CPU.

    (cProfile counts each resumption of a coroutine as a call and its cumulative times
    overlap; own times add up, so this is the reliable view of an asyncio server.)
    """
    totals: dict[str, float] = {}
    for (filename, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        package = WAITING if name in _WAITS else _package(filename)
        totals[package] = totals.get(package, 0.0) + row[2]
    return sorted(totals.items(), key=lambda kv: -kv[1])


def top(source: cProfile.Profile | Path, limit: int = 30) -> str:
    """Own time by package, then the ``limit`` top entries by own and cumulative time."""
    out = io.StringIO()
    stats = (
        pstats.Stats(str(source), stream=out)
        if isinstance(source, Path)
        else pstats.Stats(source, stream=out)
    )
    packages = by_package(stats)
    total = sum(t for name, t in packages if name != WAITING) or 1.0
    out.write("== own time by package (percent of the time not spent waiting) ==\n")
    for name, seconds in packages[:25]:
        out.write(f"{seconds:9.3f} s {100 * seconds / total:5.1f}%  {name}\n")
    stats.strip_dirs()
    out.write("\n== by own time (tottime) ==\n")
    stats.sort_stats("tottime").print_stats(limit)
    out.write("== by cumulative time ==\n")
    stats.sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


def save(name: str, source: cProfile.Profile | Path) -> Path:
    """Write the top entries of a profile next to it; returns the text file's path."""
    text_path = PROFILES / f"{name}.txt"
    PROFILES.mkdir(parents=True, exist_ok=True)
    if isinstance(source, cProfile.Profile):
        source.dump_stats(str(path(name)))
    text_path.write_text(top(source))
    return text_path
