"""The secondary suppression on flat positions publishes exactly what the reference does.

``service.reports.disclosure.protect_table`` holds a table's entries at flat positions;
``reference_disclosure.protect_table`` is the suppression as first written, on entry keys.
For every generated table (up to three dimensions, empty domains, zero and small counts,
values the domains lack, every k in use) both must publish the same entries, in the same
order, with the same figures and the same suppressed entries.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from service.reports import disclosure
from tests.unit import reference_disclosure

VALUES = ("a", "b", "c", "d", "e", "f", "g")
COUNTS = st.one_of(st.integers(0, 12), st.integers(0, 60), st.sampled_from([0, 1, 10, 11]))


@st.composite
def tables(draw: st.DrawFn) -> tuple[dict[tuple[str, ...], int], list[list[str]]]:
    ndims = draw(st.integers(0, 3))
    domains = [
        draw(st.lists(st.sampled_from(VALUES), max_size=6, unique=True)) for _ in range(ndims)
    ]
    # Keys may name a value its domain lacks ("z"): the table then lists it too.
    keys = st.tuples(*(st.sampled_from([*d, "z"]) for d in domains))
    counts = draw(st.dictionaries(keys, COUNTS, max_size=60))
    return counts, domains


@settings(max_examples=400, deadline=None)
@given(table=tables(), k=st.sampled_from([2, 3, 5, 11]))
def test_flat_suppression_publishes_what_the_reference_publishes(
    table: tuple[dict[tuple[str, ...], int], list[list[str]]], k: int
) -> None:
    counts, domains = table
    fast = disclosure.protect_table(counts, domains, k)
    reference = reference_disclosure.protect_table(counts, domains, k)
    assert list(fast.items()) == list(reference.items())


def test_flat_suppression_equals_the_reference_on_a_crowded_sparse_table() -> None:
    domains = [list("abcdef"), list("ghijkl"), list("mnopqrstuv")]
    counts = {
        (s, p, f): (i * 7919) % 23
        for i, (s, p, f) in enumerate(
            (s, p, f) for s in domains[0] for p in domains[1] for f in domains[2]
        )
        if i % 3
    }
    fast = disclosure.protect_table(counts, domains, 11)
    reference = reference_disclosure.protect_table(counts, domains, 11)
    assert list(fast.items()) == list(reference.items())
    assert any(v is None for v in fast.values())
    assert any(v is not None for v in fast.values())
