"""What a document would cost, measured on the parsed document before validation.

Validation is not linear: graphql-core compares every pair of fields that share a response
name (and every pair of fragments spread side by side), so a few hundred copies of one list
field kept the event loop busy for seconds before any limit looked at them. This walk runs
first, in time linear in the document (each fragment is measured once and its figures reused;
the walk stops as soon as a limit is passed), and refuses a document whose

* expanded field count (fragments expanded, aliases counted as the fields they are) exceeds
  ``MAX_FIELDS``;
* cost exceeds ``MAX_COST``: one point per field, the points below a list multiplied by the
  number of items it can return (``first``, or the maximum page size when ``first`` is a
  variable; ``LIST_FACTOR`` for other lists of objects). Introspection fields count one point
  each, whatever their lists: their size is bounded by the schema, not by the data;
* more than ``MAX_ALIASES`` aliases are used (the validation rule says the same, too late);
* fields repeat under one response name more than ``MAX_SAME_NAME`` times, repetitions
  inside repeated fields multiplied (the quadratic, nested part of validation), or selection
  sets nest deeper than ``MAX_NESTING``;
* selection sets are empty (``{ }``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

MAX_FIELDS = 1000
MAX_COST = 60_000
MAX_SAME_NAME = 10
MAX_NESTING = 40
LIST_FACTOR = 10
DEFAULT_PAGE = 100

from service.schema.limits import MAX_ALIASES  # noqa: E402

__all__ = ["MAX_COST", "MAX_FIELDS", "MAX_SAME_NAME", "CostRefusal", "Measure", "measure"]


class CostRefusal(Exception):
    """The document is refused; ``rule`` names the limit, ``message`` explains it."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule


@dataclass(slots=True)
class Measure:
    fields: int = 0
    cost: int = 0
    aliases: int = 0
    # Whether a variable's value (``first``) counted: if not, the same document measures
    # the same with any variables.
    read_variables: bool = False


