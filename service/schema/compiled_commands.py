"""Mutations run without graphql-core's executor and strawberry's per-request extensions.

A mutation document of one root field (no directives, fragments or repeated response keys)
whose payload selection reads only plain fields (attributes of the payload the resolver
returns, no resolver of their own) and ``__typename`` is planned once per document and
operation (bounded cache). A planned mutation runs the root field's own resolver, as the
executor would: strawberry's argument conversion, the field's extensions and the command
handler are the same code. Only what the executor does around it is done here: coercing
variables and arguments, the resolver's ``info``, completing the payload's leaves with their
types' own serializers, and locating an error at its field with null propagating to the
nearest nullable parent.

Which way a request goes is decided before the resolver runs, so a request the plan does not
fit goes through the schema's normal execution with nothing done twice (``None`` from
``compiled_command``): an invalid document (the normal execution reports why), documents
longer than the guard chain caches, queries and subscriptions, variables or arguments that do
not coerce, and any selection the plan does not cover. What the schema's extensions do for a
mutation is done too, through the same functions: validation with the schema's own rules
here; the personal-data access log (``privacy.record_personal_reads``), error logging
(``errors.log_request_errors``) and the operation's metrics (``extensions.observe_operation``)
in the view (``SafeFutureGraphQL._command_response``). Plain fields are read with the root
field's ``info``, which strawberry's attribute resolvers do not look at.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any, TypeGuard

from graphql import (
    ASTValidationRule,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationType,
    located_error,
    specified_rules,
    validate,
)
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.pyutils import Path, gather_with_cancel, inspect
from graphql.type.definition import GraphQLResolveInfoHelpers

from service.schema.compiled import CACHE_ENTRIES, Unsupported
from service.schema.context import Context
from service.schema.guards import CACHE_ENTRY_CHARS, Prepared


@dataclass(frozen=True, slots=True)
class Leaf:
    """A plain field: the payload's attribute, completed by its type's serializer."""

    key: str
    field: GraphQLField
    node: FieldNode


@dataclass(frozen=True, slots=True)
class Typename:
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class Selection:
    """An object's selected fields, in the document's order."""

    type: GraphQLObjectType
    fields: tuple[Leaf | Typename | Nested, ...]


@dataclass(frozen=True, slots=True)
class Nested:
    """A plain field of an object type, completed with its own selection."""

    key: str
    field: GraphQLField
    node: FieldNode
    selection: Selection


@dataclass(frozen=True, slots=True)
class Plan:
    key: str
    node: FieldNode
    field: GraphQLField
    parent: GraphQLObjectType
    selection: Selection


# Keyed by the schema itself, not its id: a cached plan keeps its schema alive, so another
# schema (other rules) can never be given its plans.
_PlanKey = tuple[GraphQLSchema, str, str | None]
_plans: OrderedDict[_PlanKey, Plan | None] = OrderedDict()


def _only_field(node: Any) -> FieldNode:
    if not isinstance(node, FieldNode):
        raise Unsupported("fragment")
    if node.directives:
        raise Unsupported("directive")
    return node


def _plain(field: GraphQLField) -> bool:
    """A field strawberry resolves by reading the attribute of the same name."""
    return getattr(field.resolve, "_is_default", False) is True


def _selection(parent: GraphQLObjectType, node: FieldNode) -> Selection:
    if node.selection_set is None:
        raise Unsupported("object without selection")
    fields: list[Leaf | Typename | Nested] = []
    keys: set[str] = set()
    for child in node.selection_set.selections:
        child = _only_field(child)
        key = child.alias.value if child.alias else child.name.value
        if key in keys:
            raise Unsupported("repeated response key")
        keys.add(key)
        name = child.name.value
        if name == "__typename":
            fields.append(Typename(key, parent.name))
            continue
        field = parent.fields.get(name)
        if field is None or child.arguments or field.args or not _plain(field):
            raise Unsupported(f"{parent.name}.{name}")
        named = _named(field.type)
        if isinstance(named, GraphQLLeafType):
            fields.append(Leaf(key, field, child))
        elif isinstance(named, GraphQLObjectType) and not _is_list(field.type):
            fields.append(Nested(key, field, child, _selection(named, child)))
        else:
            raise Unsupported(f"{parent.name}.{name}")
    return Selection(parent, tuple(fields))


def _named(kind: GraphQLOutputType) -> Any:
    while isinstance(kind, (GraphQLNonNull, GraphQLList)):
        kind = kind.of_type
    return kind


def _is_list(kind: GraphQLOutputType) -> bool:
    while isinstance(kind, (GraphQLNonNull, GraphQLList)):
        if isinstance(kind, GraphQLList):
            return True
        kind = kind.of_type
    return False


def _plan(schema: GraphQLSchema, prepared: Prepared) -> Plan:
    operation = prepared.operation
    parent = schema.mutation_type
    if parent is None:
        raise Unsupported("no mutations")
    selections = operation.selection_set.selections
    if len(selections) != 1:
        raise Unsupported("more than one root field")
    node = _only_field(selections[0])
    field = parent.fields.get(node.name.value)
    if field is None or field.resolve is None or _plain(field):
        raise Unsupported("root field")
    named = _named(field.type)
    if not isinstance(named, GraphQLObjectType) or _is_list(field.type):
        raise Unsupported("root field's type")
    key = node.alias.value if node.alias else node.name.value
    return Plan(key, node, field, parent, _selection(named, node))


def plan(
    schema: GraphQLSchema, rules: tuple[type[ASTValidationRule], ...], prepared: Prepared
) -> Plan | None:
    """The document's plan (cached), or ``None`` when it is invalid (the normal execution
    reports why) or needs the normal execution."""
    operation = prepared.operation
    name = operation.name.value if operation.name else None
    key = (schema, prepared.query, name)
    if key in _plans:
        _plans.move_to_end(key)
        return _plans[key]
    found: Plan | None = None
    if not validate(schema, prepared.document, (*specified_rules, *rules)):
        try:
            found = _plan(schema, prepared)
        except Unsupported:
            found = None
    _plans[key] = found
    while len(_plans) > CACHE_ENTRIES:
        _plans.popitem(last=False)
    return found


class _Null(Exception):
    """A non-null field's error, on its way to the nearest nullable parent."""


