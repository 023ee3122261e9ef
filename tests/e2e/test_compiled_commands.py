"""Mutations run without the executor (``service.schema.compiled_commands``), over HTTP.

A compiled command must answer exactly what the schema's normal execution answers (values,
errors with their paths, locations and codes), be measured and logged as it is, show and
change nothing of another shelter, and leave what it does not cover to the normal execution.
Each pair below sends the same mutation twice: as the plan covers it, and with a directive
(``@include(if: true)``) that the plan leaves to the normal execution and that changes nothing
else, not even the root field's location.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from graphql import OperationType
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request

from service.auth import Principal
from service.graphql_view import GRAPHQL_RESPONSE
from service.schema.compiled_commands import Outcome
from service.schema.context import Context
from service.schema.guards import prepare
from service.schema.ids import to_global_id
from tests.e2e.case_steps import OPENING, mutation, the_normal_way
from tests.e2e.conftest import GraphQLClient, codes, graphql_view

SHELTER = "humanitas-pmw"
OTHER = "het-kopland"


def compiled(name: str) -> str:
    return mutation(name)


def normal(name: str) -> str:
    return the_normal_way(mutation(name))


@pytest.fixture
def executions(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The documents the schema's normal execution ran, in order."""
    schema = graphql_view(app).schema
    ran: list[str] = []
    execute = schema.execute

    async def recorded(query: str | None, *args: Any, **kwargs: Any) -> Any:
        ran.append(query or "")
        return await execute(query, *args, **kwargs)

    monkeypatch.setattr(schema, "execute", recorded)
    return ran


WALK: list[tuple[str, dict[str, Any]]] = [
    ("assessRisk", {"assessedOn": "2026-01-06", "level": "MEDIUM", "factors": ["DEBTS"]}),
    ("recordReturnConversation", {"heldOn": "2026-01-07", "wish": "WANTS_TO_RETURN"}),
    (
        "recordTravelDocument",
        {"status": "OWN_VALID", "recordedOn": "2026-01-08", "originalIdentityDocument": False},
    ),
    ("closeReturnCase", {"reason": "WITHDREW", "closedOn": "2026-01-09"}),
]


def _without(body: dict[str, Any], case_id: str) -> str:
    """The body as text with the case's own ID taken out."""
    return re.sub(re.escape(case_id), "<case>", repr(body))


async def _open(client: GraphQLClient, document: str) -> dict[str, Any]:
    body = await client.execute(document, {"input": OPENING})
    assert "errors" not in body, body
    case: dict[str, Any] = body["data"]["openReturnCase"]["case"]
    return case


async def test_a_case_walked_by_compiled_commands_answers_as_the_normal_execution(
    as_org: Any, executions: list[str]
) -> None:
    client = as_org(SHELTER)
    fast = await _open(client, compiled("openReturnCase"))
    assert executions == []
    slow = await _open(client, normal("openReturnCase"))
    assert executions == [normal("openReturnCase")]
    assert {**fast, "id": None} == {**slow, "id": None}
    for name, fields in WALK:
        bodies = []
        for case, document in ((fast, compiled(name)), (slow, normal(name))):
            variables = {"caseId": case["id"], "expectedVersion": case["version"], **fields}
            body = await client.execute(document, {"input": variables})
            assert "errors" not in body, body
            case.update(body["data"][name]["case"])
            bodies.append(_without(body, case["id"]))
        assert bodies[0] == bodies[1], name
        assert executions[-1] == normal(name)
    assert len(executions) == 1 + len(WALK)
    assert fast["phase"] == "CLOSED"


