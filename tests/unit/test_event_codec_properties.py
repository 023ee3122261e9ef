"""Every event the decider writes reads back from its stored JSON as the same event.

The registry decodes through a builder written once per event class; this checks it against
the events themselves for every generated history, through the JSON text the log stores
(and through the bulk readers' form, payload and personal part as one text and the metadata
field by field, and the report projection's form without metadata, times and personal part).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any, ClassVar

import pytest
from hypothesis import given

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.events.bulk_read import JSON_TEXT_COLUMNS, LOGGED_COLUMNS, _folded, logged, recorded
from service.events.store import COLUMNS, EventStore
from service.events.types import METADATA_FIELDS, EventRegistry
from tests.unit.test_case_row_properties import received
from tests.unit.test_return_case_properties import SETTINGS, histories, run

REGISTRY = EventRegistry(rc.EVENT_TYPES)
STORE = EventStore(REGISTRY)
AT = dt.datetime(2024, 5, 1, 9, tzinfo=dt.UTC)
META = {"actor": "w", "organisation": "o", "role": "caseworker", "request_id": "r",
        "correlation_id": "r"}  # fmt: skip
# The metadata as a bulk reader selects it, one column per field (absent ones NULL).
META_FIELDS = tuple(META.get(name) for name in METADATA_FIELDS)


def assert_round_trips(events: list[Any]) -> None:
    for version, event in enumerate(events, start=1):
        kind, schema, payload, personal = REGISTRY.encode(event)
        stored_payload = json.loads(json.dumps(payload))
        stored_personal = None if personal is None else json.loads(json.dumps(personal))
        assert REGISTRY.decode(kind, schema, stored_payload, stored_personal) == event
        row = (version, uuid.UUID(int=1), event.case_id, "ReturnCase", version, kind, schema,
               json.dumps([payload, personal]), *META_FIELDS, AT, AT, version)  # fmt: skip
        read = recorded(STORE, row)
        assert read.event == event
        # The same event as the store reads it from its own columns (three JSON values).
        stored = (*row[:7], stored_payload, stored_personal, META, AT, AT, version)
        assert read == STORE.recorded(stored)
        assert read.metadata == STORE.recorded(stored).metadata
        # Without metadata, times and personal part: the same place, the event as sealed.
        slim = logged(STORE, (*row[:7], json.dumps(payload), version))
        place = ("global_position", "tenant_id", "stream_id", "stream_type", "version",
                 "event_type", "transaction_id")  # fmt: skip
        assert [getattr(slim, n) for n in place] == [getattr(read, n) for n in place]
        assert slim.event == dataclasses.replace(
            event, **dict.fromkeys(type(event).personal_fields)
        )


@SETTINGS
@given(histories)
def test_every_decided_event_reads_back_from_its_stored_json(commands: list[Any]) -> None:
    assert_round_trips(run(commands).events)


@given(received)
def test_a_case_received_by_transfer_reads_back_from_its_stored_json(
    opened: rc.ReturnCaseReceivedByTransfer,
) -> None:
    assert_round_trips([opened])


def test_the_bulk_columns_are_the_stores_with_one_json_text_and_the_metadata_by_field() -> None:
    store = [c.strip() for c in COLUMNS.split(",")]
    joined = JSON_TEXT_COLUMNS.replace("(payload, personal)", "(payload|personal)")
    bulk = [c.strip() for c in joined.split(",")]
    at = store.index("payload")
    fields = len(METADATA_FIELDS)
    assert bulk[:at] == store[:at]
    assert bulk[at] == "json_build_array(payload|personal)::text"
    assert bulk[at + 1 : at + 1 + fields] == [f"metadata->>'{n}'" for n in METADATA_FIELDS]
    assert bulk[at + 1 + fields :] == store[at + 3 :]


def test_the_logged_columns_are_the_stores_without_metadata_times_and_personal_part() -> None:
    store = [c.strip() for c in COLUMNS.split(",")]
    logged_columns = [c.strip() for c in LOGGED_COLUMNS.split(",")]
    kept = [c for c in store if c not in ("personal", "metadata", "occurred_at", "recorded_at")]
    assert logged_columns == [c.replace("payload", "payload::text") for c in kept]


def test_store_columns_without_the_json_parts_side_by_side_are_refused() -> None:
    with pytest.raises(ValueError, match="side by side"):
        _folded("global_position, payload, personal, version, metadata")


@dataclasses.dataclass(frozen=True, slots=True)
class _Checked:
    """An event class that checks itself after ``__init__``: decoding must run the check."""

    event_type: ClassVar[str] = "Checked"
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[frozenset[str]] = frozenset()
    count: int

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError("a count is never negative")


def test_an_event_class_that_checks_itself_is_built_through_its_init() -> None:
    registry = EventRegistry([_Checked])
    assert registry.decode("Checked", 1, {"count": 2}, None) == _Checked(2)
    with pytest.raises(ValueError, match="never negative"):
        registry.decode("Checked", 1, {"count": -1}, None)


def test_a_bulk_row_whose_json_does_not_decode_is_refused_as_unreadable() -> None:
    row = (1, uuid.UUID(int=1), uuid.UUID(int=2), "ReturnCase", 1, "ReturnCaseOpened", 1,
           "}not json", *META_FIELDS, AT, AT, 1)  # fmt: skip
    with pytest.raises(ValueError, match="does not decode"):
        recorded(STORE, row)
    with pytest.raises(ValueError, match="does not decode"):
        logged(STORE, (*row[:7], "}not json", 1))


@pytest.mark.parametrize("missing", ["actor", "organisation", "role", "request_id"])
def test_a_bulk_row_whose_metadata_lacks_a_required_field_is_refused(missing: str) -> None:
    event = rc.RiskAssessed(uuid.UUID(int=2), dt.date(2025, 6, 2), v.RiskLevel.LOW, (), None)
    kind, schema, payload, personal = REGISTRY.encode(event)
    fields = tuple(None if name == missing else META.get(name) for name in METADATA_FIELDS)
    row = (1, uuid.UUID(int=1), event.case_id, "ReturnCase", 1, kind, schema,
           json.dumps([payload, personal]), *fields, AT, AT, 1)  # fmt: skip
    with pytest.raises(ValueError, match="lacks a required field"):
        recorded(STORE, row)
    # As the store refuses such metadata from its own column.
    lacking = {k: v for k, v in META.items() if k != missing}
    with pytest.raises(TypeError):
        STORE.recorded((*row[:7], payload, personal, lacking, AT, AT, 1))
