"""A feed message is its operation's prefix, the shared payload and ``}``; alike prefixes are
one object, so that the fan-out tells most of them apart by identity, and the objects kept for
that stay few and small whatever ids clients choose."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from service.schema import feed


def _prefix(op_id: str) -> str:
    return json.dumps({"id": op_id, "type": "next"}, separators=(",", ":"))[:-1] + ',"payload":'


def test_alike_short_prefixes_are_one_object() -> None:
    first = feed._prefix_bytes(_prefix("1"))
    again = feed._prefix_bytes("".join([_prefix("1")]))  # an equal string, built anew
    assert again is first
    assert first == _prefix("1").encode()


def test_long_prefixes_are_not_kept() -> None:
    before = feed._shared_prefix.cache_info().currsize
    long_id = "x" * (feed._SHARED_PREFIX_CHARS + 1)
    made = feed._prefix_bytes(_prefix(long_id))
    assert made == _prefix(long_id).encode()
    assert feed._prefix_bytes(_prefix(long_id)) is not made
    assert feed._shared_prefix.cache_info().currsize == before


def test_the_cache_of_prefixes_stays_bounded() -> None:
    for n in range(1000):
        feed._prefix_bytes(_prefix(str(n)))
    assert feed._shared_prefix.cache_info().currsize <= 256


@given(st.lists(st.text(max_size=200), min_size=1, max_size=8))
def test_each_message_is_its_own_prefix_the_payload_and_a_brace(ids: list[str]) -> None:
    payload = feed._SharedPayload(b'{"data":{"caseEvents":null}}')
    for op_id in ids:  # alike and unlike, shared and not, in any order
        prefix = feed._prefix_bytes(_prefix(op_id))
        message = payload.message(prefix)
        assert json.loads(message) == {
            "id": op_id,
            "type": "next",
            "payload": {"data": {"caseEvents": None}},
        }
