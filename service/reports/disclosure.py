"""Disclosure control: threshold k, consistent secondary suppression, rounding to base k.

A published table is a set of *entries*: its interior cells (every grouped dimension has a
value) and its margins (``None`` in a position means "all values of that dimension"). Counts
are additive: a margin is the sum of the cells below it (when grouped by form of
exploitation, every count is of case-form pairs, so that stays true). A table lists every
combination of the values of its dimensions' *domains*, which never depend on the data (all
shelters, every value of a vocabulary, the countries shared by at least k cases and
``OTHER``), so whether an entry is listed tells nothing.

1. **Primary suppression**: an entry with a count from 0 to k-1 is suppressed. Zero is not
   told apart from a small count: a suppressed entry may hold anything from 0 to k-1, so an
   attacker cannot even learn that someone is there.
2. **Secondary suppression**, entry by entry the same in every table: the entries that group
   by the same set of dimensions form a *node* (the cells of the table grouped by exactly
   those dimensions). Nodes are protected from the grand total up: a node's suppression
   pattern depends only on its own counts and on the patterns of the nodes below it, so an
   entry is suppressed in every table that shows it, or in none, whichever grouping asked.
   A *line* is a margin over one dimension with the entries it sums. Within a node, while a
   line holds exactly one suppressed entry (it would be the margin minus the rest), or its
   margin is published and its suppressed entries hold fewer than k-1 cases together (the
   margin minus the rest would bound each of them below k-1), the smallest published entry
   of that line is suppressed too.
3. **Rounding to base k**: every published count is rounded to the nearest multiple of k (a
   count of at least k stays at least k). Every sum or difference of published counts is a
   multiple of k as well, and can never equal a count from 1 to k-1.

The protection level this gives (checked by a linear-programming attacker over every grouping
of a period, its totals and the indicators, ``tests/unit/test_reports_attack.py``): no
suppressed entry can be bounded to an interval narrower than k-1, the width of [0, k-1].
"""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from operator import getitem

__all__ = [
    "Key",
    "Published",
    "entries_of",
    "lines_of",
    "protect_table",
    "recode",
    "round_to_base",
    "share",
    "with_margins",
]

Key = tuple[str | None, ...]
Published = int | None  # ``None``: suppressed
LineId = tuple[int, Key]


def round_to_base(n: int, base: int) -> int:
    """``n`` rounded to the nearest multiple of ``base`` (halves up); ``n >= 0``."""
    return (2 * n + base) // (2 * base) * base


def protect_count(n: int, k: int) -> Published:
    """A count published on its own: suppressed from 0 to k-1 (zero too), else rounded."""
    return None if n < k else round_to_base(n, k)


def with_margins(counts: Mapping[tuple[str, ...], int], ndims: int) -> dict[Key, int]:
    """Every non-zero entry of the table: the interior cells and all their margins."""
    entries: dict[Key, int] = {}
    get = entries.get
    # Per margin (bit i set: dimension i summed over), which values of a key it keeps.
    patterns = [tuple(not mask >> i & 1 for i in range(ndims)) for mask in range(1 << ndims)]
    for key, n in counts.items():
        if n <= 0:
            continue
        if len(key) != ndims:
            raise ValueError("every key must have one value per dimension")
        for keep in patterns:
            margin: Key = tuple([v if kept else None for v, kept in zip(key, keep, strict=True)])
            entries[margin] = get(margin, 0) + n
    return entries


def _domains(
    counts: Mapping[tuple[str, ...], int], domains: Sequence[Iterable[str]]
) -> list[list[str]]:
    """Each dimension's domain, with any value the counts hold that it lacks."""
    out = [set(d) for d in domains]
    ndims = len(out)
    if any(len(key) != ndims for key in counts):
        raise ValueError("every key must have one value per dimension")
    positive = [key for key, n in counts.items() if n > 0]
    if positive:
        for values, seen in zip(out, zip(*positive, strict=True), strict=True):
            values.update(seen)
    return [sorted(d) for d in out]


def entries_of(
    counts: Mapping[tuple[str, ...], int], domains: Sequence[Iterable[str]]
) -> dict[Key, int]:
    """Every entry of the table over ``domains``: all cells and margins, zeros included."""
    values = _domains(counts, domains)
    ndims = len(values)
    entries: dict[Key, int] = {}
    for mask in range(1 << ndims):
        keys: list[Key] = [()]
        for i in range(ndims):
            keys = [(*k, v) for k in keys for v in (values[i] if mask >> i & 1 else [None])]
        entries.update(dict.fromkeys(keys, 0))
    for key, n in with_margins(counts, ndims).items():
        entries[key] += n
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


