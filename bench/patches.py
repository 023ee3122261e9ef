"""Candidate fixes, applied by monkeypatching at start-up: before/after figures without a
service change (``python -m bench --patch NAME,...``).

Each patch is the smallest form of a change recommended in ``docs/performance.md``; the
service's code is not touched. A patched run's figures are labelled with its patches in
``bench/results.json``. Patches apply both to the ``safe-future serve`` subprocesses (through
``bench/serve.py``) and to this process (the append scenario's engine).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The service's own behaviour now, so no longer patches: ``lean-append`` (one-statement append
# on the driver connection), ``no-pre-ping`` (engines without pool pre-ping) and
# ``report-held-back`` (the ordered held-back probe). Add a candidate fix here as a function
# that monkeypatches the service, registered under its name.
PATCHES: dict[str, Callable[[], None]] = {}


def apply(names: list[str]) -> list[str]:
    """Apply the named patches (before the service's modules that use them are imported)."""
    unknown = sorted(set(names) - set(PATCHES))
    if unknown:
        raise SystemExit(f"unknown patch(es): {', '.join(unknown)}; known: {sorted(PATCHES)}")
    for name in names:
        PATCHES[name]()
    return names


def describe() -> dict[str, Any]:
    return {name: (fn.__doc__ or "").strip().split("\n")[0] for name, fn in PATCHES.items()}
