"""Queries over ``returnCases`` or ``returnCase`` answered by one SQL statement, without
per-field resolvers.

A query whose every selected field is a plain column of the read models (the page, its
edges and cursors, the case's plain fields, its partner organisations and timeline) is
mapped onto a ``service.events.projections.case_pages.Shape`` once per document, operation
and Boolean variables (bounded cache), and answered by one statement that builds the
response's JSON in PostgreSQL in the caller's tenant transaction (BEGIN, set_config, the
SELECT, COMMIT: one pool connection).

The document is validated here once, with graphql-core's rules and the schema's own.
Everything else runs through the schema's normal execution (``None`` from
``compiled_data``): an invalid document (the normal execution reports why), documents longer
than the guard chain caches, mutations and subscriptions, introspection, other root fields,
fields that decrypt personal data, computed fields, fields with arguments below the root,
directives other than ``@skip``/``@include``, fragments on other types, objects of more keys
than ``json_build_object`` takes, and every request the resolver would answer with an error
(no principal or role, ``first`` out of range, an invalid cursor, filter or ID, a case that
is not there, variables that do not coerce). The guard chain has run before.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    specified_rules,
    validate,
)
from graphql.execution.values import get_argument_values, get_variable_values

from service.db import tenant_transaction
from service.errors import ServiceError
from service.events.projections import case_pages
from service.events.projections.case_pages import Leaf, Nested, Shape, Typename
from service.schema.context import Context
from service.schema.guards import CACHE_ENTRY_CHARS, Prepared
from service.schema.ids import from_global_id
from service.schema.queries import ReturnCaseFilter, page_request

# GraphQL field -> ("leaf", what) or ("nested", what, GraphQL type of the selection).
_CASE_LEAVES = {
    "id": "id",
    "version": "version",
    "phase": "phase",
    "pseudonym": "pseudonym",
    "languages": "languages",
    "exploitationForms": "exploitation_forms",
    "gender": "gender",
    "birthYear": "birth_year",
    "nationality": "nationality",
    "countryOfOrigin": "country_of_origin",
    "intakeDate": "intake_date",
    "wish": "wish",
    "residenceStatus": "residence_status",
    "proceedingsStage": "proceedings_stage",
    "departureObligation": "departure_obligation",
    "departureDeadline": "departure_deadline",
    "riskLevel": "risk_level",
    "plannedDepartureOn": "planned_departure_on",
    "departedOn": "departed_on",
    "departureMode": "departure_mode",
    "destinationCountry": "destination_country",
    "closingReason": "closing_reason",
    "closedOn": "closed_on",
    "transferredTo": "transferred_to",
    "followUpCount": "follow_up_count",
    "caseworker": "caseworker",
    "personalDataErased": "personal_data_erased",
    "partnerOrganisationIds": "partner_organisation_ids",
    "openedAt": "opened_at",
    "updatedAt": "updated_at",
}
_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "ReturnCaseConnection": {
        "edges": ("nested", "edges", "ReturnCaseEdge"),
        "pageInfo": ("nested", "page_info", "PageInfo"),
    },
    "ReturnCaseEdge": {
        "cursor": ("leaf", "cursor"),
        "node": ("nested", "node", "ReturnCase"),
    },
    "PageInfo": {
        "hasNextPage": ("leaf", "has_next_page"),
        "endCursor": ("leaf", "end_cursor"),
    },
    "ReturnCase": {
        **{name: ("leaf", what) for name, what in _CASE_LEAVES.items()},
        "partnerOrganisations": ("nested", "partner_organisations", "SocialMapOrganisation"),
        "timeline": ("nested", "timeline", "TimelineEntry"),
    },
    "SocialMapOrganisation": {
        name: ("leaf", name)
        for name in ("id", "version", "name", "country", "city", "region", "demo")
    },
    "TimelineEntry": {
        "version": ("leaf", "version"),
        "eventType": ("leaf", "event_type"),
        "occurredAt": ("leaf", "occurred_at"),
        "actor": ("leaf", "actor"),
        "actorRole": ("leaf", "actor_role"),
        "summary": ("leaf", "summary"),
    },
}
ROOT_FIELD = "returnCases"
CASE_FIELD = "returnCase"
CACHE_ENTRIES = 512


class Unsupported(Exception):
    """The document asks for something only the normal execution answers."""


@dataclass(frozen=True, slots=True)
class Plan:
    root: Shape
    field: FieldNode
    statement: case_pages.PageStatement


# Keyed by the schema itself, not its id: a cached plan keeps its schema alive, so another
# schema (other rules) can never be given its plans.
_PlanKey = tuple[GraphQLSchema, str, str | None, tuple[tuple[str, Any], ...]]
_plans: OrderedDict[_PlanKey, Plan | None] = OrderedDict()


class _Planner:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any]
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.root_field: FieldNode | None = None

    def included(self, node: FieldNode | InlineFragmentNode | FragmentSpreadNode) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                raise Unsupported(f"directive @{name}")
            (argument,) = directive.arguments or ()
            value = argument.value
            flag: object
            if isinstance(value, BooleanValueNode):
                flag = value.value
            elif isinstance(value, VariableNode):
                flag = self.variables.get(value.name.value)
            else:
                raise Unsupported("directive argument")
            if not isinstance(flag, bool):
                raise Unsupported("directive argument")
            if (name == "skip") == flag:
                return False
        return True

    def collect(
        self, type_name: str, selection_set: SelectionSetNode, into: dict[str, list[FieldNode]]
    ) -> None:
        for selection in selection_set.selections:
            if not self.included(selection):  # type: ignore[arg-type]
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                into.setdefault(key, []).append(selection)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition: NamedTypeNode | None = selection.type_condition
                inner = selection.selection_set
            else:
                assert isinstance(selection, FragmentSpreadNode)
                fragment = self.fragments.get(selection.name.value)
                if fragment is None:
                    raise Unsupported("unknown fragment")
                condition, inner = fragment.type_condition, fragment.selection_set
            if condition is not None and condition.name.value != type_name:
                raise Unsupported("fragment on another type")
            self.collect(type_name, inner, into)

    def shape(self, type_name: str, nodes: list[FieldNode]) -> Shape:
        fields: dict[str, list[FieldNode]] = {}
        for node in nodes:
            if node.selection_set is None:
                raise Unsupported("object without selection")
            self.collect(type_name, node.selection_set, fields)
        known = _FIELDS.get(type_name)
        if known is None:
            raise Unsupported(type_name)
        items: list[tuple[str, Any]] = []
        for key, group in fields.items():
            name = group[0].name.value
            if name == "__typename":
                items.append((key, Typename(type_name)))
                continue
            spec = known.get(name)
            if spec is None or any(n.arguments for n in group):
                raise Unsupported(f"{type_name}.{name}")
            if spec[0] == "leaf":
                items.append((key, Leaf(spec[1])))
            else:
                items.append((key, Nested(spec[1], self.shape(spec[2], group))))
        return tuple(items)

    def root(self, operation: OperationDefinitionNode) -> Shape:
        query_type = self.schema.query_type
        assert query_type is not None
        fields: dict[str, list[FieldNode]] = {}
        self.collect(query_type.name, operation.selection_set, fields)
        items: list[tuple[str, Any]] = []
        for key, group in fields.items():
            name = group[0].name.value
            if name == "__typename":
                items.append((key, Typename(query_type.name)))
            elif name == ROOT_FIELD and len(group) == 1 and self.root_field is None:
                self.root_field = group[0]
                items.append((key, Nested("page", self.shape("ReturnCaseConnection", group))))
            elif name == CASE_FIELD and len(group) == 1 and self.root_field is None:
                self.root_field = group[0]
                items.append((key, Nested("case", self.shape("ReturnCase", group))))
            else:
                raise Unsupported(f"root field {name}")
        if self.root_field is None:
            raise Unsupported("neither returnCases nor returnCase")
        return tuple(items)


def _boolean_variables(
    operation: OperationDefinitionNode, coerced: dict[str, Any]
) -> tuple[tuple[str, Any], ...]:
    """The values of the operation's Boolean variables: all that ``@skip``/``@include`` read."""
    out = []
    for definition in operation.variable_definitions or ():
        kind = definition.type
        if isinstance(kind, NonNullTypeNode):
            kind = kind.type
        if isinstance(kind, NamedTypeNode) and kind.name.value == GraphQLBoolean.name:
            name = definition.variable.name.value
            out.append((name, coerced.get(name)))
    return tuple(out)


