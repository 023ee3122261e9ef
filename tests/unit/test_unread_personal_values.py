"""A command folds its stream and projects its row without opening the sealed personal parts of
its earlier events, unless they follow an erasure.

The store reads a sealed event with its personal fields ``None`` (``EventStore.recorded``). For
every generated history without an erasure, the state folded from such events is the state
folded from the opened ones (``folds_without_personal_values``), and the read-model row
(``case_row``) is the same in every column but the personal part, which the projection then
keeps as stored: the row before the command already held it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from service.domain import vocabulary as v
from service.domain.return_case import (
    ClientPersonalDataErased,
    Event,
    ReturnCaseOpened,
    ReturnConversationRecorded,
    carries_personal_data,
    fold,
    folds_without_personal_values,
)
from service.events.projections.return_cases import SETS_PERSONAL, case_row
from tests.unit.test_case_row_properties import recorded
from tests.unit.test_return_case_properties import CASE_ID, INTAKE, SETTINGS, histories, run


def unread(event: Event) -> Event:
    """``event`` as the store reads it before opening its sealed part."""
    return dataclasses.replace(event, **dict.fromkeys(event.personal_fields))


def types(events: Sequence[Event]) -> list[str]:
    return [type(e).event_type for e in events]  # type: ignore[attr-defined]


@SETTINGS
@given(histories, st.data())
def test_a_stream_without_an_erasure_folds_the_same_unopened(
    commands: list[Any], data: st.DataObject
) -> None:
    events = run(commands).events
    if not events:
        return
    count = data.draw(st.integers(1, len(events)), label="events read unopened")
    read = [unread(e) for e in events[:count]]

    if folds_without_personal_values(types(events[:count])):
        assert fold(read) == fold(events[:count])
        assert fold([*read, *events[count:]]) == fold(events)


def test_after_an_erasure_the_fold_reads_personal_values() -> None:
    opened = ReturnCaseOpened(
        CASE_ID, INTAKE, "P-1", v.Gender.FEMALE, 1990, "NG", "NG", ("en",),
        (v.ExploitationForm.FORCED_LABOUR,), "Ada Obi", None, None,
    )  # fmt: skip
    erased = ClientPersonalDataErased(CASE_ID, INTAKE, v.ErasureReason.CLIENT_REQUEST, None)
    talk = ReturnConversationRecorded(
        CASE_ID, INTAKE + dt.timedelta(days=1), v.ReturnWish.UNDECIDED, "she talked of home"
    )
    events: list[Event] = [opened, erased, talk]
    assert carries_personal_data(talk)

    state = fold(events)
    assert state is not None
    assert not state.personal_data_erased
    assert fold([unread(e) for e in events]) != state  # unread, the note would be missed
    assert not folds_without_personal_values(types(events))


@SETTINGS
@given(histories, st.data())
def test_a_row_from_unopened_earlier_events_differs_only_in_its_kept_personal_part(
    commands: list[Any], data: st.DataObject
) -> None:
    events = run(commands).events
    if len(events) < 2:
        return
    count = data.draw(st.integers(1, len(events) - 1), label="events before the command")
    if not folds_without_personal_values(types(events[:count])):
        return
    full = case_row(recorded(events))
    mixed = case_row(recorded([*(unread(e) for e in events[:count]), *events[count:]]))

    assert {k: x for k, x in mixed.items() if k != "personal"} == {
        k: x for k, x in full.items() if k != "personal"
    }
    if any(t in SETS_PERSONAL for t in types(events[count:])):
        assert mixed["personal"] == full["personal"]  # taken from the new events
    else:  # kept as stored: the row before the command holds the same personal part
        assert case_row(recorded(events[:count]))["personal"] == full["personal"]
