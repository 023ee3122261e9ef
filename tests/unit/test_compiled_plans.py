"""The compiled paths' plan caches (``service.schema.compiled`` for reads,
``service.schema.compiled_commands`` for mutations) are keyed by the schema itself: while a
plan is cached its schema lives, so a schema made later (with other validation rules, as
production's) can never take its place in the cache by reusing its address."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from typing import Any

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, parse

from service.schema import build_schema, compiled, compiled_commands
from service.schema.guards import Prepared

READ = "{ returnCases(first: 5) { edges { node { id phase } } } }"
COMMAND = 'mutation { closeReturnCase(input: {caseId: "x", expectedVersion: 1, reason: WITHDREW, closedOn: "2026-01-01"}) { version } }'  # noqa: E501


def _prepared(query: str) -> Prepared:
    document = parse(query)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return Prepared(query, document, operation)


def _read_plan(schema: GraphQLSchema) -> Any:
    return compiled.plan(schema, (), _prepared(READ), {})


def _command_plan(schema: GraphQLSchema) -> Any:
    return compiled_commands.plan(schema, (), _prepared(COMMAND))


@pytest.mark.parametrize("planned", [_read_plan, _command_plan])
def test_a_cached_plan_keeps_its_schema(planned: Callable[[GraphQLSchema], Any]) -> None:
    built = build_schema()._schema
    # A schema object of its own (the built one is kept by strawberry): only the cache holds it.
    schema = GraphQLSchema(
        query=built.query_type, mutation=built.mutation_type, subscription=built.subscription_type
    )
    alive = weakref.ref(schema)
    assert planned(schema) is not None
    del schema
    gc.collect()
    assert alive() is not None
