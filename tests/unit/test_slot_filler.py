"""Envelopes and events built slot by slot are the instances their ``__init__`` builds."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.events.types import Metadata, RecordedEvent, SealedPersonal, slot_filler

texts = st.text(max_size=12)
metadata = st.builds(
    Metadata, texts, texts, texts, texts, texts, st.none() | texts, st.none() | texts
)


@given(metadata)
def test_metadata_read_back_is_the_metadata_written(written: Metadata) -> None:
    raw = written.to_json()
    assert Metadata.from_json(raw) == written
    assert Metadata.from_json({**raw, "written_by_a_later_version": 1}) == written


def test_metadata_without_a_required_key_is_refused() -> None:
    with pytest.raises(TypeError):
        Metadata.from_json({"actor": "worker"})


@given(
    st.integers(1, 2**40),
    st.uuids(),
    st.integers(1, 500),
    metadata,
    st.datetimes(timezones=st.just(dt.UTC)),
    st.none() | st.just(SealedPersonal({"a": 1}, {"sealed": "x"})),
)
def test_a_recorded_event_filled_slot_by_slot_equals_one_built_by_init(
    position: int,
    stream: uuid.UUID,
    version: int,
    meta: Metadata,
    at: dt.datetime,
    sealed: SealedPersonal | None,
) -> None:
    values = (position, uuid.UUID(int=7), stream, "ReturnCase", version, "X", 1, ("e", 1), meta,
              at, at, position)  # fmt: skip
    filled = slot_filler(RecordedEvent)(*values, sealed)
    built = RecordedEvent(*values, sealed)
    assert type(filled) is RecordedEvent
    assert filled == built
    assert hash(filled) == hash(RecordedEvent(*values, None))
    assert [getattr(filled, f.name) for f in dataclasses.fields(RecordedEvent)] == [
        getattr(built, f.name) for f in dataclasses.fields(RecordedEvent)
    ]
    assert slot_filler(RecordedEvent)(*values).sealed is None  # the field's default


@dataclasses.dataclass(frozen=True, slots=True)
class _Checked:
    count: int

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError("a count is never negative")


@dataclasses.dataclass(frozen=True)
class _Plain:
    count: int


def test_classes_that_check_themselves_or_have_no_slots_are_built_by_init() -> None:
    assert slot_filler(_Checked) is _Checked
    assert slot_filler(_Plain) is _Plain
