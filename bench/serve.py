"""``safe-future serve`` for the bench: optionally profiled, optionally patched.

    python -m bench.serve [--profile FILE.prof] [--patch NAME,...]

With ``--profile``, cProfile is switched on by SIGUSR1 and off by SIGUSR2 (the bench does so
around a scenario's timed window, so start-up, imports and idle waits stay out) and the
profile is written when the server stops. Time the event loop (uvloop) spends in C between
Python callbacks belongs to no profiled frame: the profile shows the Python work. With
``--patch``, the named candidate fixes of ``bench/patches.py`` are applied first.
"""

from __future__ import annotations

import argparse
import cProfile
import signal
import sys
from types import FrameType


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile")
    parser.add_argument("--patch", default="")
    args = parser.parse_args()
    from bench import patches

    patches.apply([p for p in args.patch.split(",") if p])
    from service.cli import main as cli_main

    if not args.profile:
        return cli_main(["serve"])
    profile = cProfile.Profile()
    enabled = False

    def start(_signum: int, _frame: FrameType | None) -> None:
        nonlocal enabled
        if not enabled:
            profile.enable()
            enabled = True

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal enabled
        if enabled:
            profile.disable()
            enabled = False

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    try:
        return cli_main(["serve"])
    finally:
        stop(signal.SIGUSR2, None)
        profile.dump_stats(args.profile)


if __name__ == "__main__":
    sys.exit(main())
