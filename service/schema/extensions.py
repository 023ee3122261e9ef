"""Schema extensions of our own: per-operation metrics."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from graphql import FieldNode, GraphQLError, GraphQLSchema, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from service.observability import Metrics
from service.schema.errors import error_code


def operation_label(schema: GraphQLSchema, definition: OperationDefinitionNode) -> str:
    """The metrics label of an operation: its type and first root field."""
    kind = definition.operation.value
    selections = definition.selection_set.selections
    if not selections:
        return f"{kind}:unknown"
    first = selections[0]
    if not isinstance(first, FieldNode):
        return f"{kind}:fragment"
    root = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }.get(kind)
    name = first.name.value
    known = root is not None and (name in root.fields or name == "__typename")
    return f"{kind}:{name if known else 'unknown'}"


class OperationMetrics(SchemaExtension):
    """Latency per operation and errors per code.

    Operations are labelled by type and first root field (``query:returnCases``): client-chosen
    operation names would make the label set unbounded. A root field the schema does not have
    is labelled ``unknown``, so the label set is bounded by the schema.
    """

    def on_operation(self) -> Iterator[None]:
        start = time.perf_counter()
        yield
        ctx = self.execution_context
        metrics = getattr(ctx.context, "metrics", None)
        if metrics is None:
            return
        label = "invalid"
        document = ctx.graphql_document
        if document is not None:
            for definition in document.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    label = operation_label(ctx.schema._schema, definition)
                    break
        result = ctx.result
        observe_operation(
            metrics,
            label,
            time.perf_counter() - start,
            getattr(result, "errors", None) or ctx.pre_execution_errors or (),
        )


def observe_operation(
    metrics: Metrics, label: str, seconds: float, errors: Iterable[GraphQLError]
) -> None:
    """An operation's latency under its label, and its errors by code."""
    metrics.requests.labels(label).observe(seconds)
    for error in errors:
        metrics.errors.labels(error_code(error)).inc()
