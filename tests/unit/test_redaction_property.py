"""Whatever value a caller sends, in whatever shape, graphql-core's error about it never
carries it out: checked against the real messages of the real schema, for all inputs."""

from __future__ import annotations

import json
from typing import Any

from graphql import (
    GraphQLInputObjectType,
    OperationDefinitionNode,
    get_named_type,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from hypothesis import given, settings
from hypothesis import strategies as st

from service.schema import build_schema
from service.schema.redaction import enum_value_names, public_message

SCHEMA = build_schema()._schema
ENUMS = enum_value_names(SCHEMA)
assert SCHEMA.mutation_type is not None
MUTATIONS = sorted(SCHEMA.mutation_type.fields)

secrets = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=3
).map(lambda text: "Zq" + text)


def values(secret: str) -> st.SearchStrategy[Any]:
    scalar = st.sampled_from([secret, f"2026-01-01 {secret}", secret * 3])
    return st.recursive(
        scalar,
        lambda inner: st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["fullName", "notes", "x"]), inner,
                          max_size=3),
        max_leaves=6,
    )  # fmt: skip


def _literal(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return json.dumps(value)


def _fields(mutation: str) -> list[str]:
    assert SCHEMA.mutation_type is not None
    input_type = get_named_type(SCHEMA.mutation_type.fields[mutation].args["input"].type)
    assert isinstance(input_type, GraphQLInputObjectType)
    return sorted(input_type.fields)


@settings(max_examples=300, deadline=None)
@given(st.data(), secrets)
def test_no_error_about_a_value_repeats_the_value(data: st.DataObject, secret: str) -> None:
    mutation = data.draw(st.sampled_from(MUTATIONS))
    real = _fields(mutation)
    # Real fields, unknown ones, and misspelt ones (which get "Did you mean ...?").
    field = data.draw(st.sampled_from([*real, "unknownField", *(f + "x" for f in real)]))
    value = data.draw(values(secret))
    assert SCHEMA.mutation_type is not None
    declared = str(SCHEMA.mutation_type.fields[mutation].args["input"].type)
    messages: list[str] = []
    # As a variable: coercion errors.
    document = parse(
        f"mutation($input: {declared}) {{ {mutation}(input: $input) {{ __typename }} }}"
    )
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    coerced = get_variable_values(
        SCHEMA, operation.variable_definitions or (), {"input": {field: value}}
    )
    if isinstance(coerced, list):
        messages += [e.message for e in coerced]
    # As a literal: validation errors.
    literal = _literal({field: value})
    source = f"mutation {{ {mutation}(input: {literal}) {{ __typename }} }}"
    messages += [e.message for e in validate(SCHEMA, parse(source))]
    # (A value valid where it was put gets no error: nothing to check then.)
    for message in messages:
        for suggestions in (True, False):
            for enums in (None, ENUMS):
                public = public_message(message, suggestions=suggestions, enum_values=enums)
                assert secret not in public, (message, public)
                assert secret[:6] not in public, (message, public)
