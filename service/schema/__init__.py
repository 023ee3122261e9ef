"""The GraphQL schema: queries and mutations over the return-case read models and commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import strawberry
from graphql import (
    ASTValidationRule,
    GraphQLError,
    MaxIntrospectionDepthRule,
    NoSchemaIntrospectionCustomRule,
)
from strawberry.extensions import AddValidationRules, DisableIntrospection
from strawberry.types import ExecutionContext

from service.schema import enums  # noqa: F401  (registers the enums with their descriptions)
from service.schema.errors import log_errors
from service.schema.extensions import OperationMetrics
from service.schema.feed import Subscription
from service.schema.guards import PreparedDocument
from service.schema.inputs import compile_inputs
from service.schema.limits import MAX_DEPTH, document_limits
from service.schema.mutations import Mutation
from service.schema.privacy import PersonalDataAccessLog
from service.schema.queries import Query

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


class Schema(strawberry.Schema):
    #: Omit graphql-core's "Did you mean ...?" from variable errors (production).
    hide_suggestions = False
    #: The validation rules this schema adds to graphql-core's (``service.schema.compiled``
    #: validates with the same ones).
    extra_rules: tuple[type[ASTValidationRule], ...] = ()

    def _get_custom_context_kwargs(
        self, operation_extensions: dict[str, Any] | None = None, *, sync: bool = False
    ) -> dict[str, Any]:
        kwargs = super()._get_custom_context_kwargs(operation_extensions, sync=sync)
        if self.hide_suggestions:
            kwargs["hide_suggestions"] = True
        return kwargs

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors, execution_context)


def build_schema(*, production: bool = False, max_depth: int = MAX_DEPTH) -> Schema:
    """The schema with its guards: depth, alias and expanded-size limits measured in linear
    time, introspection limited by its own depth and list nesting (and refused in production,
    with suggestions), unstorable strings refused. Every transport checks a request with
    ``service.schema.guards.prepare`` first (tokens, cost, operation type);
    ``PreparedDocument`` executes the document it parsed and caches short documents' parse
    and validation within a budget."""
    rules: list[type[ASTValidationRule]] = [document_limits(max_depth), MaxIntrospectionDepthRule]
    extensions: list[Any] = [
        lambda: AddValidationRules(rules),
        PreparedDocument,
        OperationMetrics,
        PersonalDataAccessLog,
    ]
    if production:
        extensions.append(DisableIntrospection)
    schema = Schema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions
    )
    schema.hide_suggestions = production
    compile_inputs(schema)
    schema.extra_rules = (*rules, *((NoSchemaIntrospectionCustomRule,) if production else ()))
    return schema


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
