"""Every response that returns a client's personal fields is recorded: who, organisation,
roles, case, which fields, when, request id; tenant admins read the log per case and per user."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from starlette.applications import Starlette

from service.privacy import access_log
from tests.conftest import TokenFactory
from tests.e2e.conftest import GraphQLClient, codes
from tests.e2e.test_privacy_erasure import Person, erase, open_personal_case

ORG = "blijf-groep"
LOG_QUERY = """
query($caseId: ID, $actor: String, $first: Int, $after: String) {
  personalDataAccessLog(caseId: $caseId, actor: $actor, first: $first, after: $after) {
    edges { cursor node { id actor organisation roles caseId fields requestId accessedAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
CASE_QUERY = "query($id: ID!) { returnCase(id: $id) { id %s } }"
QUIET = "id version"  # what the tests' own set-up asks for: no personal field


@pytest.fixture(scope="module")
def admin_of(as_org: Any) -> GraphQLClient:
    client: GraphQLClient = as_org(ORG, "tenant-admin")
    return client


async def read_log(admin: GraphQLClient, **variables: Any) -> list[dict[str, Any]]:
    body = await admin.execute(LOG_QUERY, variables)
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["personalDataAccessLog"]["edges"]]


@contextmanager
def inserts_into_the_log(app: Starlette) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "record_personal_data_access(" in statement:
            seen.append(statement)

    engine = app.state.deps.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_a_read_of_personal_fields_is_recorded_with_who_what_and_when(
    as_org: Any, admin_of: GraphQLClient
) -> None:
    reader = as_org(ORG)
    case = await open_personal_case(reader, Person.make(), QUIET)
    response = await reader.post(
        CASE_QUERY % "personal { fullName dateOfBirth notes }", {"id": case["id"]}
    )
    assert response.status_code == 200
    assert response.json()["data"]["returnCase"]["personal"]["fullName"]

    log = await read_log(admin_of, caseId=case["id"])
    # The opening mutation returned no personal fields: only the query is recorded.
    assert len(log) == 1
    (record,) = log
    assert record["actor"] == f"user-of-{ORG}"
    assert (record["organisation"], record["roles"]) == (ORG, ["caseworker"])
    assert record["caseId"] == case["id"]
    assert record["fields"] == ["dateOfBirth", "fullName", "notes"]
    assert record["requestId"] == response.headers["x-request-id"]


async def test_only_the_fields_returned_are_named(as_org: Any, admin_of: GraphQLClient) -> None:
    reader = as_org(ORG)
    case = await open_personal_case(reader, Person.make(), QUIET)
    await reader.execute(CASE_QUERY % "personal { fullName }", {"id": case["id"]})
    await reader.execute(
        "query($id: ID!) { returnCase(id: $id) { personal { ...P } } } "
        "fragment P on ClientPersonalData { dateOfBirth }",
        {"id": case["id"]},
    )
    log = await read_log(admin_of, caseId=case["id"])
    assert [r["fields"] for r in log] == [["dateOfBirth"], ["fullName"]]  # newest first


async def test_responses_without_personal_values_are_not_recorded(
    as_org: Any, admin_of: GraphQLClient
) -> None:
    reader = as_org(ORG)
    case = await open_personal_case(reader, Person.make(), QUIET)
    await reader.execute(CASE_QUERY % "phase pseudonym", {"id": case["id"]})
    erased = (await erase(admin_of, case))["data"]["eraseClientPersonalData"]["case"]
    assert erased["personal"] is None
    body = await reader.execute(CASE_QUERY % "personal { fullName }", {"id": case["id"]})
    assert body["data"]["returnCase"]["personal"] is None
    assert await read_log(admin_of, caseId=case["id"]) == []


async def test_a_list_is_recorded_per_case_in_one_statement(
    as_org: Any, admin_of: GraphQLClient, app: Starlette
) -> None:
    reader = as_org(ORG, "caseworker")
    cases = [await open_personal_case(reader, Person.make(), QUIET) for _ in range(3)]
    with inserts_into_the_log(app) as inserts:
        response = await reader.post(
            "{ returnCases(first: 50) { edges { node { id personal { fullName } } } } }"
        )
    assert response.status_code == 200
    assert len(inserts) == 1
    request_id = response.headers["x-request-id"]
    for case in cases:
        (record,) = await read_log(admin_of, caseId=case["id"])
        assert (record["requestId"], record["fields"]) == (request_id, ["fullName"])


async def test_a_mutation_returning_personal_fields_is_recorded_too(
    as_org: Any, admin_of: GraphQLClient
) -> None:
    reader = as_org(ORG)
    case = await open_personal_case(reader, Person.make(), QUIET)
    body = await reader.execute(
        "mutation($input: RecordReturnConversationInput!) { recordReturnConversation("
        "input: $input) { case { personal { notes } } } }",
        {"input": {"caseId": case["id"], "expectedVersion": 1, "heldOn": "2026-01-06",
                   "wish": "UNDECIDED"}},
    )  # fmt: skip
    assert body["data"]["recordReturnConversation"]["case"]["personal"]["notes"]
    assert [r["fields"] for r in await read_log(admin_of, caseId=case["id"])] == [["notes"]]


async def test_the_log_is_read_per_user_and_paged(
    as_org: Any, admin_of: GraphQLClient, make_token: TokenFactory
) -> None:
    subject = f"reader-{uuid.uuid4().hex[:8]}"
    reader = GraphQLClient(admin_of.http, make_token(ORG, "caseworker", subject=subject))
    case = await open_personal_case(as_org(ORG), Person.make(), QUIET)
    for _ in range(3):
        await reader.execute(CASE_QUERY % "personal { fullName }", {"id": case["id"]})

    first = await admin_of.execute(LOG_QUERY, {"actor": subject, "first": 2})
    page = first["data"]["personalDataAccessLog"]
    assert [e["node"]["actor"] for e in page["edges"]] == [subject, subject]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await read_log(admin_of, actor=subject, first=2, after=page["pageInfo"]["endCursor"])
    assert len(rest) == 1
    ids = [e["node"]["id"] for e in page["edges"]] + [r["id"] for r in rest]
    assert len(set(ids)) == 3
    assert await read_log(admin_of, actor="nobody-at-all") == []
    both = await read_log(admin_of, actor=subject, caseId=case["id"])
    assert len(both) == 3
    bad = await admin_of.execute(LOG_QUERY, {"after": "not-a-cursor"})
    assert codes(bad) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    "principal",
    [(ORG, "caseworker"), (ORG, "integrator"), ("comensha", "comensha-analyst"),
     ("comensha", "tenant-admin")],
    ids=lambda p: " ".join(p),
)  # fmt: skip
async def test_only_a_shelters_tenant_admin_reads_the_log(
    as_org: Any, principal: tuple[str, str]
) -> None:
    body = await as_org(*principal).execute(LOG_QUERY, {})
    assert codes(body) == ["FORBIDDEN"]
    assert body["data"] is None


async def test_another_shelters_admin_sees_nothing_of_it(
    as_org: Any, admin_of: GraphQLClient
) -> None:
    case = await open_personal_case(as_org(ORG), Person.make(), QUIET)
    await as_org(ORG).execute(CASE_QUERY % "personal { fullName }", {"id": case["id"]})
    assert len(await read_log(admin_of, caseId=case["id"])) == 1
    assert await read_log(as_org("moviera", "tenant-admin"), caseId=case["id"]) == []


async def test_personal_data_is_not_served_when_the_access_cannot_be_recorded(
    as_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = as_org(ORG)
    case = await open_personal_case(reader, Person.make(), QUIET)

    async def broken(*_args: Any, **_kwargs: Any) -> int:
        raise OSError("the disk is full")

    monkeypatch.setattr(access_log, "record_reads", broken)
    body = await reader.execute(CASE_QUERY % "personal { fullName }", {"id": case["id"]})
    assert body["data"] is None
    assert codes(body) == ["INTERNAL"]
    assert "disk" not in str(body)
    monkeypatch.undo()
    body = await reader.execute(CASE_QUERY % "personal { fullName }", {"id": case["id"]})
    assert body["data"]["returnCase"]["personal"]["fullName"]


async def test_the_event_feed_page_decrypts_for_the_shelter_and_is_recorded(
    as_org: Any, admin_of: GraphQLClient
) -> None:
    reader = as_org(ORG)
    person = Person.make()
    case = await open_personal_case(reader, person, QUIET)
    body = await reader.execute(
        "query($c: ID) { caseEvents(caseId: $c, first: 10) { edges { node { personal } } } }",
        {"c": case["id"]},
    )
    (edge,) = body["data"]["caseEvents"]["edges"]
    assert edge["node"]["personal"]["full_name"] == person.full_name
    (record,) = await read_log(admin_of, caseId=case["id"])
    assert record["fields"] == ["date_of_birth", "full_name", "notes"]
