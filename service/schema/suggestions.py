"""No "Did you mean ...?" in production.

graphql-core appends suggestions to validation errors (unknown fields, arguments, types) and to
variable errors (unknown enum values and input fields): they spell out parts of the schema that
production keeps private by refusing introspection. graphql-core can omit them
(``hide_suggestions``); strawberry does not pass that option, so production validates through
this cache instead of strawberry's, and the schema passes it to execution.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import cache, lru_cache
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from strawberry.extensions import ValidationCache
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule


def _validate_without_suggestions(
    schema: GraphQLSchema, document: DocumentNode, rules: Collection[type[ASTValidationRule]]
) -> list[GraphQLError]:
    # The rules strawberry's own validation adds to the configured ones.
    every_rule = (*rules, MaybeNullValidationRule, OneOfInputValidationRule)
    return validate(schema, document, every_rule, hide_suggestions=True)


@cache
def _shared_cache(maxsize: int) -> Callable[..., Any]:
    # One cache per size for all requests: strawberry makes a new extension per request.
    return lru_cache(maxsize=maxsize)(_validate_without_suggestions)


class ValidationCacheWithoutSuggestions(ValidationCache):
    """strawberry's validation cache, validating with suggestions omitted."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize=maxsize)
        self.cached_validate_document = _shared_cache(maxsize)
