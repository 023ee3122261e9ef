"""The secondary suppression as first written: entry keys, sets and one dict of lines per node.

Kept as the reference that ``service.reports.disclosure.protect_table`` (which works on flat
positions) must equal for every table (``test_reports_disclosure_reference.py``).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence

from service.reports.disclosure import Key, Published, entries_of, round_to_base


def _order(key: Key) -> tuple[str, ...]:
    return tuple("" if v is None else v for v in key)


def _node(key: Key) -> tuple[int, ...]:
    return tuple(i for i, v in enumerate(key) if v is not None)


def _margin(key: Key, dim: int) -> Key:
    return (*key[:dim], None, *key[dim + 1 :])


def _protect_node(
    members: Sequence[Key], entries: Mapping[Key, int], hidden: set[Key], k: int
) -> None:
    """Suppress within one node (its margins' pattern is settled already)."""
    dims = _node(members[0])
    hidden.update(m for m in members if entries[m] < k)
    lines: dict[tuple[int, Key], list[Key]] = defaultdict(list)
    for m in members:
        for d in dims:
            lines[(d, _margin(m, d))].append(m)

    def unsafe(line: tuple[int, Key]) -> bool:
        margin, cells = line[1], lines[line]
        hidden_cells = [c for c in cells if c in hidden]
        if len(hidden_cells) + (margin in hidden) == 1:
            return True
        return (
            margin not in hidden
            and len(hidden_cells) > 0
            and (sum(entries[c] for c in hidden_cells) < k - 1)
        )

    queue = deque(sorted(lines, key=lambda line: (line[0], _order(line[1]))))
    while queue:
        line = queue.popleft()
        if not unsafe(line):
            continue
        shown = [c for c in lines[line] if c not in hidden]
        if not shown:
            continue
        pick = min(shown, key=lambda c: (entries[c], _order(c)))
        hidden.add(pick)
        queue.extend((d, _margin(pick, d)) for d in dims)
        queue.append(line)


def protect_table(
    counts: Mapping[tuple[str, ...], int], domains: Sequence[Iterable[str]], k: int
) -> dict[Key, Published]:
    """The published entries of a table of true ``counts`` (the reference)."""
    if k < 2:
        raise ValueError("k must be at least 2")
    entries = entries_of(counts, domains)
    nodes: dict[tuple[int, ...], list[Key]] = defaultdict(list)
    for key in entries:
        nodes[_node(key)].append(key)
    hidden: set[Key] = set()
    for dims in sorted(nodes, key=lambda d: (len(d), d)):
        _protect_node(sorted(nodes[dims], key=_order), entries, hidden, k)
    return {key: None if key in hidden else round_to_base(n, k) for key, n in entries.items()}