@dataclass(frozen=True, slots=True)
class _Size:
    fields: int
    cost: int
    names: Counter[str]
    aliases: int = 0
    # Repetition: ``top`` maps each response name at this level to the largest repetition
    # inside one of its fields; ``repeat`` is the largest product of repetitions along a path.
    top: dict[str, int] = field(default_factory=dict)
    repeat: int = 1
    # Levels of selection sets, fragment spreads and inline fragments inside.
    height: int = 0


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema | None,
        document: DocumentNode,
        page: int,
        variables: Mapping[str, object] | None = None,
    ) -> None:
        self.schema = schema
        self.page = page
        self.variables = variables or {}
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.measured: dict[str, _Size] = {}
        self.measuring: set[str] = set()
        self.total_fields = 0
        self.read_variables = False

    def _type(self, name: str | None) -> GraphQLNamedType | None:
        if self.schema is None or name is None or name.startswith("__"):
            return None  # introspection types count one point per field
        return self.schema.get_type(name)

    def _multiplier(
        self, node: FieldNode, parent: GraphQLNamedType | None
    ) -> tuple[int, GraphQLNamedType | None]:
        """How many times the field's selection runs, and the type it selects from."""
        if node.name.value.startswith("__"):
            return 1, None  # introspection: bounded by the schema
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 1, None
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return 1, None  # validation reports the unknown field
        named = get_named_type(definition.type)
        if "first" in definition.args:
            first = next((a for a in node.arguments or () if a.name.value == "first"), None)
            if first is None:
                default = definition.args["first"].default_value
                count = default if isinstance(default, int) else self.page
            elif isinstance(first.value, IntValueNode):
                count = int(first.value.value)
            elif isinstance(first.value, VariableNode):
                self.read_variables = True
                given = self.variables.get(first.value.name.value)
                count = int(given) if _whole(given) else self.page  # type: ignore[call-overload]
            else:
                count = self.page
            return max(1, min(count, self.page)), named
        wrapped = definition.type
        if isinstance(wrapped, GraphQLNonNull):
            wrapped = wrapped.of_type
        if isinstance(wrapped, GraphQLList) and not parent.name.endswith("Connection"):
            return LIST_FACTOR, named
        return 1, named

    def selection_set(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, depth: int
    ) -> _Size:
        if selection_set is None:
            return _Size(0, 0, Counter(), 0)
        if not selection_set.selections:
            raise CostRefusal("a selection set must name at least one field", "EMPTY_SELECTION")
        if depth > MAX_NESTING:
            raise CostRefusal(
                f"the document nests deeper than {MAX_NESTING} levels", "NESTED_TOO_DEEPLY"
            )
        fields = cost = aliases = 0
        names: Counter[str] = Counter()
        top: dict[str, int] = {}
        repeat = 1
        height = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                factor, inner_type = self._multiplier(selection, parent)
                inner = self.selection_set(selection.selection_set, inner_type, depth + 1)
                fields += 1 + inner.fields
                cost += 1 + factor * inner.cost
                aliases += inner.aliases + (selection.alias is not None)
                name = (selection.alias or selection.name).value
                names[name] += 1
                top[name] = max(top.get(name, 1), inner.repeat)
                height = max(height, inner.height)
                self.total_fields += 1
            else:
                if isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    inner_parent = self._type(condition.name.value) if condition else parent
                    inner = self.selection_set(selection.selection_set, inner_parent, depth)
                else:
                    assert isinstance(selection, FragmentSpreadNode)
                    inner = self._fragment(selection.name.value, depth)
                    self.total_fields += inner.fields
                fields += inner.fields
                cost += inner.cost
                aliases += inner.aliases
                names.update(inner.names)
                repeat = max(repeat, inner.repeat)
                height = max(height, inner.height + 1)
                for name, inner_repeat in inner.top.items():
                    top[name] = max(top.get(name, 1), inner_repeat)
            self._check(fields, cost, aliases)
        # graphql-core compares every pair of fields sharing a response name, and inside each
        # pair every pair of their sub-fields sharing one: the work grows with the product of
        # the repetitions along a path, which is bounded here.
        height += 1
        if height > MAX_NESTING:
            raise CostRefusal(
                f"the document nests deeper than {MAX_NESTING} levels (fragments included)",
                "NESTED_TOO_DEEPLY",
            )
        repeat = max([repeat, *(count * top[name] for name, count in names.items())])
        if repeat > MAX_SAME_NAME:
            raise CostRefusal(
                f"the document repeats fields under one response name more than {MAX_SAME_NAME}"
                " times (counting repetitions inside repeated fields as multiplied)",
                "REPEATED_FIELD_LIMIT",
            )
        return _Size(fields, cost, names, aliases, top, repeat, height)

    def _fragment(self, name: str, depth: int) -> _Size:
        known = self.measured.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self.measuring:
            return _Size(0, 0, Counter(), 0)  # unknown or cyclic: validation reports it
        self.measuring.add(name)
        size = self.selection_set(
            definition.selection_set, self._type(definition.type_condition.name.value), depth
        )
        self.measuring.discard(name)
        self.measured[name] = size
        return size

    def _check(self, fields: int, cost: int, aliases: int = 0) -> None:
        if aliases > MAX_ALIASES:
            raise CostRefusal(f"the document uses more than {MAX_ALIASES} aliases", "ALIAS_LIMIT")
        if fields > MAX_FIELDS or self.total_fields > MAX_FIELDS:
            raise CostRefusal(
                f"the document expands to more than {MAX_FIELDS} fields", "FIELD_LIMIT"
            )
        if cost > MAX_COST:
            raise CostRefusal(
                f"the document would cost more than {MAX_COST} points (fields, multiplied by "
                "the items each list can return)",
                "COST_LIMIT",
            )


def _root(schema: GraphQLSchema | None, operation: OperationType) -> GraphQLNamedType | None:
    if schema is None:
        return None
    if operation == OperationType.QUERY:
        return schema.query_type
    if operation == OperationType.MUTATION:
        return schema.mutation_type
    return schema.subscription_type


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def measure(
    document: DocumentNode,
    schema: GraphQLSchema | None,
    page: int = DEFAULT_PAGE,
    variables: Mapping[str, object] | None = None,
) -> Measure:
    """The document's figures, or ``CostRefusal`` at the first limit it passes.

    ``first`` given as a variable counts with the request's value for it (at most ``page``).

    Every operation and fragment is walked (fragments once), so an empty selection set is
    found wherever it is.
    """
    try:
        return _measure(_Walker(schema, document, page, variables), document, schema)
    except RecursionError:
        raise CostRefusal("the document nests too deeply", "NESTED_TOO_DEEPLY") from None


def _measure(walker: _Walker, document: DocumentNode, schema: GraphQLSchema | None) -> Measure:
    result = Measure()
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            size = walker.selection_set(
                definition.selection_set, _root(schema, definition.operation), 1
            )
            result.fields += size.fields
            result.cost += size.cost
            result.aliases += size.aliases
            walker._check(result.fields, result.cost, result.aliases)
        elif isinstance(definition, FragmentDefinitionNode):
            walker._fragment(definition.name.value, 1)
    result.read_variables = walker.read_variables
    return result
