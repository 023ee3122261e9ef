"""When the report projection catches up after a wake-up: soon after a quiet spell, once per
busy interval while commits keep coming."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.reports.projection import (
    BUSY_INTERVAL_SECONDS,
    SETTLE_SECONDS,
    pause_before_catch_up,
)


def test_after_a_quiet_spell_the_first_commit_is_caught_up_after_the_settle_pause() -> None:
    assert pause_before_catch_up(60.0, SETTLE_SECONDS, BUSY_INTERVAL_SECONDS) == SETTLE_SECONDS


def test_while_commits_keep_coming_catch_ups_begin_one_busy_interval_apart() -> None:
    # Woken 0.1 s after a catch-up began: the next one begins 1.0 s after that one.
    pause = pause_before_catch_up(0.1, SETTLE_SECONDS, BUSY_INTERVAL_SECONDS)
    assert 0.1 + pause == pytest.approx(BUSY_INTERVAL_SECONDS)


@given(
    since=st.floats(0, 100),
    settle=st.floats(0, 5),
    busy=st.floats(0, 5),
)
def test_a_catch_up_never_comes_sooner_than_either_rule_allows(
    since: float, settle: float, busy: float
) -> None:
    pause = pause_before_catch_up(since, settle, busy)

    assert pause >= settle  # the burst gathers
    assert since + pause >= busy - 1e-9  # at most one catch-up per busy interval
    # and not later than both require
    assert pause == settle or since + pause == pytest.approx(busy)
