"""The append bench's judged ratio: the median of each round's ratio against its own floor.

A stall of the machine that falls on one round, on either side, must not decide the figure;
rounds that agree give the ratio their pooled rates give."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.common import Budget, judged_ratio, round_ratios


def _round(events: int, seconds: float) -> Budget:
    """A finished round that completed ``events`` in ``seconds``."""
    budget = Budget(events, seconds)
    budget.started, budget.finished = 0.0, seconds
    budget.latencies = [0.001] * events
    return budget


def test_each_round_is_divided_by_the_floor_of_the_same_round() -> None:
    store = [_round(900, 1.0), _round(400, 1.0)]
    raw = [_round(1000, 1.0), _round(500, 1.0)]
    assert round_ratios(store, raw) == pytest.approx([0.9, 0.8])


def test_a_stalled_store_round_does_not_decide_the_judged_ratio() -> None:
    raw = [_round(1000, 1.0) for _ in range(6)]
    store = [_round(850, 1.0) for _ in range(5)] + [_round(850, 1.5)]  # half a second lost
    pooled = sum(s.completed for s in store) / sum(s.elapsed for s in store) / 1000
    assert pooled < 0.8
    assert judged_ratio(store, raw) == pytest.approx(0.85)


def test_a_stalled_floor_round_does_not_raise_the_judged_ratio() -> None:
    store = [_round(700, 1.0) for _ in range(4)]
    raw = [_round(1000, 1.0) for _ in range(3)] + [_round(1000, 2.0)]
    assert judged_ratio(store, raw) == pytest.approx(0.7)


def test_a_floor_round_that_completed_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="completed nothing"):
        judged_ratio([_round(10, 1.0)], [_round(0, 1.0)])


def test_rounds_must_come_in_pairs() -> None:
    with pytest.raises(ValueError, match="longer"):
        round_ratios([_round(10, 1.0)], [_round(10, 1.0), _round(10, 1.0)])


@given(
    st.lists(st.integers(1, 5_000), min_size=1, max_size=8),
    st.floats(0.05, 3.0),
)
def test_rounds_that_agree_give_their_pooled_ratio(raw_events: list[int], share: float) -> None:
    raw = [_round(n, 1.0) for n in raw_events]
    store = [_round(n, 1.0 / share) for n in raw_events]  # every round at ``share`` of its floor
    pooled = (sum(s.completed for s in store) / sum(s.elapsed for s in store)) / (
        sum(r.completed for r in raw) / sum(r.elapsed for r in raw)
    )
    assert judged_ratio(store, raw) == pytest.approx(share)
    assert judged_ratio(store, raw) == pytest.approx(pooled)
