"""How errors leave the API: ``extensions.code`` always, internals never.

* a ``ServiceError`` raised by a resolver keeps its message and code;
* an error without a path (parse, validation, variable coercion) is the caller's input:
  ``BAD_USER_INPUT``;
* anything else is ``INTERNAL``: the caller gets a request id and no detail; the log gets the
  exception's type and the request id, never its message (which could hold data values).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from graphql import GraphQLError
from strawberry.types import ExecutionContext

from service.errors import ServiceError
from service.schema.redaction import public_message

log = logging.getLogger("service.graphql")


def error_code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, ServiceError):
        return original.code
    if original is None or error.path is None:
        return "BAD_USER_INPUT"
    return "INTERNAL"


def format_error(
    error: GraphQLError,
    request_id: str,
    *,
    suggestions: bool = True,
    enum_values: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The error as every transport sends it (HTTP, both WebSocket protocols).

    ``suggestions=False`` (production) drops graphql-core's "Did you mean ...?" and the list
    of an enum's values; ``enum_values`` (the schema's) lets an enum refusal name its enum.
    """
    code = error_code(error)
    original = error.original_error
    # graphql-core's own messages quote the request's values: they are cut (see redaction).
    formatted: dict[str, Any] = {
        "message": public_message(error.message, suggestions=suggestions, enum_values=enum_values)
    }
    extensions: dict[str, Any] = {"code": code}
    rule = (error.extensions or {}).get("rule")
    if isinstance(rule, str):
        extensions["rule"] = rule
    if isinstance(original, ServiceError):
        formatted["message"] = original.message
        extensions.update(original.extensions)
    elif code == "INTERNAL":
        formatted["message"] = f"internal error (request id {request_id})"
        extensions["requestId"] = request_id
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path:
        formatted["path"] = list(error.path)
    formatted["extensions"] = extensions
    return formatted


def log_errors(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    context = getattr(execution_context, "context", None)
    log_request_errors(errors, getattr(context, "request_id", "-"))


def log_request_errors(errors: list[GraphQLError], request_id: str) -> None:
    """One line per error: an internal one with its type and path, a refusal with its code."""
    for error in errors:
        code = error_code(error)
        if code == "INTERNAL":
            log.error(
                "internal error",
                extra={
                    "request_id": request_id,
                    "error_type": type(error.original_error).__name__,
                    "path": ".".join(str(p) for p in error.path or ()),
                },
            )
        else:
            log.info("request refused", extra={"request_id": request_id, "code": code})
