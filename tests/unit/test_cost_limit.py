"""The cost limit runs on the parsed document before validation, in linear time."""

from __future__ import annotations

import pytest
from graphql import OperationType, get_introspection_query
from hypothesis import given, settings
from hypothesis import strategies as st

from service.schema import build_schema
from service.schema.cost import MAX_SAME_NAME, measure
from service.schema.guards import (
    CACHE_BUDGET_CHARS,
    RequestRefused,
    cached_documents,
    parse_document,
    prepare,
)

SCHEMA = build_schema()._schema
LIST = "returnCases { edges { node { id } } }"


def _rule(query: str) -> str | None:
    try:
        prepare(SCHEMA, query, None, None, allowed=(OperationType.QUERY,), transport="post")
    except RequestRefused as refused:
        return getattr(refused.errors[0].original_error, "rule", None)
    return None


def test_hundreds_of_copies_of_a_list_field_are_refused_before_validation() -> None:
    assert _rule("{ " + " ".join([LIST] * 100) + " }") == "REPEATED_FIELD_LIMIT"
    assert _rule("{ " + " ".join([LIST] * 290) + " }") == "FIELD_LIMIT"


def test_hundreds_of_aliased_copies_are_refused_before_validation() -> None:
    query = "{ " + " ".join(f"a{i}: {LIST}" for i in range(240)) + " }"
    assert _rule(query) == "ALIAS_LIMIT"


def test_repetitions_inside_repeated_fields_multiply() -> None:
    inner = " ".join(["organisation { slug }"] * 4)
    assert _rule("{ " + f"me {{ {inner} }} " * 4 + " }") == "REPEATED_FIELD_LIMIT"
    assert _rule("{ " + f"me {{ {inner} }} " * 2 + " }") is None


def test_fragments_that_double_each_other_are_refused_without_expanding_them() -> None:
    query = "fragment F0 on Me { subject } " + "".join(
        f"fragment F{i} on Me {{ ...F{i - 1} ...F{i - 1} }} " for i in range(1, 60)
    ) + "{ me { ...F59 } }"  # fmt: skip
    assert _rule(query) in ("REPEATED_FIELD_LIMIT", "FIELD_LIMIT")


def test_lists_multiply_the_cost_of_what_they_hold() -> None:
    entries = "timeline { version eventType occurredAt actor actorRole }"
    one = measure(
        parse_document(f"{{ returnCases(first: 1) {{ edges {{ node {{ {entries} }} }} }} }}"),
        SCHEMA,
    )
    page = f"returnCases(first: 100) {{ edges {{ node {{ {entries} }} }} }}"
    hundred = measure(parse_document(page.join("{}")), SCHEMA)
    assert (one.fields, one.cost) == (9, 1 + (1 + 1 + 1 + 10 * 5))
    assert (hundred.fields, hundred.cost) == (9, 1 + 100 * (1 + 1 + 1 + 10 * 5))
    assert _rule("{ " + " ".join(f"a{i}: {page}" for i in range(20)) + " }") == "COST_LIMIT"


def test_the_standard_introspection_query_passes_the_cost_limit() -> None:
    query = get_introspection_query(
        descriptions=True, specified_by_url=True, directive_is_repeatable=True,
        schema_description=True, input_value_deprecation=True,
    )  # fmt: skip
    assert _rule(query) is None
    figures = measure(parse_document(query), SCHEMA)
    assert figures.cost == figures.fields  # one point per field, whatever its lists


@pytest.mark.parametrize(
    ("query", "rule"),
    [
        ("{ }", "EMPTY_SELECTION"),
        ("{ me { } }", "EMPTY_SELECTION"),
        ("[" * 100_000, "SYNTAX"),
        ("{a" * 300 + "}" * 300, "NESTED_TOO_DEEPLY"),
        (
            "".join(f"fragment F{i} on Query {{ ...F{i + 1} }} " for i in range(300))
            + "fragment F300 on Query { me { subject } } { ...F0 }",
            "NESTED_TOO_DEEPLY",
        ),
        ("query A { me { subject } } query B { me { subject } }", "OPERATION_NAME_REQUIRED"),
        ("mutation { withdrawConsent(input: {}) { __typename } }", "OPERATION_NOT_ALLOWED"),
    ],
)
def test_malformed_documents_are_refused_with_a_rule(query: str, rule: str) -> None:
    assert _rule(query) == rule


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=3 * MAX_SAME_NAME))
def test_copies_of_a_field_are_refused_exactly_above_the_repetition_limit(copies: int) -> None:
    query = "{ " + " ".join(["me { subject roles }"] * copies) + " }"
    if copies <= MAX_SAME_NAME:
        assert _rule(query) is None
        assert measure(parse_document(query), SCHEMA).fields == 3 * copies
    else:
        assert _rule(query) == "REPEATED_FIELD_LIMIT"


def test_large_documents_do_not_enter_the_parse_cache() -> None:
    before = cached_documents()
    for i in range(80):
        parse_document(f"# {i}\n" + "#" + "x" * 50_000 + "\n{ me { subject } }")
    assert cached_documents() == before
    assert CACHE_BUDGET_CHARS < 80 * 50_000


def test_first_given_as_a_variable_counts_with_the_requests_value() -> None:
    document = parse_document(
        "query($first: Int!) { returnCases(first: $first) { edges { node { id } } } }"
    )
    small = measure(document, SCHEMA, variables={"first": 2}).cost
    unknown = measure(document, SCHEMA).cost
    assert small < unknown
    assert measure(document, SCHEMA, variables={"first": True}).cost == unknown
    assert measure(document, SCHEMA, variables={"first": 10**9}).cost == unknown


def test_a_document_whose_cost_reads_a_variable_is_measured_again_for_each_request() -> None:
    entries = "timeline { version eventType occurredAt actor actorRole }"
    nodes = " ".join(f"t{i}: {entries}" for i in range(20))
    query = f"query($n: Int!) {{ returnCases(first: $n) {{ edges {{ node {{ {nodes} }} }} }} }}"

    def rule(first: int) -> str | None:
        try:
            prepare(
                SCHEMA, query, {"n": first}, None, allowed=(OperationType.QUERY,), transport="post"
            )
        except RequestRefused as refused:
            return getattr(refused.errors[0].original_error, "rule", None)
        return None

    assert rule(1) is None
    assert rule(100) == "COST_LIMIT"  # not the verdict of the first request
    assert rule(1) is None


def test_a_document_that_passed_without_reading_variables_passes_again() -> None:
    query = "{ returnCases(first: 3) { edges { node { id } } } }"
    assert _rule(query) is None
    assert _rule(query) is None
    assert _rule("{ " + " ".join([LIST] * 100) + " }") == "REPEATED_FIELD_LIMIT"
    assert _rule("{ " + " ".join([LIST] * 100) + " }") == "REPEATED_FIELD_LIMIT"  # refusals stay
