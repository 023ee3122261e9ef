"""Schema extensions of our own: per-operation metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import FieldNode, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from service.schema.errors import error_code


class OperationMetrics(SchemaExtension):
    """Latency per operation and errors per code.

    Operations are labelled by type and first root field (``query:returnCases``): client-chosen
    operation names would make the label set unbounded.
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
                    first = definition.selection_set.selections[0]
                    field = first.name.value if isinstance(first, FieldNode) else "fragment"
                    label = f"{definition.operation.value}:{field}"
                    break
        metrics.requests.labels(label).observe(time.perf_counter() - start)
        result = ctx.result
        for error in getattr(result, "errors", None) or ctx.pre_execution_errors or ():
            metrics.errors.labels(error_code(error)).inc()
