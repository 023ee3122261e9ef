"""Document limits checked in linear time, fragments included.

A fragment that spreads another twice, nested twenty levels, expands to a million fields:
walking every spread again (as generic depth and alias limiters do) costs exponential time.
Here each fragment is measured once and its figures reused, so the cost is linear in the size
of the document, and the *expanded* size is limited as well as depth and aliases. Strings that
PostgreSQL cannot store (NUL, lone surrogates) are refused here too, whether they come as
literals or in variables.

Introspection (``__schema``, ``__type``) has a depth limit of its own: the standard query that
GraphiQL and schema tools send nests ``ofType`` nine times to unwrap list and non-null types
and goes 15 levels deep. ``ofType`` answers one type or null, so that depth costs little; what
multiplies an introspection answer is nesting the lists of types' fields, interfaces, possible
types and input fields, which graphql-core's ``MaxIntrospectionDepthRule`` (added beside this
rule) refuses beyond two levels. Aliases and expanded fields of introspection count as usual,
and production refuses introspection altogether.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
)

from service.textcheck import unstorable_rule

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_EXPANDED_FIELDS = 5000
MAX_INTROSPECTION_DEPTH = 20
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


@dataclass(frozen=True, slots=True)
class _Size:
    depth: int
    aliases: int
    fields: int
    introspection_depth: int = 0


class DocumentLimits(ValidationRule):
    """Depth, aliases and expanded field count of every operation, fragments measured once."""

    max_depth = MAX_DEPTH
    max_aliases = MAX_ALIASES
    max_fields = MAX_EXPANDED_FIELDS
    max_introspection_depth = MAX_INTROSPECTION_DEPTH

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self._fragments = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        self._measured: dict[str, _Size] = {}
        self._measuring: set[str] = set()

    def _selection_set(self, selection_set: SelectionSetNode | None) -> _Size:
        if selection_set is None:
            return _Size(0, 0, 0)
        depth = aliases = fields = introspection = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = self._selection_set(selection.selection_set)
                if selection.name.value in INTROSPECTION_FIELDS:
                    # Measured against the introspection limit, not the depth limit.
                    introspection = max(introspection, inner.depth + 1, inner.introspection_depth)
                    depth = max(depth, 1)
                else:
                    depth = max(depth, inner.depth + 1)
                    introspection = max(introspection, inner.introspection_depth)
                aliases += inner.aliases + (1 if selection.alias is not None else 0)
                fields += inner.fields + 1
            elif isinstance(selection, (InlineFragmentNode, FragmentSpreadNode)):
                inner = (
                    self._selection_set(selection.selection_set)
                    if isinstance(selection, InlineFragmentNode)
                    else self._fragment(selection.name.value)
                )
                depth, aliases, fields = (
                    max(depth, inner.depth),
                    aliases + inner.aliases,
                    fields + inner.fields,
                )
                introspection = max(introspection, inner.introspection_depth)
            if fields > self.max_fields:  # stop early: the numbers only grow
                break
        return _Size(depth, aliases, fields, introspection)

    def _fragment(self, name: str) -> _Size:
        known = self._measured.get(name)
        if known is not None:
            return known
        definition = self._fragments.get(name)
        if definition is None or name in self._measuring:
            return _Size(0, 0, 0)  # unknown or cyclic: other rules report it
        self._measuring.add(name)
        size = self._selection_set(definition.selection_set)
        self._measuring.discard(name)
        self._measured[name] = size
        return size

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
        size = self._selection_set(node.selection_set)
        if size.depth > self.max_depth:
            self.report_error(
                GraphQLError(f"the query exceeds maximum operation depth of {self.max_depth}", node)
            )
        if size.introspection_depth > self.max_introspection_depth:
            self.report_error(
                GraphQLError(
                    "the introspection query exceeds maximum depth of "
                    f"{self.max_introspection_depth}",
                    node,
                )
            )
        if size.aliases > self.max_aliases:
            self.report_error(
                GraphQLError(f"the query uses more than {self.max_aliases} aliases", node)
            )
        if size.fields > self.max_fields:
            self.report_error(
                GraphQLError(f"the query expands to more than {self.max_fields} fields", node)
            )

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        rule = unstorable_rule(node.value)
        if rule is not None:
            self.report_error(
                GraphQLError(
                    "strings must not contain NUL characters or lone surrogates",
                    node,
                    extensions={"code": "BAD_USER_INPUT", "rule": rule},
                )
            )


def document_limits(max_depth: int = MAX_DEPTH) -> type[DocumentLimits]:
    """The rule with another depth limit (tests use a small one)."""
    return type("DocumentLimits", (DocumentLimits,), {"max_depth": max_depth})
