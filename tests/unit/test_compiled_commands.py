"""A compiled mutation (``service.schema.compiled_commands``) completes its payload as
graphql-core's executor does: the same values, the same errors at the same paths and the same
nulls, for every payload a resolver can return, and it plans only what it completes exactly.

The schema here is graphql-core's own, with plain fields marked as strawberry marks them
(``_is_default``), so the executor it is compared with runs no strawberry code either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from inspect import isawaitable
from typing import Any

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    execute,
    parse,
)
from hypothesis import given
from hypothesis import strategies as st
from strawberry.extensions import SchemaExtension

from service.schema import build_schema
from service.schema.compiled_commands import compiled_command
from service.schema.guards import Prepared


def _plain(name: str) -> Callable[[Any, Any], Any]:
    def resolve(source: Any, _info: Any) -> Any:
        return source.get(name) if isinstance(source, dict) else getattr(source, name, None)

    resolve._is_default = True  # type: ignore[attr-defined]
    return resolve


def _field(kind: Any, name: str) -> GraphQLField:
    return GraphQLField(kind, resolve=_plain(name))


PHASE = GraphQLEnumType("Phase", {"OPEN": "open", "CLOSED": "closed"})
CASE = GraphQLObjectType(
    "Case",
    lambda: {
        "id": _field(GraphQLNonNull(GraphQLID), "id"),
        "phase": _field(GraphQLNonNull(PHASE), "phase"),
        "note": _field(GraphQLString, "note"),
        "tags": _field(GraphQLNonNull(GraphQLList(GraphQLNonNull(GraphQLString))), "tags"),
        "counts": _field(GraphQLList(GraphQLInt), "counts"),
        "computed": GraphQLField(GraphQLString, resolve=lambda source, _info: "computed"),
    },
    is_type_of=lambda value, _info: isinstance(value, dict) and value.get("kind") == "case",
)
PAYLOAD = GraphQLObjectType(
    "Payload",
    lambda: {
        "version": _field(GraphQLNonNull(GraphQLInt), "version"),
        "case": _field(GraphQLNonNull(CASE), "case"),
        "other": _field(CASE, "other"),
    },
)
_returned: list[Any] = []


async def _run(_source: Any, _info: Any, input: int | None = None) -> Any:
    value = _returned[0]
    if isinstance(value, Exception):
        raise value
    return value


_settled: list[str] = []


async def _part(n: int) -> int:
    await asyncio.sleep(0)
    return n


async def _settle(name: str) -> None:
    await asyncio.sleep(0)
    _settled.append(name)


async def _run_together(_source: Any, info: Any) -> Any:
    """A resolver that uses the executor's helpers: two parts gathered, one tracked."""
    parts = await info.async_helpers.gather([_part(2), _part(3)])
    info.async_helpers.track([_settle("tracked"), "not awaitable"])
    return {"version": sum(parts), "case": {"kind": "case", "id": 1, "phase": "open", "tags": []}}


SCHEMA = GraphQLSchema(
    query=GraphQLObjectType("Query", {"ping": GraphQLField(GraphQLInt)}),
    mutation=GraphQLObjectType(
        "Mutation",
        {
            "run": GraphQLField(
                GraphQLNonNull(PAYLOAD), {"input": GraphQLArgument(GraphQLInt)}, resolve=_run
            ),
            "runMaybe": GraphQLField(PAYLOAD, {"input": GraphQLArgument(GraphQLInt)}, resolve=_run),
            "runTogether": GraphQLField(GraphQLNonNull(PAYLOAD), resolve=_run_together),
        },
    ),
)
SELECTION = (
    "{ version kind: __typename case { id phase note tags counts __typename } "
    "alias: other { phase note } }"
)
DOCUMENTS = [
    f"mutation Run($n: Int) {{ run(input: $n) {SELECTION} }}",
    f"mutation {{ result: runMaybe(input: 3) {SELECTION} }}",
]


def _prepared(query: str) -> Prepared:
    document = parse(query)
    operation = document.definitions[0]
    return Prepared(query, document, operation)  # type: ignore[arg-type]


