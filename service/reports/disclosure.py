"""Disclosure control: threshold k, secondary suppression, rounding to base k.

A published table is a set of *entries*: its interior cells (every grouped dimension has a
value) and its margins (``None`` in a position means "all values of that dimension"). Counts
are additive: a margin is the sum of the cells below it (when grouped by form of
exploitation, every count is of case-form pairs, so that stays true).

1. **Primary suppression**: an entry with a count from 1 to k-1 is suppressed. Zero is
   published as zero (an empty cell describes nobody).
2. **Secondary suppression**: a *line* is an entry that is a margin over one dimension together
   with the entries it sums. No line may hold exactly one suppressed entry, or that entry would
   be the published margin minus the published rest. While some line does, the smallest
   non-zero published cell of that line (its margin if it has none) is suppressed too.
3. **Rounding to base k**: every published count is rounded to the nearest multiple of k (a
   count of at least k stays at least k). Every published count is then a multiple of k, so
   every sum or difference of published counts (margins minus cells, a year minus its
   quarters, a range minus a sub-range, one grouping minus another, today minus yesterday) is
   a multiple of k as well, and can never equal a count from 1 to k-1.

Which cells are suppressed depends only on the counts, never on the order in which the
dimensions were asked for (tables are protected in the canonical dimension order).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "Key",
    "Published",
    "lines_of",
    "protect_count",
    "protect_table",
    "recode",
    "round_to_base",
    "share",
    "sum_tables",
    "with_margins",
]

Key = tuple[str | None, ...]
Published = int | None  # ``None``: suppressed
LineId = tuple[int, Key]


def round_to_base(n: int, base: int) -> int:
    """``n`` rounded to the nearest multiple of ``base`` (halves up); ``n >= 0``."""
    return (2 * n + base) // (2 * base) * base


def protect_count(n: int, k: int) -> Published:
    """A single count on its own: zero, suppressed, or rounded to base k."""
    if n == 0:
        return 0
    return None if n < k else round_to_base(n, k)


def with_margins(counts: Mapping[tuple[str, ...], int], ndims: int) -> dict[Key, int]:
    """Every non-zero entry of the table: the interior cells and all their margins."""
    entries: dict[Key, int] = {}
    for key, n in counts.items():
        if n <= 0:
            continue
        if len(key) != ndims:
            raise ValueError("every key must have one value per dimension")
        for mask in range(1 << ndims):
            margin: Key = tuple(None if mask >> i & 1 else key[i] for i in range(ndims))
            entries[margin] = entries.get(margin, 0) + n
    return entries


def _line(key: Key, dim: int) -> LineId:
    return (dim, key[:dim] + key[dim + 1 :])


def lines_of(keys: Iterable[Key], ndims: int) -> dict[LineId, list[Key]]:
    """The lines of a table: per dimension, a margin with the entries it sums."""
    lines: dict[LineId, list[Key]] = defaultdict(list)
    for key in keys:
        for dim in range(ndims):
            lines[_line(key, dim)].append(key)
    return dict(lines)


def _order(key: Key) -> tuple[str, ...]:
    return tuple("" if v is None else v for v in key)


def protect_table(
    counts: Mapping[tuple[str, ...], int], ndims: int, k: int
) -> dict[Key, Published]:
    """The published entries of a table of true ``counts`` (interior cells, all non-negative).

    Entries with a true count of zero are left out (they read as zero).
    """
    if k < 2:
        raise ValueError("k must be at least 2")
    entries = with_margins(counts, ndims)
    suppressed = {key for key, n in entries.items() if n < k}
    lines = lines_of(entries, ndims)
    hidden = {line: sum(m in suppressed for m in members) for line, members in lines.items()}
    queue = deque(sorted((line for line, n in hidden.items() if n == 1), key=_line_order))
    while queue:
        line = queue.popleft()
        if hidden[line] != 1:
            continue
        dim = line[0]
        members = lines[line]
        open_cells = [m for m in members if m not in suppressed and m[dim] is not None]
        if open_cells:
            pick = min(open_cells, key=lambda m: (entries[m], _order(m)))
        else:
            (pick,) = [m for m in members if m[dim] is None]
        suppressed.add(pick)
        for d in range(ndims):
            other = _line(pick, d)
            hidden[other] += 1
            if hidden[other] == 1:
                queue.append(other)
    return {key: None if key in suppressed else round_to_base(n, k) for key, n in entries.items()}


def _line_order(line: LineId) -> tuple[int, tuple[str, ...]]:
    return (line[0], _order(line[1]))


def sum_tables(tables: Sequence[Mapping[Key, Published]]) -> dict[Key, Published]:
    """Entry-wise sums of published tables; suppressed wherever any part is suppressed."""
    keys: set[Key] = set()
    for table in tables:
        keys.update(table)
    out: dict[Key, Published] = {}
    for key in keys:
        parts = [table.get(key, 0) for table in tables]
        out[key] = None if any(p is None for p in parts) else sum(p or 0 for p in parts)
    return out


def recode(
    counts: Mapping[tuple[str, ...], int], index: int, rare: frozenset[str], other: str
) -> dict[tuple[str, ...], int]:
    """Counts with the ``rare`` values of dimension ``index`` merged into ``other``."""
    if not rare:
        return dict(counts)
    out: dict[tuple[str, ...], int] = {}
    for key, n in counts.items():
        if key[index] in rare:
            key = (*key[:index], other, *key[index + 1 :])
        out[key] = out.get(key, 0) + n
    return out


def share(count: Published, population: Published) -> float | None:
    """A ratio of two published counts; ``None`` when either is suppressed or nobody counts.

    Computed from published (rounded) counts only, so it reveals nothing they do not.
    """
    if count is None or population is None or population == 0:
        return None
    return round(count / population, 4)
