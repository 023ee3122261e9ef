"""Text PostgreSQL cannot store is recognised whatever else the text holds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.textcheck import find_unstorable, unstorable, unstorable_rule

texts = st.lists(
    st.one_of(
        st.characters(),
        st.integers(0xD800, 0xDFFF).map(chr),  # lone surrogates
        st.just("\x00"),
    )
).map("".join)


def reference(text: str) -> str | None:
    if "\x00" in text:
        return "NUL_CHARACTER"
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        return "INVALID_CHARACTER"
    return None


@given(texts)
def test_the_rule_is_the_first_problem_the_definition_finds(text: str) -> None:
    assert unstorable_rule(text) == reference(text)
    assert unstorable(text) == (reference(text) is not None)


def test_a_surrogate_deep_in_an_input_is_named_with_its_field() -> None:
    value = {"input": {"notes": ["fine", "caf\u00e9 \ud83d"], "name": "ok"}}

    assert find_unstorable(value) == ("INVALID_CHARACTER", "notes")
    assert find_unstorable({"input": {"name": "Ad\u00e9 \U0001f600"}}) is None
