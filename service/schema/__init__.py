"""The GraphQL schema: queries and mutations over the return-case read models and commands."""

from __future__ import annotations

from pathlib import Path

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from service.schema.errors import log_errors
from service.schema.feed import Subscription
from service.schema.mutations import Mutation
from service.schema.queries import Query

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors, execution_context)


def build_schema() -> Schema:
    return Schema(query=Query, mutation=Mutation, subscription=Subscription)


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
