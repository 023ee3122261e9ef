"""Queries over returnCases answered by one compiled statement (``service.schema.compiled``).

The compiled answer must mean exactly what the schema's normal execution answers (same
values, same key order), cost at most BEGIN, set_config, one SELECT and COMMIT on one pool
connection, show nothing of another shelter, and leave every request it does not answer
exactly to the normal execution.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import uuid
from typing import Any

import pytest
from graphql import OperationType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request

from bench.scenarios.read import QUERY as BENCH_QUERY
from bench.scenarios.read import SIMPLE_QUERY
from service.auth import Principal
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.handlers.return_case import COUNTRY_FROM_SOCIAL_MAP, handle
from service.schema.compiled import compiled_data
from service.schema.context import Context
from service.schema.guards import prepare
from service.schema.ids import to_global_id
from service.socialmap.seed import organisation_id
from tests.e2e.conftest import GraphQLClient, codes, graphql_view
from tests.e2e.socialmap_support import load_demo

SHELTER = "humanitas-pmw"
OTHER = "het-kopland"
COUNTRY = "MW"  # no other test opens cases with this country of origin
MAX_PAGE = 50  # the tests' SAFE_FUTURE_MAX_PAGE_SIZE (the service's default is 100)
PARTNERS = ("demo-lagos-network", "demo-kyiv", "payoke")


@pytest.fixture(scope="module", autouse=True)
async def demo(admin_engine: AsyncEngine) -> None:
    await load_demo(admin_engine)


measuring: contextvars.ContextVar[bool] = contextvars.ContextVar("measuring", default=False)
_seeded: set[str] = set()


def _principal(app: Starlette, slug: str, role: str = "caseworker") -> Principal:
    return Principal(f"compiled-{slug}", app.state.deps.tenants[slug], frozenset({role}))


def _context(app: Starlette, principal: Principal | None) -> Context:
    view = graphql_view(app)
    return Context(
        request=Request({"type": "http", "headers": [], "app": app}),
        response=None,
        deps=app.state.deps,
        settings=view.settings,
        request_id="compiled-test",
        principal_or_none=principal,
        feed=app.state.feed,
        cursors=app.state.cursors,
    )


async def _seed(app: Starlette, slug: str, count: int) -> None:
    """``count`` cases of ``slug`` from COUNTRY, with partners and a timeline of 1-3 events."""
    if slug in _seeded:
        return
    _seeded.add(slug)
    deps = app.state.deps
    principal = _principal(app, slug)
    for i in range(count):
        case_id = uuid.uuid4()
        commands: list[Any] = [
            rc.OpenReturnCase(
                case_id,
                dt.date(2025, 1, 1) + dt.timedelta(days=i % 7),  # equal days: ties on case_id
                f"M-{slug}-{i}",
                v.Gender.MALE if i % 2 else v.Gender.FEMALE,
                1990 + i if i % 3 else None,
                COUNTRY,
                COUNTRY,
                ("en",),
                (),
            )
        ]
        for k in range(i % 3):
            commands.append(
                rc.ContactPartnerOrganisation(
                    case_id,
                    uuid.uuid4(),
                    organisation_id(PARTNERS[(i + k) % len(PARTNERS)]),
                    COUNTRY_FROM_SOCIAL_MAP,
                    v.ConsentPurpose.REFERRAL,
                    dt.date(2025, 6, 1),
                    False,
                )
            )
        for version, command in enumerate(commands):
            await handle(
                deps,
                principal,
                command,
                expected_version=version,
                idempotency_key=None,
                request_id="compiled-seed",
            )


async def _both(
    app: Starlette, query: str, variables: dict[str, Any], slug: str = SHELTER
) -> tuple[str | None, dict[str, Any]]:
    """The compiled data (JSON text, or None when it falls back) and the normal execution's
    result as a response body."""
    view = graphql_view(app)
    schema = view.schema
    prepared = prepare(
        schema._schema,  # type: ignore[attr-defined]
        query,
        variables,
        None,
        allowed=(OperationType.QUERY,),
        transport="post",
    )
    principal = _principal(app, slug)
    compiled = await compiled_data(
        schema._schema,  # type: ignore[attr-defined]
        schema.extra_rules,  # type: ignore[attr-defined]
        _context(app, principal),
        prepared,
        variables,
    )
    context = _context(app, principal)
    result = await schema.execute(query, variable_values=variables, context_value=context)
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [e.message for e in result.errors]
    return compiled, body


def _same(compiled: str, reference: dict[str, Any]) -> None:
    assert "errors" not in reference, reference
    # Equal values and equal key order.
    assert json.dumps(json.loads(compiled)) == json.dumps(reference["data"])


# --- documents over the supported fields ------------------------------------------------

CASE_LEAVES = (
    "id", "version", "phase", "pseudonym", "languages", "exploitationForms", "gender",
    "birthYear", "nationality", "countryOfOrigin",
    "intakeDate", "wish", "residenceStatus", "proceedingsStage", "departureObligation",
    "departureDeadline", "riskLevel", "plannedDepartureOn", "departedOn", "departureMode",
    "destinationCountry", "closingReason", "closedOn", "transferredTo", "followUpCount",
    "caseworker", "personalDataErased", "partnerOrganisationIds", "openedAt", "updatedAt",
    "__typename",
)  # fmt: skip
ORG_LEAVES = ("id", "version", "name", "country", "city", "region", "demo", "__typename")
TIMELINE_LEAVES = (
    "version",
    "eventType",
    "occurredAt",
    "actor",
    "actorRole",
    "summary",
    "__typename",
)


@st.composite
def _selection(
    draw: st.DrawFn, type_name: str, leaves: tuple[str, ...], nested: dict[str, str]
) -> str:
    names = draw(st.lists(st.sampled_from(leaves + tuple(nested)), min_size=1, max_size=6))
    parts = []
    for i, name in enumerate(names):
        alias = draw(st.sampled_from(("", f"a{i}: ")))
        directive = draw(st.sampled_from(("", " @include(if: $yes)", " @skip(if: $yes)",
                                          " @skip(if: false)")))  # fmt: skip
        body = nested.get(name, "")
        parts.append(f"{alias}{name}{directive}{body}")
    if draw(st.booleans()):
        parts = [f"... on {type_name} {{ {' '.join(parts)} }}"]
    return " ".join(parts)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    org = draw(_selection("SocialMapOrganisation", ORG_LEAVES, {}))
    entry = draw(_selection("TimelineEntry", TIMELINE_LEAVES, {}))
    node = draw(
        _selection(
            "ReturnCase",
            CASE_LEAVES,
            {"partnerOrganisations": f"{{ {org} }}", "timeline": f"{{ {entry} }}"},
        )
    )
    edge = f"cursor node {{ {node} }} __typename"
    if draw(st.booleans()):
        edge = "...E node { id }"
    page_info = draw(st.sampled_from(("hasNextPage", "endCursor", "hasNextPage endCursor")))
    fragment = "fragment E on ReturnCaseEdge { cursor node { id } }" if "...E" in edge else ""
    first = draw(st.sampled_from((1, 2, 5, 13, MAX_PAGE)))
    flt = draw(
        st.sampled_from(
            (
                "",
                ', filter: {countriesOfOrigin: ["MW"]}',
                ', filter: {countriesOfOrigin: ["mw"], phases: [INTAKE]}',
                ', filter: {phases: [CLOSED], countriesOfOrigin: ["MW"]}',
                ', filter: {intakeFrom: "2025-01-03", intakeTo: "2025-01-05"}',
            )
        )
    )
    query = (
        "query Q($first: Int!, $yes: Boolean!, $after: String) { "
        "__typename t: __typename @skip(if: $yes) "
        f"cases: returnCases(first: $first, after: $after{flt}) "
        f"{{ edges {{ {edge} }} pageInfo {{ {page_info} }} __typename }} }} {fragment}"
    )
    return query, {"first": first, "yes": draw(st.booleans()), "after": None}


async def test_compiled_pages_mean_what_the_normal_execution_answers(app: Starlette) -> None:
    await _seed(app, SHELTER, 12)

    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(documents())
    def check(document: tuple[str, dict[str, Any]]) -> None:
        examples.append(document)

    examples: list[tuple[str, dict[str, Any]]] = []
    check()
    assert examples
    for query, variables in examples:
        compiled, reference = await _both(app, query, variables)
        assert compiled is not None, query
        _same(compiled, reference)


@pytest.mark.parametrize("first", [1, 3, 5, 12, MAX_PAGE])
async def test_every_page_and_the_pages_after_it_match_the_normal_execution(
    app: Starlette, first: int
) -> None:
    await _seed(app, SHELTER, 12)
    query = (
        "query($first: Int!, $after: String) { returnCases(first: $first, after: $after, "
        'filter: {countriesOfOrigin: ["MW"]}) { edges { cursor node { id intakeDate '
        "partnerOrganisations { id name } timeline { version eventType } } } "
        "pageInfo { hasNextPage endCursor } } }"
    )
    after = None
    pages = 0
    while True:
        variables = {"first": first, "after": after}
        compiled, reference = await _both(app, query, variables)
        assert compiled is not None
        _same(compiled, reference)
        page = json.loads(compiled)["returnCases"]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == -(-12 // first)


async def test_the_bench_queries_are_compiled_and_match(app: Starlette, as_org: Any) -> None:
    await _seed(app, SHELTER, 12)
    client: GraphQLClient = as_org(SHELTER)
    for query in (BENCH_QUERY, SIMPLE_QUERY):
        for first in (5, MAX_PAGE):
            compiled, reference = await _both(app, query, {"first": first})
            assert compiled is not None
            _same(compiled, reference)
            # Over HTTP: the body is {"data": ...} around the statement's JSON.
            response = await client.post(query, {"first": first})
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("application/json")
            assert json.dumps(response.json()) == json.dumps({"data": reference["data"]})


async def test_an_empty_page_matches_the_normal_execution(app: Starlette) -> None:
    query = (
        'query { returnCases(first: 5, filter: {countriesOfOrigin: ["AQ"]}) '
        "{ edges { cursor } pageInfo { hasNextPage endCursor } } }"
    )
    compiled, reference = await _both(app, query, {})
    assert compiled is not None
    _same(compiled, reference)
    assert json.loads(compiled)["returnCases"] == {
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }


# --- what falls back ------------------------------------------------------------------------

FALLBACKS = {
    "a mutation": (
        "mutation($i: UpdateClientProfileInput!) { updateClientProfile(input: $i) { version } }",
        {},
    ),
    "introspection": (
        "{ __schema { queryType { name } } returnCases(first: 1) { edges { cursor } } }",
        {},
    ),
    "another root field": ("{ me { subject } returnCases(first: 1) { edges { cursor } } }", {}),
    "personal data (decrypted and logged)": (
        "{ returnCases(first: 1) { edges { node { personal { fullName } } } } }",
        {},
    ),
    "a computed field": (
        "{ returnCases(first: 1) { edges { node { readiness(kind: ASSISTED) { ready } } } } }",
        {},
    ),
    "a field with arguments below the root": (
        "{ returnCases(first: 1) { edges { node { suggestedPartners(first: 2) { id } } } } }",
        {},
    ),
    "an organisation's timestamp": (
        "{ returnCases(first: 1) { edges { node { partnerOrganisations { createdAt } } } } }",
        {},
    ),
    "an invalid document": ("{ returnCases(first: 1) { edges { nope } } }", {}),
    "first out of range": ("{ returnCases(first: 0) { edges { cursor } } }", {}),
    "first above the maximum page": (
        f"{{ returnCases(first: {MAX_PAGE + 1}) {{ edges {{ cursor }} }} }}",
        {},
    ),
    "an invalid cursor": ('{ returnCases(first: 1, after: "bad") { edges { cursor } } }', {}),
    "an invalid filter": (
        '{ returnCases(first: 1, filter: {countriesOfOrigin: ["XX"]}) { edges { cursor } } }',
        {},
    ),
    "variables that do not coerce": (
        "query($n: Int!) { returnCases(first: $n) { edges { cursor } } }",
        {"n": "ten"},
    ),
    "two pages in one request": (
        "{ a: returnCases(first: 1) { edges { cursor } } "
        "b: returnCases(first: 2) { edges { cursor } } }",
        {},
    ),
}


WIDE_NODE = " ".join(CASE_LEAVES) + " " + " ".join(f"k{i}: version" for i in range(26))
FALLBACKS["more keys in one object than json_build_object takes"] = (
    f"{{ returnCases(first: 2) {{ edges {{ node {{ {WIDE_NODE} }} }} }} }}",
    {},
)


@pytest.mark.parametrize("reason", sorted(FALLBACKS))
async def test_what_the_compiler_does_not_answer_exactly_runs_the_normal_way(
    app: Starlette, reason: str
) -> None:
    query, variables = FALLBACKS[reason]
    view = graphql_view(app)
    schema = view.schema
    prepared = prepare(
        schema._schema,  # type: ignore[attr-defined]
        query,
        variables,
        None,
        allowed=(OperationType.QUERY, OperationType.MUTATION),
        transport="post",
    )
    compiled = await compiled_data(
        schema._schema,  # type: ignore[attr-defined]
        schema.extra_rules,  # type: ignore[attr-defined]
        _context(app, _principal(app, SHELTER)),
        prepared,
        variables,
    )
    assert compiled is None


@pytest.mark.parametrize(
    ("reason", "principal"),
    [("no principal", None), ("a role without cases", ("comensha", "comensha-analyst"))],
)
async def test_callers_without_case_access_run_the_normal_way(
    app: Starlette, reason: str, principal: tuple[str, str] | None
) -> None:
    view = graphql_view(app)
    schema = view.schema
    prepared = prepare(
        schema._schema,  # type: ignore[attr-defined]
        SIMPLE_QUERY,
        {"first": 1},
        None,
        allowed=(OperationType.QUERY,),
        transport="post",
    )
    who = None if principal is None else _principal(app, principal[0], principal[1])
    compiled = await compiled_data(
        schema._schema,  # type: ignore[attr-defined]
        schema.extra_rules,  # type: ignore[attr-defined]
        _context(app, who),
        prepared,
        {"first": 1},
    )
    assert compiled is None, reason


# --- isolation, statements, connections --------------------------------------------------


async def test_another_shelters_cases_never_appear_through_compiled_pages(
    app: Starlette, as_org: Any
) -> None:
    await _seed(app, SHELTER, 12)
    await _seed(app, OTHER, 4)
    seen: dict[str, set[str]] = {}
    for slug in (SHELTER, OTHER):
        client: GraphQLClient = as_org(slug)
        ids: set[str] = set()
        after = None
        while True:
            body = await client.execute(
                "query($after: String) { returnCases(first: 50, after: $after, "
                'filter: {countriesOfOrigin: ["MW"]}) { edges { node { id } } '
                "pageInfo { hasNextPage endCursor } } }",
                {"after": after},
            )
            assert "errors" not in body, body
            page = body["data"]["returnCases"]
            ids.update(e["node"]["id"] for e in page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        seen[slug] = ids
    assert len(seen[SHELTER]) == 12
    assert len(seen[OTHER]) == 4
    assert not seen[SHELTER] & seen[OTHER]
    # A cursor from this shelter's pages, sent by the other shelter through the compiled
    # path: it only places the page; every case on it is the other shelter's own.
    first = await as_org(SHELTER).execute(BENCH_QUERY, {"first": 2})
    cursor = first["data"]["returnCases"]["pageInfo"]["endCursor"]
    query = (
        "query($first: Int!, $after: String) { returnCases(first: $first, after: $after) "
        "{ edges { node { id timeline { version } } } } }"
    )
    compiled, reference = await _both(app, query, {"first": MAX_PAGE, "after": cursor}, OTHER)
    assert compiled is not None
    _same(compiled, reference)
    edges = json.loads(compiled)["returnCases"]["edges"]
    assert {e["node"]["id"] for e in edges}.isdisjoint(seen[SHELTER])


async def test_a_compiled_page_costs_four_statements_on_one_connection_at_every_size(
    app: Starlette, as_org: Any
) -> None:
    await _seed(app, SHELTER, 12)
    client: GraphQLClient = as_org(SHELTER)
    statements: list[str] = []
    checkouts: list[int] = []
    connections: set[int] = set()  # the driver connections the request's statements ran on
    sync_engine = app.state.deps.engine.sync_engine

    def count(*args: Any) -> None:
        if measuring.get():  # this request only, not the service's background readers
            statements.append(args[2])
            connections.add(id(args[0].connection.driver_connection))

    def begin(*_args: Any) -> None:
        if measuring.get():
            statements.append("BEGIN")

    def commit(*_args: Any) -> None:
        if measuring.get():
            statements.append("COMMIT")

    def checkout(*_args: Any) -> None:
        if measuring.get():
            checkouts.append(1)

    listeners = [
        (sync_engine, "before_cursor_execute", count),
        (sync_engine, "begin", begin),
        (sync_engine, "commit", commit),
        (sync_engine.pool, "checkout", checkout),
    ]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    try:
        for query in (BENCH_QUERY, SIMPLE_QUERY):
            await client.execute(query, {"first": 5})  # the plan is made once
            for first in (5, 25, MAX_PAGE):
                statements.clear()
                checkouts.clear()
                connections.clear()
                token = measuring.set(True)
                try:
                    body = await client.execute(query, {"first": first})
                finally:
                    measuring.reset(token)
                assert "errors" not in body, body
                assert len(body["data"]["returnCases"]["edges"]) >= min(first, 12)
                assert len(statements) <= 4, statements
                assert statements[0] == "BEGIN", statements
                assert statements[-1] == "COMMIT", statements
                # One connection: checked out of the pool, or kept from an earlier transaction.
                assert len(connections) == 1
                assert len(checkouts) <= 1
    finally:
        for target, name, fn in listeners:
            event.remove(target, name, fn)


async def test_a_page_too_wide_for_one_json_object_is_answered_the_normal_way(
    app: Starlette, as_org: Any
) -> None:
    await _seed(app, SHELTER, 12)
    query = f"{{ returnCases(first: 2) {{ edges {{ node {{ {WIDE_NODE} }} }} }} }}"
    body = await as_org(SHELTER).execute(query)
    assert "errors" not in body, body
    nodes = [e["node"] for e in body["data"]["returnCases"]["edges"]]
    assert len(nodes) == 2
    assert all(len(n) == len(CASE_LEAVES) + 26 for n in nodes)
    assert all(n["k25"] == n["version"] for n in nodes)


@pytest.mark.parametrize(
    "reason", ["first out of range", "first above the maximum page", "an invalid cursor",
               "an invalid filter"],
)  # fmt: skip
async def test_requests_the_resolver_refuses_keep_its_error_over_http(
    as_org: Any, reason: str
) -> None:
    query, variables = FALLBACKS[reason]
    body = await as_org(SHELTER).execute(query, variables)
    assert body["data"] is None
    assert codes(body) == ["BAD_USER_INPUT"]


# --- one case ------------------------------------------------------------------------------


@st.composite
def case_documents(draw: st.DrawFn) -> str:
    org = draw(_selection("SocialMapOrganisation", ORG_LEAVES, {}))
    entry = draw(_selection("TimelineEntry", TIMELINE_LEAVES, {}))
    node = draw(
        _selection(
            "ReturnCase",
            CASE_LEAVES,
            {"partnerOrganisations": f"{{ {org} }}", "timeline": f"{{ {entry} }}"},
        )
    )
    return (
        "query One($id: ID!, $yes: Boolean!) { t: __typename @skip(if: $yes) "
        f"c: returnCase(id: $id) {{ {node} }} }}"
    )


async def _case_ids(as_org: Any, slug: str) -> list[str]:
    body = await as_org(slug).execute(
        '{ returnCases(first: 50, filter: {countriesOfOrigin: ["MW"]}) { edges { node { id } } } }'
    )
    return [e["node"]["id"] for e in body["data"]["returnCases"]["edges"]]


async def test_one_compiled_case_means_what_the_normal_execution_answers(
    app: Starlette, as_org: Any
) -> None:
    await _seed(app, SHELTER, 12)
    ids = await _case_ids(as_org, SHELTER)
    assert len(ids) == 12

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(case_documents(), st.sampled_from(ids), st.booleans())
    def check(query: str, case_id: str, yes: bool) -> None:
        examples.append((query, {"id": case_id, "yes": yes}))

    examples: list[tuple[str, dict[str, Any]]] = []
    check()
    for query, variables in examples:
        compiled, reference = await _both(app, query, variables)
        assert compiled is not None, query
        _same(compiled, reference)


async def test_a_case_that_is_not_there_or_another_shelters_is_not_found_as_before(
    app: Starlette, as_org: Any
) -> None:
    await _seed(app, SHELTER, 12)
    await _seed(app, OTHER, 4)
    others = await _case_ids(as_org, OTHER)
    query = "query($id: ID!) { returnCase(id: $id) { id version phase } }"
    missing = to_global_id("ReturnCase", uuid.uuid4())
    for case_id in (missing, *others, "not-an-id"):
        compiled, reference = await _both(app, query, {"id": case_id})
        assert compiled is None
        body = await as_org(SHELTER).execute(query, {"id": case_id})
        assert body["data"] is None
        assert codes(body) == ["BAD_USER_INPUT" if case_id == "not-an-id" else "NOT_FOUND"]
    # The other shelter reads its own case through the compiled statement.
    compiled, reference = await _both(app, query, {"id": others[0]}, slug=OTHER)
    assert compiled is not None
    _same(compiled, reference)
