"""Every element of the GraphQL schema explains itself: GraphiQL's documentation pane is the
manual for case workers and integrators, so no type, field, argument, input field, enum value,
query, mutation or subscription may go without a description."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
)
from graphql.type import introspection_types, specified_scalar_types

from service.schema import build_schema


def undescribed(schema: GraphQLSchema) -> list[str]:
    """The coordinates (``Type``, ``Type.field``, ``Type.field(arg:)``, ``Enum.VALUE``) of
    every schema element without a description; built-in scalars and introspection excepted."""
    missing: list[str] = []

    def check(coordinate: str, description: str | None) -> None:
        if not (description and description.strip()):
            missing.append(coordinate)

    for name, named in sorted(schema.type_map.items()):
        if name in introspection_types or name in specified_scalar_types:
            continue
        check(name, named.description)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                check(f"{name}.{field_name}", field.description)
                for arg_name, arg in field.args.items():
                    check(f"{name}.{field_name}({arg_name}:)", arg.description)
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                check(f"{name}.{field_name}", input_field.description)
        elif isinstance(named, GraphQLEnumType):
            for value_name, value in named.values.items():
                check(f"{name}.{value_name}", value.description)
        elif not isinstance(named, GraphQLScalarType | GraphQLUnionType):
            missing.append(f"{name} (unexpected kind {type(named).__name__})")
    return missing


def test_every_schema_element_has_a_description() -> None:
    missing = undescribed(build_schema()._schema)
    assert not missing, f"{len(missing)} schema elements have no description:\n" + "\n".join(
        missing
    )


def test_the_check_names_an_element_without_a_description() -> None:
    from graphql import build_schema as parse_sdl

    schema = parse_sdl(
        '"""The root."""\ntype Query {\n  """Described."""\n  a(x: Int): Int\n  b: Int\n}'
    )
    assert undescribed(schema) == ["Query.a(x:)", "Query.b"]
