"""One guard chain for every transport.

HTTP (GET and POST), ``graphql-transport-ws`` and the legacy ``graphql-ws`` protocol all hand
a request to ``prepare`` before anything executes, and all format what comes back with
``service.schema.errors.format_error``. ``prepare`` checks, in this order and each in linear
time:

1. the request's shape (``query`` a string, ``variables`` an object, ``operationName`` a
   string), the document's length, and strings PostgreSQL cannot store;
2. parsing, with a token limit; nesting deep enough to exhaust the parser is refused, not a
   crash;
3. which operation runs: a document with several operations needs ``operationName``;
4. whether the transport carries that operation type: HTTP GET runs queries only, HTTP POST
   queries and mutations, a WebSocket subscriptions only;
5. the document's cost (``service.schema.cost``), before graphql-core validates it.

A refusal is a ``RequestRefused`` holding GraphQL errors with ``extensions.code``
``BAD_USER_INPUT`` and a ``rule``. The parsed document is handed to the schema's execution
through the context (``Prepared``), so it is parsed once. Parsed documents, positive
validation outcomes and passed cost measures are cached for short documents only, within a
character budget: a cache of whole large documents would let a client fill memory. A cost
measure is cached only when it read no variable (``first: $n`` counts with each request's
value, so such a document is measured for every request).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
    parse,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from service.errors import BadUserInput
from service.schema.cost import CostRefusal, measure
from service.schema.redaction import public_message
from service.textcheck import find_unstorable

MAX_DOCUMENT_CHARS = 100_000
MAX_TOKENS = 3000
# Only short documents are cached, and all of them together within this many characters.
CACHE_ENTRY_CHARS = 8_000
CACHE_BUDGET_CHARS = 400_000


class RequestRefused(Exception):
    """The request was refused before execution; ``errors`` say why."""

    def __init__(self, errors: list[GraphQLError]) -> None:
        super().__init__(errors[0].message)
        self.errors = errors


class OperationNotAllowed(BadUserInput):
    """The operation's type is not carried by this transport (HTTP answers 405 for a
    mutation sent with GET)."""


@dataclass(frozen=True, slots=True)
class Prepared:
    query: str
    document: DocumentNode
    operation: OperationDefinitionNode


class _BoundedCache:
    """Least-recently-used, for keys no longer than ``CACHE_ENTRY_CHARS``, within a budget."""

    def __init__(self, entry_chars: int, budget_chars: int) -> None:
        self.entry_chars = entry_chars
        self.budget_chars = budget_chars
        self.used = 0
        self.entries: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any | None:
        value = self.entries.get(key)
        if value is not None:
            self.entries.move_to_end(key)
        return value

    def put(self, key: str, value: Any) -> None:
        if len(key) > self.entry_chars or key in self.entries:
            return
        self.entries[key] = value
        self.used += len(key)
        while self.used > self.budget_chars:
            old, _ = self.entries.popitem(last=False)
            self.used -= len(old)

    def __len__(self) -> int:
        return len(self.entries)


_documents = _BoundedCache(CACHE_ENTRY_CHARS, CACHE_BUDGET_CHARS)
_valid = _BoundedCache(CACHE_ENTRY_CHARS, CACHE_BUDGET_CHARS)
# Short documents ``measure`` passed without reading a variable, with the schema it used.
_measured = _BoundedCache(CACHE_ENTRY_CHARS, CACHE_BUDGET_CHARS)


def cached_documents() -> int:
    """How many parsed documents the cache holds (operators and tests look at it)."""
    return len(_documents)


def _refuse(message: str, rule: str, error: GraphQLError | None = None) -> RequestRefused:
    original = BadUserInput(message, rule=rule)
    if error is None:
        return RequestRefused([GraphQLError(message, original_error=original)])
    located = GraphQLError(
        message, source=error.source, positions=error.positions, original_error=original
    )
    return RequestRefused([located])


def parse_document(query: str) -> DocumentNode:
    """The parsed document (cached when short), or ``RequestRefused``."""
    document = _documents.get(query)
    if document is not None:
        return document  # type: ignore[no-any-return]
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLSyntaxError as error:
        if "nested too deeply" in error.message:
            raise _refuse("the document nests too deeply to parse", "NESTED_TOO_DEEPLY") from None
        if "Parsing aborted" in error.message:
            raise _refuse(
                f"the document has more than {MAX_TOKENS} tokens", "TOO_MANY_TOKENS"
            ) from None
        raise _refuse(public_message(error.message, suggestions=False), "SYNTAX", error) from None
    except RecursionError:
        raise _refuse("the document nests too deeply to parse", "NESTED_TOO_DEEPLY") from None
    _documents.put(query, document)
    return document


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations:
        raise _refuse("the document holds no operation", "NO_OPERATION")
    if name is None:
        if len(operations) > 1:
            raise _refuse(
                "the document holds several operations: name the one to run in operationName",
                "OPERATION_NAME_REQUIRED",
            )
        return operations[0]
    for operation in operations:
        if operation.name is not None and operation.name.value == name:
            return operation
    raise _refuse("operationName names no operation of the document", "UNKNOWN_OPERATION")


_REFUSED_TYPE = {
    "websocket": "a WebSocket carries subscriptions only: send queries and mutations over HTTP",
    "get": "HTTP GET runs queries only: send mutations with POST",
    "post": "subscribe over a WebSocket (graphql-transport-ws); over HTTP page with the "
    "caseEvents query",
}


def prepare(
    schema: GraphQLSchema,
    query: object,
    variables: object,
    operation_name: object,
    *,
    allowed: Collection[OperationType],
    transport: str,
) -> Prepared:
    """The checked request, or ``RequestRefused``; see the module's docstring."""
    if not isinstance(query, str) or not query.strip():
        raise _refuse("send the GraphQL document as a string in query", "QUERY_MISSING")
    if variables is not None and not isinstance(variables, dict):
        raise _refuse("variables must be a JSON object", "VARIABLES_NOT_AN_OBJECT")
    if operation_name is not None and not isinstance(operation_name, str):
        raise _refuse("operationName must be a string", "OPERATION_NAME_NOT_A_STRING")
    if len(query) > MAX_DOCUMENT_CHARS:
        raise _refuse(
            f"the document is longer than {MAX_DOCUMENT_CHARS} characters: send values as "
            "variables",
            "DOCUMENT_TOO_LONG",
        )
    found = find_unstorable([query, variables])
    if found is not None:
        rule, field = found
        message = f"{field or 'the request'} must not contain NUL characters or lone surrogates"
        original = BadUserInput(message, rule=rule, field=field)
        raise RequestRefused([GraphQLError(message, original_error=original)])
    document = parse_document(query)
    operation = _operation(document, operation_name)
    if operation.operation not in allowed:
        message = _REFUSED_TYPE.get(transport, "this transport does not carry that operation")
        if transport == "get" and operation.operation == OperationType.SUBSCRIPTION:
            message = _REFUSED_TYPE["post"]
        original = OperationNotAllowed(message, rule="OPERATION_NOT_ALLOWED")
        raise RequestRefused([GraphQLError(message, original_error=original)])
    if _measured.get(query) is not schema:
        try:
            figures = measure(
                document, schema, variables=variables if isinstance(variables, dict) else None
            )
        except CostRefusal as refusal:
            raise _refuse(refusal.message, refusal.rule) from None
        if not figures.read_variables:
            _measured.put(query, schema)
    return Prepared(query, document, operation)


class PreparedDocument(SchemaExtension):
    """Execution uses the document ``prepare`` parsed, and skips validating a short document
    already found valid. Without a prepared document (the schema called directly), the
    document is parsed here with the same parser and limits."""

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        prepared: Prepared | None = getattr(ctx.context, "prepared", None)
        if prepared is not None and prepared.query == ctx.query:
            ctx.graphql_document = prepared.document
        elif ctx.query:
            # On a refusal strawberry parses it again and reports the syntax error.
            with suppress(RequestRefused):
                ctx.graphql_document = parse_document(ctx.query)
        yield

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        query = ctx.query or ""
        rules: tuple[type[ASTValidationRule], ...] = tuple(ctx.validation_rules)
        key = query if len(query) <= CACHE_ENTRY_CHARS else ""
        if document is not None and key and _valid.get(key) == rules:
            ctx.pre_execution_errors = []
        elif document is not None:
            errors = validate_document(ctx.schema._schema, document, rules)
            ctx.pre_execution_errors = errors
            if not errors and key:
                _valid.put(key, rules)
        yield