class _Completion:
    """The executor's completion of plain fields: values, errors and null propagation."""

    def __init__(self, info: GraphQLResolveInfo[Context]) -> None:
        self.info = info
        self.errors: list[GraphQLError] = []

    def field(
        self, kind: GraphQLOutputType, node: FieldNode, path: Path, value: Any, inner: Any
    ) -> Any:
        """The field's completed value; raises ``_Null`` when a non-null field has none."""
        try:
            return self.value(kind, node, path, value, inner)
        except _Null:
            if isinstance(kind, GraphQLNonNull):
                raise
            return None
        except Exception as error:
            self.errors.append(located_error(error, [node], path.as_list()))
            if isinstance(kind, GraphQLNonNull):
                raise _Null from None
            return None

    def value(
        self, kind: GraphQLOutputType, node: FieldNode, path: Path, value: Any, inner: Any
    ) -> Any:
        if isinstance(kind, GraphQLNonNull):
            completed = self.value(kind.of_type, node, path, value, inner)
            if completed is None:
                parent = path.typename or "?"
                raise TypeError(
                    f"Cannot return null for non-nullable field {parent}.{node.name.value}."
                )
            return completed
        if value is None:
            return None
        if isinstance(kind, GraphQLList):
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                raise GraphQLError(
                    f"Expected Iterable, but did not find one for field"
                    f" '{path.typename}.{node.name.value}'."
                )
            return [
                self.field(kind.of_type, node, path.add_key(i, path.typename), item, inner)
                for i, item in enumerate(value)
            ]
        if isinstance(kind, GraphQLLeafType):
            serialized = kind.serialize(value)
            if serialized is None:
                raise TypeError(
                    f"Expected `{inspect(kind)}.serialize({inspect(value)})`"
                    " to return non-nullable value, returned: None"
                )
            return serialized
        assert isinstance(inner, Selection)
        return self.object(inner, path, value)

    def object(self, selection: Selection, path: Path, value: Any) -> dict[str, Any]:
        kind = selection.type
        if kind.is_type_of is not None and kind.is_type_of(value, self.info) is not True:
            raise GraphQLError(f"Expected value of type '{kind.name}' but got: {inspect(value)}.")
        out: dict[str, Any] = {}
        for item in selection.fields:
            if isinstance(item, Typename):
                out[item.key] = item.name
                continue
            child = path.add_key(item.key, kind.name)
            inner = item.selection if isinstance(item, Nested) else None
            try:
                got = item.field.resolve(value, self.info)  # type: ignore[misc]
            except Exception as error:
                self.errors.append(located_error(error, [item.node], child.as_list()))
                if isinstance(item.field.type, GraphQLNonNull):
                    raise _Null from None
                out[item.key] = None
                continue
            out[item.key] = self.field(item.field.type, item.node, child, got, inner)
        return out


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the normal execution's result would hold."""

    data: dict[str, Any] | None
    errors: list[GraphQLError]


def _is_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    return isawaitable(value)


def _gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
    """As graphql-core's executor: one unit of work; one failing cancels the others."""
    return gather_with_cancel(*values)


_background: set[asyncio.Future[list[Any]]] = set()


def _track(values: Sequence[Any]) -> None:
    """As graphql-core's executor: settle the awaitables among ``values`` in the background
    (held here until they are done, so none is abandoned)."""
    awaitables = [value for value in values if isawaitable(value)]
    if awaitables:
        future = asyncio.gather(*awaitables, return_exceptions=True)
        _background.add(future)
        future.add_done_callback(_background.discard)


_HELPERS = GraphQLResolveInfoHelpers(_gather, _track)


async def compiled_command(
    schema: GraphQLSchema,
    rules: tuple[type[ASTValidationRule], ...],
    context: Context,
    prepared: Prepared,
    variables: object,
) -> Outcome | None:
    """The mutation's outcome when its plan fits, else ``None`` (nothing has run)."""
    operation = prepared.operation
    if operation.operation is not OperationType.MUTATION:
        return None
    if len(prepared.query) > CACHE_ENTRY_CHARS:
        return None  # plans are cached for short documents only
    if variables is not None and not isinstance(variables, dict):
        return None
    found = plan(schema, rules, prepared)
    if found is None:
        return None
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return None
    try:
        arguments = get_argument_values(found.field, found.node, coerced)
    except GraphQLError:
        return None
    path = Path(None, found.key, found.parent.name)
    info = GraphQLResolveInfo(
        found.node.name.value,
        [found.node],
        found.field.type,
        found.parent,
        path,
        schema,
        {},
        None,
        operation,
        coerced,
        context,
        _is_awaitable,
        None,
        _HELPERS,
    )
    completion = _Completion(info)
    data: dict[str, Any] | None
    try:
        assert found.field.resolve is not None
        result = found.field.resolve(None, info, **arguments)
        if isawaitable(result):
            result = await result
    except Exception as error:
        completion.errors.append(located_error(error, [found.node], path.as_list()))
        data = None if isinstance(found.field.type, GraphQLNonNull) else {found.key: None}
    else:
        try:
            value = completion.field(found.field.type, found.node, path, result, found.selection)
            data = {found.key: value}
        except _Null:
            data = None
    return Outcome(data, completion.errors)