def _protect_node(
    members: Sequence[int],
    dims: Sequence[int],
    strides: Sequence[int],
    last: Sequence[int],
    entries: Sequence[int],
    hidden: bytearray,
    k: int,
) -> None:
    """Suppress within one node (its margins' pattern is settled already).

    Entries sit at flat positions (see ``protect_table``). The line over dimension ``d``
    whose margin sits at ``margin`` holds the entries ``range(margin - last[d] * strides[d],
    margin, strides[d])``, in key order; lines are taken up by dimension, then by their
    margin's position (its key order), and the smallest published entry of an unsafe line
    (the first in key order among equals) is suppressed, as the module's rule 2 says.
    """
    floor = k - 1
    for m in members:
        if entries[m] < k:
            hidden[m] = 1
    spans = {d: (strides[d], last[d] * strides[d], last[d] + 1) for d in dims}
    queue: deque[tuple[int, int]] = deque()
    for d in dims:
        step, top, radix = spans[d]
        queue.extend([(d, m + top) for m in members if m // step % radix == 0])
    while queue:
        line = queue.popleft()
        d, margin = line
        step, top, _ = spans[d]
        flags = hidden[margin - top : margin : step]  # the line's cells: 1 where suppressed
        count = flags.count(1)
        if count + hidden[margin] != 1 and (
            hidden[margin]
            or not count
            or sum(itertools.compress(entries[margin - top : margin : step], flags)) >= floor
        ):
            continue  # the line is safe
        if count == len(flags):
            continue  # nothing left to suppress
        shown = [c for c, f in zip(range(margin - top, margin, step), flags, strict=True) if not f]
        pick = min(shown, key=entries.__getitem__)  # the first of the smallest: key order
        hidden[pick] = 1
        for e in dims:
            step, top, radix = spans[e]
            queue.append((e, pick + top - pick // step % radix * step))
        queue.append(line)


def protect_table(
    counts: Mapping[tuple[str, ...], int], domains: Sequence[Iterable[str]], k: int
) -> dict[Key, Published]:
    """The published entries of a table of true ``counts`` (interior cells, all non-negative).

    ``domains`` holds each dimension's values (in the order of the keys); every combination
    is published, ``None`` where suppressed, in the order ``entries_of`` lists them.

    Entries are held at flat positions: in each dimension its sorted values, then the margin,
    the first dimension the most significant. Flat order within a node is key order, a margin
    is a sum along one dimension and a line's entries lie a stride apart.
    """
    if k < 2:
        raise ValueError("k must be at least 2")
    values = _domains(counts, domains)
    ndims = len(values)
    last = [len(v) for v in values]  # the margin's coordinate in each dimension
    strides = [1] * ndims
    for i in range(ndims - 2, -1, -1):
        strides[i] = strides[i + 1] * (last[i + 1] + 1)
    size = strides[0] * (last[0] + 1) if ndims else 1
    entries = [0] * size
    positions = [{v: j * strides[i] for j, v in enumerate(vals)} for i, vals in enumerate(values)]
    for key, n in counts.items():
        if n > 0:
            entries[sum(map(getitem, positions, key))] += n
    for i in range(ndims):  # margins along dimension i (of cells and of earlier margins)
        step, top = strides[i], last[i] * strides[i]
        if top:
            for block in range(0, size, top + step):
                for base in range(block, block + step):
                    entries[base + top] = sum(entries[base : base + top : step])
    hidden = bytearray(size)
    nodes: list[tuple[tuple[int, ...], list[int], int]] = []
    for mask in range(1 << ndims):
        members = [0]
        for i in range(ndims):
            offsets = (
                range(0, last[i] * strides[i], strides[i])
                if mask >> i & 1
                else (last[i] * strides[i],)
            )
            members = [m + o for m in members for o in offsets]
        nodes.append((tuple(i for i in range(ndims) if mask >> i & 1), members, mask))
    for node, members, _ in sorted(nodes, key=lambda n: (len(n[0]), n[0])):
        if members:
            _protect_node(members, node, strides, last, entries, hidden, k)
    published: dict[Key, Published] = {}
    double = 2 * k
    for _, members, mask in nodes:
        axes = [values[i] if mask >> i & 1 else (None,) for i in range(ndims)]
        published.update(
            zip(
                itertools.product(*axes),
                [None if hidden[m] else (2 * entries[m] + k) // double * k for m in members],
                strict=True,
            )
        )
    return published


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
