"""Input values built by code made once per input type.

Strawberry converts an argument's value anew on every request: for each field of each input
object it resolves the field's annotation, converts its name and asks what kind of type it
is (a tenth of a mutation's CPU in the command bench). ``compile_inputs`` gives every input
type of a schema a ``from_input`` hook, strawberry's extension point for "input types that
build their own value", made once from the type's definition: the fields' GraphQL names,
their defaults and one converter per field, chosen by the field's type when the schema is
built.

The result is what strawberry's own conversion gives (``tests/unit/test_schema_inputs.py``
compares the two on generated values of every input type):

* leaves (scalars, enums) are passed on as graphql-core coerced them;
* ``None`` (and strawberry's ``UNSET``) stays as it is, whatever the type;
* a list is copied (graphql-core hands every request that omits a list the same default
  object), its items converted when they are input objects;
* an input object becomes its class, built with keyword arguments: ``None`` for the fields
  without a default that the value leaves out, the converted values of those it has.

A type this module does not know how to build (``Maybe`` fields, relay ``GlobalID``, which
strawberry decodes here) keeps strawberry's conversion, and so does every type holding one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

from strawberry import Schema
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
    StrawberryType,
    has_object_definition,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

Convert = Callable[[Any], Any]


class _Unsupported(Exception):
    """A type this module leaves to strawberry."""


def _leaf(type_: object, registry: Mapping[object, Any]) -> bool:
    if isinstance(type_, LazyType):
        type_ = type_.resolve_type()
    if type_ is GlobalID:
        raise _Unsupported
    return (
        is_scalar(type_, registry)
        or isinstance(type_, StrawberryEnumDefinition)
        or has_enum_definition(type_)
    )


def _same(value: Any) -> Any:
    return value


def _passes(value: Any) -> bool:
    """Values strawberry hands on unconverted whatever the type: null and its ``UNSET``."""
    return value is None or value is UNSET


def _copied(value: Any) -> Any:
    return value if _passes(value) else list(value)


class _Compiler:
    """Builders of a schema's input objects, one per class, made on first need."""

    def __init__(self, schema: Schema) -> None:
        self.registry: Mapping[object, Any] = schema.schema_converter.scalar_registry
        self.name_of = schema.config.name_converter.from_field
        self.builders: dict[type, Convert] = {}
        self.refused: set[type] = set()

    def converter(self, type_: StrawberryType | type) -> Convert:
        if isinstance(type_, StrawberryMaybe):
            raise _Unsupported
        if isinstance(type_, StrawberryOptional):
            return self.converter(type_.of_type)  # None is None either way
        if isinstance(type_, LazyType):
            return self.converter(type_.resolve_type())
        if isinstance(type_, StrawberryList):
            item = type_.of_type
            bare = item.of_type if isinstance(item, StrawberryOptional) else item
            if not isinstance(item, StrawberryMaybe) and _leaf(bare, self.registry):
                return _copied
            convert = self.converter(item)
            return lambda value: value if _passes(value) else [convert(x) for x in value]
        if _leaf(type_, self.registry):
            return _same
        if has_object_definition(type_) and type_.__strawberry_definition__.is_input:
            return self.builder(type_)
        raise _Unsupported

    def builder(self, cls: type) -> Convert:
        """``cls``'s builder (``None`` passes through); raises ``_Unsupported``."""
        if cls in self.refused:
            raise _Unsupported
        made = self.builders.get(cls)
        if made is not None:
            return made
        fields: list[tuple[str, str, Convert]] = []
        build_ref: list[Convert] = []

        def nested(value: Any) -> Any:  # recursion through the type itself is allowed
            return value if _passes(value) else build_ref[0](value)

        self.builders[cls] = nested
        definition: StrawberryObjectDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]
        try:
            for field in definition.fields:
                convert = self.converter(field.resolve_type(type_definition=definition))
                fields.append((self.name_of(field), field.python_name, convert))
        except _Unsupported:
            del self.builders[cls]
            self.refused.add(cls)
            raise
        absent = {
            field.python_name: None
            for field in definition.fields
            if field.default_value is MISSING and field.default_factory is MISSING
        }
        plan = tuple(fields)

        def build(value: Mapping[str, Any]) -> Any:
            kwargs = dict(absent)
            for graphql_name, python_name, convert in plan:
                if graphql_name in value:
                    kwargs[python_name] = convert(value[graphql_name])
            return cls(**kwargs)

        build_ref.append(build)
        return nested


def compile_inputs(schema: Schema) -> int:
    """Give every input type of ``schema`` that this module can build its ``from_input``;
    the number of types given one."""
    compiler = _Compiler(schema)
    given = 0
    for concrete in schema.schema_converter.type_map.values():
        definition = concrete.definition
        if not isinstance(definition, StrawberryObjectDefinition) or not definition.is_input:
            continue
        try:
            build = compiler.builder(definition.origin)
        except _Unsupported:
            continue
        definition.from_input = _hook(compiler, definition.origin, build)
        given += 1
    return given


def _hook(
    compiler: _Compiler, origin: type, build: Convert
) -> Callable[[type, Mapping[str, Any], InputContext], Any]:
    def from_input(cls: type, value: Mapping[str, Any], _context: InputContext) -> Any:
        if cls is origin:
            return build(value)
        return compiler.builder(cls)(value)  # a subclass strawberry asks for

    return from_input
