"""Input objects built by ``service.schema.inputs`` equal strawberry's own conversion."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strawberry.relay.types import GlobalID
from strawberry.types.arguments import convert_argument
from strawberry.types.base import (
    StrawberryList,
    StrawberryObjectDefinition,
    StrawberryOptional,
    StrawberryType,
    has_object_definition,
)

from service.schema import build_schema
from service.schema.inputs import compile_inputs

SCHEMA = build_schema()
INPUTS = sorted(
    (
        c.definition
        for c in SCHEMA.schema_converter.type_map.values()
        if isinstance(c.definition, StrawberryObjectDefinition) and c.definition.is_input
    ),
    key=lambda d: d.name,
)
LEAVES = st.one_of(st.none(), st.integers(), st.text(max_size=3), st.sampled_from([True, 1.5]))


def _values(type_: StrawberryType | type) -> st.SearchStrategy[Any]:
    """Values graphql-core could hand over for ``type_``: keyed by GraphQL names, leaves as
    they are (both conversions pass a leaf on untouched, so any value stands for one)."""
    if isinstance(type_, StrawberryOptional):
        return st.one_of(st.none(), _values(type_.of_type))
    if isinstance(type_, StrawberryList):
        return st.lists(_values(type_.of_type), max_size=3)
    if has_object_definition(type_) and type_.__strawberry_definition__.is_input:
        definition = type_.__strawberry_definition__
        name = SCHEMA.config.name_converter.from_field
        return st.fixed_dictionaries(
            {},
            optional={
                name(f): st.deferred(
                    lambda f=f: _values(f.resolve_type(type_definition=definition))
                )
                for f in definition.fields
            },
        )
    return LEAVES


@contextlib.contextmanager
def strawberry_conversion() -> Iterator[None]:
    """Strawberry's own conversion for every input type, for the duration."""
    hooks = {d: d.from_input for d in INPUTS}
    try:
        for definition in INPUTS:
            definition.from_input = None
        yield
    finally:
        for definition, hook in hooks.items():
            definition.from_input = hook


def _convert(value: Any, cls: type) -> Any:
    return convert_argument(value, cls, SCHEMA.schema_converter.scalar_registry, SCHEMA.config)


def _lists_of(value: Any) -> Iterator[int]:
    """Identities of every list in a converted value."""
    if isinstance(value, list):
        yield id(value)
        for item in value:
            yield from _lists_of(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _lists_of(getattr(value, field.name))


def _lists_in(value: Any) -> Iterator[int]:
    """Identities of every list in a value as graphql-core hands it over."""
    if isinstance(value, list):
        yield id(value)
        for item in value:
            yield from _lists_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _lists_in(item)


def test_every_input_type_of_the_schema_is_built_by_the_compiled_hook() -> None:
    assert INPUTS
    assert all(d.from_input is not None for d in INPUTS)


@pytest.mark.parametrize("definition", INPUTS, ids=lambda d: d.name)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_compiled_hook_builds_what_strawberry_builds(
    definition: StrawberryObjectDefinition, data: st.DataObject
) -> None:
    value = data.draw(_values(definition.origin))
    ours = _convert(value, definition.origin)
    with strawberry_conversion():
        theirs = _convert(value, definition.origin)
    assert type(ours) is definition.origin
    assert ours == theirs
    assert not set(_lists_of(ours)) & set(_lists_in(value))  # lists are copied, as theirs


@strawberry.input
class _Node:
    label: str
    children: list[_Node] | None = None
    tag: strawberry.Maybe[str]


@strawberry.input
class _Relay:
    node: GlobalID


@strawberry.input
class _Tree:
    label: str
    children: list[_Tree] | None = None


@strawberry.type
class _Query:
    @strawberry.field
    def nodes(self, node: _Node, relay: _Relay) -> int:
        return 0

    @strawberry.field
    def trees(self, tree: _Tree) -> int:
        return 0


def test_types_it_cannot_build_keep_strawberrys_conversion_and_recursive_ones_are_built() -> None:
    schema = strawberry.Schema(query=_Query)
    assert compile_inputs(schema) == 1
    tree = {"label": "a", "children": [{"label": "b", "children": None}, {"label": "c"}]}
    built = convert_argument(tree, _Tree, schema.schema_converter.scalar_registry, schema.config)
    assert built == _Tree(label="a", children=[_Tree(label="b"), _Tree(label="c")])
    assert _Node.__strawberry_definition__.from_input is None  # type: ignore[attr-defined]
    assert _Relay.__strawberry_definition__.from_input is None  # type: ignore[attr-defined]
