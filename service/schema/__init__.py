"""The GraphQL schema: queries and mutations over the return-case read models and commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.types import ExecutionContext

from service.schema import enums  # noqa: F401 (the enums with their descriptions)
from service.schema.errors import log_errors
from service.schema.extensions import OperationMetrics
from service.schema.feed import Subscription
from service.schema.limits import MAX_DEPTH, document_limits
from service.schema.mutations import Mutation
from service.schema.privacy import PersonalDataAccessLog
from service.schema.queries import Query

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors, execution_context)


MAX_TOKENS = 5000


def build_schema(*, production: bool = False, max_depth: int = MAX_DEPTH) -> Schema:
    """The schema with its guards: token, depth, alias and expanded-size limits measured in
    linear time, unstorable strings refused, no introspection in production. Parser and
    validation caches spare repeated documents the work."""
    rules: list[type[ASTValidationRule]] = [document_limits(max_depth)]
    extensions: list[Any] = [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(rules),
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        OperationMetrics,
        PersonalDataAccessLog,
    ]
    if production:
        extensions.append(DisableIntrospection)
    return Schema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions)


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