def plan(
    schema: GraphQLSchema,
    rules: tuple[type[ASTValidationRule], ...],
    prepared: Prepared,
    coerced: dict[str, Any],
) -> Plan | None:
    """The document's plan (cached), or ``None`` when it is invalid (the normal execution
    reports why) or needs the normal execution."""
    operation = prepared.operation
    name = operation.name.value if operation.name else None
    key = (schema, prepared.query, name, _boolean_variables(operation, coerced))
    if key in _plans:
        _plans.move_to_end(key)
        return _plans[key]
    planner = _Planner(schema, prepared.document, coerced)
    found: Plan | None = None
    if not validate(schema, prepared.document, (*specified_rules, *rules)):
        try:
            root = planner.root(operation)
            assert planner.root_field is not None
            found = Plan(root, planner.root_field, case_pages.compile_page(root))
        except (Unsupported, case_pages.UnsupportedShape, ValueError):
            found = None
    _plans[key] = found
    while len(_plans) > CACHE_ENTRIES:
        _plans.popitem(last=False)
    return found


async def compiled_data(
    schema: GraphQLSchema,
    rules: tuple[type[ASTValidationRule], ...],
    context: Context,
    prepared: Prepared,
    variables: object,
) -> str | None:
    """The JSON text of ``data`` for a query the compiler answers exactly, else ``None``."""
    if prepared.operation.operation is not OperationType.QUERY:
        return None
    if len(prepared.query) > CACHE_ENTRY_CHARS:
        return None  # plans are cached for short documents only
    principal = context.principal_or_none
    if principal is None:
        return None
    try:
        principal.require_case_access()
    except ServiceError:
        return None
    if variables is not None and not isinstance(variables, dict):
        return None
    coerced = get_variable_values(
        schema, prepared.operation.variable_definitions or (), variables or {}
    )
    if isinstance(coerced, list):
        return None
    found = plan(schema, rules, prepared, coerced.coerced)
    if found is None:
        return None
    query_type = schema.query_type
    assert isinstance(query_type, GraphQLObjectType)
    if found.statement.kind == "case":
        try:
            arguments = get_argument_values(query_type.fields[CASE_FIELD], found.field, coerced)
            case_id = from_global_id("ReturnCase", arguments["id"])
        except (GraphQLError, ServiceError):
            return None
        async with tenant_transaction(context.deps.engine, principal.tenant_id) as conn:
            # Not found (or another shelter's): the normal execution answers NOT_FOUND.
            return await case_pages.case_json(conn, found.statement, case_id)
    field_def = query_type.fields[ROOT_FIELD]
    try:
        arguments = get_argument_values(field_def, found.field, coerced)
        given = arguments.get("filter")
        flt = None
        if given is not None:
            flt = ReturnCaseFilter(
                phases=given.get("phases"),
                countries_of_origin=given.get("countriesOfOrigin"),
                intake_from=given.get("intakeFrom"),
                intake_to=given.get("intakeTo"),
            )
        query, first, after = page_request(
            context.settings.max_page_size, arguments.get("first", 20), arguments.get("after"), flt
        )
    except (GraphQLError, ServiceError):
        return None
    async with tenant_transaction(context.deps.engine, principal.tenant_id) as conn:
        return await case_pages.page_json(conn, found.statement, query, first, after)
