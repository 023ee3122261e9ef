"""The report row's one-pass fold gives the figures of the domain's fold for every history.

``report_row`` keeps the facts of the state that reports read in its own accumulators and
hands them to the domain's functions; ``fold`` stays the reference for each figure.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given

from service.domain import return_case as rc
from service.domain.errors import InvalidEventSequence
from service.domain.work import scheduled_follow_ups
from service.reports.model import (
    FOLLOW_UP_MILESTONES,
    NOT_CLOSED,
    REPORT_FOLLOW_UP_SCHEDULE,
    report_row,
)
from tests.unit.test_case_row_properties import received, recorded
from tests.unit.test_return_case_properties import SETTINGS, histories, run


def assert_figures_follow_the_fold(events: Sequence[rc.Event]) -> None:
    stream = recorded(events)
    for count in range(1, len(stream) + 1):
        state = rc.fold(events[:count])
        assert state is not None
        row = report_row(stream[:count])
        on_time = {
            c.months_after_departure: c.done_on_time
            for c in scheduled_follow_ups(state, REPORT_FOLLOW_UP_SCHEDULE)
        }
        assert row["phase"] == state.phase.value
        assert row["closing_reason"] == (
            state.closure.reason.value if state.closure else NOT_CLOSED
        )
        assert row["emergency_departure"] == state.emergency_departure
        assert row["plan_agreed_within_month"] == rc.agreed_within_due(state)
        for months in FOLLOW_UP_MILESTONES:
            assert row[f"follow_up_{months}_months"] == on_time.get(months, False)


@SETTINGS
@given(histories)
def test_report_figures_equal_the_domain_fold_after_every_event(commands: list[Any]) -> None:
    events = run(commands).events
    if events:
        assert_figures_follow_the_fold(events)


@SETTINGS
@given(received, histories)
def test_report_figures_of_a_case_received_by_transfer_equal_the_domain_fold(
    opening: rc.ReturnCaseReceivedByTransfer, commands: list[Any]
) -> None:
    later = [e for e in run(commands).events if not isinstance(e, rc.ReturnCaseOpened)]
    assert_figures_follow_the_fold([opening, *later])


@SETTINGS
@given(histories)
def test_a_stream_the_decider_could_not_have_written_is_refused(commands: list[Any]) -> None:
    events = run(commands).events
    if not events:
        return
    other_case = dataclasses.replace(events[-1], case_id=uuid.UUID(int=0xBAD))
    with pytest.raises(InvalidEventSequence):
        report_row(recorded([*events, other_case]))
    with pytest.raises(InvalidEventSequence):
        report_row(recorded([*events, events[0]]))
