"""The stream cache keeps committed beginnings of streams by (tenant, stream), the longest one
seen, the most recently used ones only, and never an event holding a personal value."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from service.domain import vocabulary as v
from service.domain.return_case import ReturnConversationRecorded
from service.events.stream_cache import StreamCache
from service.events.types import Metadata, RecordedEvent

TENANT, OTHER = uuid.UUID(int=1), uuid.UUID(int=2)
AT = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
META = Metadata("worker", "moviera", "caseworker", "request", "request")


def stream(stream_id: uuid.UUID, versions: int, notes: str | None = None) -> list[RecordedEvent]:
    return [
        RecordedEvent(
            global_position=n,
            tenant_id=TENANT,
            stream_id=stream_id,
            stream_type="ReturnCase",
            version=n,
            event_type="ReturnConversationRecorded",
            schema_version=1,
            event=ReturnConversationRecorded(
                stream_id, dt.date(2026, 3, n), v.ReturnWish.UNDECIDED, notes
            ),
            metadata=META,
            occurred_at=AT,
            recorded_at=AT,
            transaction_id=n,
        )
        for n in range(1, versions + 1)
    ]


def test_a_stream_is_kept_for_its_own_tenant_only() -> None:
    cache, case = StreamCache(), uuid.uuid4()
    cache.put(TENANT, case, stream(case, 3))

    assert [e.version for e in cache.get(TENANT, case)] == [1, 2, 3]
    assert cache.get(OTHER, case) == ()
    assert cache.get(TENANT, uuid.uuid4()) == ()


def test_a_shorter_beginning_reported_later_does_not_replace_a_longer_one() -> None:
    cache, case = StreamCache(), uuid.uuid4()
    cache.put(TENANT, case, stream(case, 4))
    cache.put(TENANT, case, stream(case, 2))  # a commit that reported after a later one
    assert len(cache.get(TENANT, case)) == 4

    cache.put(TENANT, case, stream(case, 5))
    assert len(cache.get(TENANT, case)) == 5


def test_the_least_recently_used_stream_is_dropped_first() -> None:
    cache = StreamCache(size=2)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    cache.put(TENANT, first, stream(first, 1))
    cache.put(TENANT, second, stream(second, 1))
    assert cache.get(TENANT, first)  # used: now the most recent

    cache.put(TENANT, third, stream(third, 1))

    assert len(cache) == 2
    assert cache.get(TENANT, second) == ()
    assert cache.get(TENANT, first)
    assert cache.get(TENANT, third)


def test_an_event_holding_a_personal_value_is_never_kept() -> None:
    cache, case = StreamCache(), uuid.uuid4()
    cache.put(TENANT, case, stream(case, 2))

    with pytest.raises(ValueError, match="no personal value"):
        cache.put(TENANT, case, [*stream(case, 2), *stream(case, 3, "her brother's name")[2:]])
    assert len(cache.get(TENANT, case)) == 2
