"""A tenant's log shared out in parts: every stream in exactly one, whatever the bounds.

A part holds a stream as the rebuild's read decides it (``stream_id >= first`` and
``stream_id < after``, each only where the bound is given); Python orders UUIDs as PostgreSQL
does, as 128-bit numbers.
"""

from __future__ import annotations

import itertools
import uuid

from hypothesis import given
from hypothesis import strategies as st

from service.events.projections.rebuild import Part, split

TENANT = uuid.UUID(int=7)
ids = st.builds(uuid.UUID, int=st.integers(min_value=0, max_value=2**128 - 1))


def _holds(part: Part, stream_id: uuid.UUID) -> bool:
    return (part.first is None or stream_id >= part.first) and (
        part.after is None or stream_id < part.after
    )


@given(bounds=st.lists(ids, max_size=12), streams=st.lists(ids, min_size=1, max_size=40))
def test_every_stream_is_in_exactly_one_part_whatever_the_bounds(
    bounds: list[uuid.UUID], streams: list[uuid.UUID]
) -> None:
    parts = split(TENANT, bounds)

    assert all(part.tenant_id == TENANT for part in parts)
    for stream_id in streams:
        assert sum(_holds(part, stream_id) for part in parts) == 1


@given(bounds=st.lists(ids, max_size=12))
def test_parts_follow_each_other_in_stream_order_without_a_gap(bounds: list[uuid.UUID]) -> None:
    parts = split(TENANT, bounds)

    assert parts[0].first is None
    assert parts[-1].after is None
    for before, after in itertools.pairwise(parts):
        assert before.after is not None
        assert before.after == after.first
    assert len(parts) == max(1, len(set(bounds)))


def test_a_tenant_without_bounds_is_one_part_of_everything() -> None:
    assert split(TENANT, []) == [Part(TENANT)]
