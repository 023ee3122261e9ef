"""The read-model row's one-pass fold agrees with the domain's fold for every history.

``case_row`` (used by the live projection and the bulk rebuild alike) keeps the facts that
set the phase in its own accumulators instead of folding the domain state; the domain's
``fold`` stays the reference. Histories come from the return case's property strategy.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.errors import InvalidEventSequence
from service.domain.return_case import (
    Event,
    ReturnCaseOpened,
    ReturnCaseReceivedByTransfer,
    ReturnConversationRecorded,
    fold,
)
from service.domain.vocabulary import ExploitationForm, Gender, ReturnWish
from service.events.projections import timeline
from service.events.projections.return_cases import case_row
from service.events.types import Metadata, RecordedEvent
from tests.unit.test_return_case_properties import CASE_ID, INTAKE, SETTINGS, histories, run

TENANT = uuid.UUID(int=0x7E)
AT = dt.datetime(2024, 3, 1, 9, tzinfo=dt.UTC)
META = Metadata("worker", "jade-zorggroep", "caseworker", "request", "request")


def recorded(events: Sequence[Event]) -> list[RecordedEvent]:
    return [
        RecordedEvent(
            global_position=version,
            tenant_id=TENANT,
            stream_id=CASE_ID,
            stream_type="ReturnCase",
            version=version,
            event_type=type(event).event_type,  # type: ignore[attr-defined]
            schema_version=1,
            event=event,
            metadata=META,
            occurred_at=AT,
            recorded_at=AT,
            transaction_id=version,
        )
        for version, event in enumerate(events, start=1)
    ]


def assert_rows_follow_the_fold(events: Sequence[Event]) -> None:
    stream = recorded(events)
    for count in range(1, len(stream) + 1):
        state = fold(events[:count])
        assert state is not None
        row: dict[str, Any] = case_row(stream[:count])
        assert row["phase"] == state.phase.value
        assert row["version"] == state.version == count
        assert (row["closed_on"] is not None) == state.closed
        assert (row["departed_on"] is not None) == state.departed
        assert row["follow_up_count"] == state.follow_ups
        assert row["caseworker"] == state.caseworker
        assert row["personal_data_erased"] == state.personal_data_erased


@SETTINGS
@given(histories)
def test_case_row_phase_equals_the_domain_fold_after_every_event(commands: list[Any]) -> None:
    result = run(commands)
    if result.events:
        assert_rows_follow_the_fold(result.events)


received = st.builds(
    ReturnCaseReceivedByTransfer,
    case_id=st.just(CASE_ID),
    offer_id=st.just(uuid.UUID(int=0xF1)),
    from_organisation=st.just("moviera"),
    intake_date=st.just(INTAKE),
    first_intake_date=st.just(INTAKE - dt.timedelta(days=40)),
    pseudonym=st.just("Client T"),
    gender=st.sampled_from(Gender),
    birth_year=st.none() | st.integers(1960, 2008),
    nationality=st.just("NG"),
    country_of_origin=st.just("NG"),
    languages=st.just(("en",)),
    exploitation_forms=st.just((ExploitationForm.FORCED_LABOUR,)),
    return_conversations=st.integers(0, 3),
    latest_wish=st.none() | st.sampled_from(ReturnWish),
    departure_obligation=st.booleans(),
    residence_status=st.none(),
    risk_level=st.none(),
    full_name=st.none(),
    date_of_birth=st.none(),
)


@SETTINGS
@given(received, histories)
def test_a_case_received_by_transfer_folds_to_the_same_phase(
    opening: ReturnCaseReceivedByTransfer, commands: list[Any]
) -> None:
    # The later events of a generated history, continued from a transferred opening.
    later = [e for e in run(commands).events if not isinstance(e, ReturnCaseOpened)]
    assert_rows_follow_the_fold([opening, *later])


def test_a_stream_that_does_not_open_a_case_is_refused() -> None:
    stream = recorded([ReturnConversationRecorded(CASE_ID, INTAKE, ReturnWish.UNDECIDED, None)])

    with pytest.raises(InvalidEventSequence):
        case_row(stream)


@SETTINGS
@given(histories)
def test_timeline_columns_hold_the_entries_of_every_event(commands: list[Any]) -> None:
    stream = recorded(run(commands).events)

    columns = timeline.entry_columns(stream)

    assert columns == [[timeline.entry(e)[c] for e in stream] for c in timeline.COLUMNS]