async def _both(query: str, returned: Any) -> tuple[Any, Any]:
    _returned[:] = [returned]
    compiled = await compiled_command(SCHEMA, (), None, _prepared(query), {"n": 1})  # type: ignore[arg-type]
    assert compiled is not None
    normal = execute(SCHEMA, parse(query), variable_values={"n": 1})
    if isawaitable(normal):
        normal = await normal
    return (
        (compiled.data, [(e.message, e.path, e.locations) for e in compiled.errors]),
        (normal.data, [(e.message, e.path, e.locations) for e in normal.errors or []]),
    )


_scalar = st.one_of(
    st.none(), st.integers(-3, 3), st.sampled_from(["", "x", "open", "closed"]), st.booleans()
)
_list = st.one_of(st.none(), _scalar, st.lists(_scalar, max_size=3))
_case = st.one_of(
    st.none(),
    st.integers(0, 1),
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["case", "case", "case", "other"]),
            "id": _scalar,
            "phase": _scalar,
            "note": _scalar,
            "tags": _list,
            "counts": _list,
        }
    ),
)
_payload = st.one_of(
    st.none(),
    st.just("not an object"),
    st.builds(ValueError, st.just("refused")),
    st.fixed_dictionaries({"version": _scalar, "case": _case, "other": _case}),
)


@pytest.mark.parametrize("query", DOCUMENTS)
@given(returned=_payload)
async def test_a_compiled_payload_completes_as_the_executor_completes_it(
    query: str, returned: Any
) -> None:
    compiled, normal = await _both(query, returned)
    assert compiled == normal


@pytest.mark.parametrize(
    "query",
    [
        "query { ping }",
        "mutation { run { version } runMaybe { version } }",
        "mutation { run @include(if: true) { version } }",
        "mutation { run { version @skip(if: false) } }",
        "mutation { run { ... on Payload { version } } }",
        "mutation { run { ...P } } fragment P on Payload { version }",
        "mutation { run { version version } }",
        "mutation { run { case { computed } } }",
        "mutation { run { unknown } }",
        "mutation Run($n: Int) { run(input: $n) { version } }  # " + "x" * 8000,
    ],
)
async def test_what_the_plan_does_not_cover_is_left_to_the_normal_execution(query: str) -> None:
    _returned[:] = [RuntimeError("the resolver must not run")]
    assert await compiled_command(SCHEMA, (), None, _prepared(query), {}) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("mutation Run($n: Int) { run(input: $n) { version } }", {"n": "three"}),
        ("mutation Run($n: Int!) { run(input: $n) { version } }", {}),
        ("mutation Run($n: Int) { run(input: $n) { version } }", ["not", "an", "object"]),
    ],
)
async def test_variables_that_do_not_coerce_are_left_to_the_normal_execution(
    query: str, variables: Any
) -> None:
    _returned[:] = [RuntimeError("the resolver must not run")]
    assert await compiled_command(SCHEMA, (), None, _prepared(query), variables) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("production", [False, True])
def test_a_compiled_command_finishes_what_each_schema_extension_does(production: bool) -> None:
    """The compiled path validates with the schema's rules, records personal reads, logs
    errors and measures the operation, as these extensions do for a mutation. An extension
    added to the schema, or one that wraps every resolver, must be done there too."""
    extensions = build_schema(production=production).get_extensions()
    expected = {"AddValidationRules", "PreparedDocument", "OperationMetrics"}
    expected |= {"PersonalDataAccessLog"} | ({"DisableIntrospection"} if production else set())
    assert {type(e).__name__ for e in extensions} == expected
    assert all(type(e).resolve is SchemaExtension.resolve for e in extensions)


async def test_a_resolver_gathers_and_tracks_work_as_under_the_executor() -> None:
    query = "mutation { runTogether { version case { id phase } } }"
    compiled, normal = await _both(query, None)
    assert compiled == normal
    assert compiled[0] == {"runTogether": {"version": 5, "case": {"id": "1", "phase": "OPEN"}}}
    for _ in range(5):  # the tracked work settles in the background, after the answer
        await asyncio.sleep(0)
    assert _settled == ["tracked", "tracked"]