def _refusals(case: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    stale = {"caseId": case["id"], "expectedVersion": case["version"] - 1}
    current = {"caseId": case["id"], "expectedVersion": case["version"]}
    missing = to_global_id("ReturnCase", uuid.uuid4())
    risk = {"assessedOn": "2026-01-06", "level": "LOW"}
    departure = {"departedOn": "2026-01-07", "mode": "ASSISTED", "destinationCountry": "RO"}
    return [
        ("assessRisk", {**stale, **risk}),
        ("assessRisk", {**current, **risk, "caseId": "bm90LWFuLWlk"}),
        ("assessRisk", {**current, **risk, "caseId": missing}),
        ("assessRisk", {**current, **risk, "level": "HIGH"}),
        ("assessRisk", {**current, **risk, "notes": "n" * 4001}),
        ("recordDeparture", {**current, **departure}),
        ("assessRisk", {**current, "assessedOn": "2026-01-06"}),  # variables do not coerce
    ]


async def test_a_refused_command_answers_as_the_normal_execution_and_changes_nothing(
    as_org: Any, executions: list[str]
) -> None:
    client = as_org(SHELTER)
    case = await _open(client, compiled("openReturnCase"))
    first = {"caseId": case["id"], "expectedVersion": case["version"]}
    body = await client.execute(
        compiled("assessRisk"), {"input": {**first, "assessedOn": "2026-01-06", "level": "LOW"}}
    )
    case = body["data"]["assessRisk"]["case"]
    seen: set[str] = set()
    for name, variables in _refusals(case):
        bodies = [
            (await client.execute(document, {"input": variables}))
            for document in (compiled(name), normal(name))
        ]
        assert bodies[0] == bodies[1], (name, variables)
        assert bodies[0]["data"] is None
        seen.update(codes(bodies[0]))
    assert seen == {"CONFLICT", "BAD_USER_INPUT", "NOT_FOUND"}
    # Only the request whose variables do not coerce ran the normal way without being asked.
    assert executions.count(compiled("assessRisk")) == 1
    after = await client.execute(
        "query C($id: ID!) { returnCase(id: $id) { version riskLevel } }", {"id": case["id"]}
    )
    assert after["data"]["returnCase"] == {"version": case["version"], "riskLevel": "LOW"}


async def test_another_shelter_cannot_change_or_see_a_case_through_a_compiled_command(
    as_org: Any, executions: list[str]
) -> None:
    owner = as_org(SHELTER)
    case = await _open(owner, compiled("openReturnCase"))
    variables = {
        "caseId": case["id"],
        "expectedVersion": case["version"],
        "assessedOn": "2026-01-06",
        "level": "HIGH",
        "factors": ["DEBTS"],
    }
    other = as_org(OTHER)
    fast = await other.execute(compiled("assessRisk"), {"input": variables})
    slow = await other.execute(normal("assessRisk"), {"input": variables})
    assert fast == slow
    assert codes(fast) == ["NOT_FOUND"]
    assert "HIGH" not in repr(fast)
    assert "Client" not in repr(fast)
    assert executions == [normal("assessRisk")]
    after = await owner.execute(
        "query C($id: ID!) { returnCase(id: $id) { version riskLevel } }", {"id": case["id"]}
    )
    assert after["data"]["returnCase"] == {"version": case["version"], "riskLevel": None}


def _metric(text: str, name: str, label: str) -> float:
    found = re.search(rf"^{name}\{{{label}\}} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_a_compiled_command_is_measured_and_logged_as_the_normal_execution(
    as_org: Any,
    http: httpx.AsyncClient,
    executions: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = as_org(SHELTER)
    case = await _open(client, compiled("openReturnCase"))
    count = "safe_future_graphql_request_seconds_count"
    errors = "safe_future_graphql_errors_total"
    label = 'operation="mutation:assessRisk"'
    conflict = 'code="CONFLICT"'
    figures: list[tuple[float, float]] = []
    logged: list[list[tuple[str, Any]]] = []
    for document in (compiled("assessRisk"), normal("assessRisk")):
        before = (await http.get("/metrics")).text
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="service.graphql"):
            stale = {"caseId": case["id"], "expectedVersion": case["version"] + 5}
            body = await client.execute(
                document, {"input": {**stale, "assessedOn": "2026-01-06", "level": "LOW"}}
            )
        assert codes(body) == ["CONFLICT"]
        after = (await http.get("/metrics")).text
        figures.append(
            (
                _metric(after, count, label) - _metric(before, count, label),
                _metric(after, errors, conflict) - _metric(before, errors, conflict),
            )
        )
        logged.append(
            [(r.getMessage(), getattr(r, "code", None)) for r in caplog.records
             if r.name == "service.graphql"]
        )  # fmt: skip
    assert figures == [(1.0, 1.0), (1.0, 1.0)]
    assert logged[0] == logged[1] == [("request refused", "CONFLICT")]
    assert executions == [normal("assessRisk")]


async def test_a_compiled_command_returns_nothing_when_personal_reads_cannot_be_recorded(
    app: Starlette,
) -> None:
    view = graphql_view(app)
    dead = create_async_engine("postgresql+asyncpg://nobody:nothing@127.0.0.1:9/none")
    try:
        tenant = app.state.deps.tenants[SHELTER]
        context = Context(
            request=Request({"type": "http", "headers": [], "app": app}),
            response=None,
            deps=dataclasses.replace(app.state.deps, engine=dead),
            settings=view.settings,
            request_id="compiled-access-log",
            principal_or_none=Principal("compiled", tenant, frozenset({"caseworker"})),
            feed=app.state.feed,
            cursors=app.state.cursors,
        )
        context.personal_reads[uuid.uuid4()] = {"fullName"}
        prepared = prepare(
            view.schema._schema,  # type: ignore[attr-defined]
            compiled("assessRisk"),
            None,
            None,
            allowed=(OperationType.MUTATION,),
            transport="post",
        )
        outcome = Outcome({"assessRisk": {"version": 2}}, [])
        response = await view._command_response(
            outcome, context, prepared, time.perf_counter(), GRAPHQL_RESPONSE
        )
    finally:
        await dead.dispose()
    # A request error: no data at all under graphql-response+json, as the normal way answers.
    assert response.status_code == 400
    body = json.loads(bytes(response.body))
    assert set(body) == {"errors"}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INTERNAL"]
