"""Repeating a request is safe; racing requests lose nothing and overwrite nothing.

A request sent again with its ``idempotencyKey`` answers with the first result and appends
nothing, however the case moved on since. A key names one request: reusing it for another is
refused (rule IDEMPOTENCY_KEY_REUSED). Two changes decided on the same version of a case race
to append: exactly one wins, and the other gets CONFLICT naming the version it lost to.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.schema.ids import from_global_id
from tests.e2e.conftest import GraphQLClient, codes

CASE_FIELDS = "id version phase wish riskLevel"
OPEN = f"""
mutation Open($input: OpenReturnCaseInput!) {{
  openReturnCase(input: $input) {{ version replayed case {{ {CASE_FIELDS} }} }}
}}
"""
OPEN_INPUT = {
    "intakeDate": "2026-01-05",
    "pseudonym": "Client R",
    "gender": "FEMALE",
    "birthYear": 1997,
    "nationality": "VN",
    "countryOfOrigin": "VN",
    "languages": ["vi"],
    "exploitationForms": ["FORCED_CRIMINAL_ACTIVITY"],
    "fullName": "Rosa Testperson",
}


def mutation_document(name: str) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return f"""
    mutation Run($input: {input_type}!) {{
      {name}(input: $input) {{ version replayed case {{ {CASE_FIELDS} }} }}
    }}
    """


def new_key() -> str:
    return f"key-{uuid.uuid4()}"


async def count_events(engine: AsyncEngine, tenant: str, stream: str | None = None) -> int:
    """Events of one tenant (optionally of one case), read as the owner under that tenant's RLS."""
    async with engine.begin() as conn:
        tenant_id = await conn.scalar(text("SELECT id FROM tenants WHERE slug = :s"), {"s": tenant})
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
        )
        sql = "SELECT count(*) FROM events WHERE tenant_id = :t"
        params: dict[str, Any] = {"t": tenant_id}
        if stream is not None:
            sql += " AND stream_id = :s"
            params["s"] = from_global_id("ReturnCase", stream)
        return int(await conn.scalar(text(sql), params) or 0)


@pytest.fixture(scope="module")
def client(as_org: Any) -> GraphQLClient:
    """A case worker of Jade Zorggroep (one token for the module: signing takes a while)."""
    return as_org("jade-zorggroep")  # type: ignore[no-any-return]


TENANT = "jade-zorggroep"


async def open_case(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    body = await client.execute(OPEN, {"input": {**OPEN_INPUT, **fields}})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["openReturnCase"]
    return payload


async def mutate(client: GraphQLClient, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    return await client.execute(mutation_document(name), {"input": fields})


def conversation(case: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "caseId": case["id"],
        "expectedVersion": case["version"],
        "heldOn": "2026-01-10",
        "wish": "WANTS_TO_RETURN",
        **overrides,
    }


def risk(case: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "caseId": case["id"],
        "expectedVersion": case["version"],
        "assessedOn": "2026-01-12",
        "level": "LOW",
        **overrides,
    }


def refused(body: dict[str, Any], code: str, **extensions: Any) -> None:
    assert codes(body) == [code], body
    assert body["data"] is None, body
    for key, value in extensions.items():
        assert body["errors"][0]["extensions"].get(key) == value, body


# --- repeats --------------------------------------------------------------------------------------


async def test_open_repeated_with_its_key_returns_the_same_case_and_appends_one_event(
    client: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    key = new_key()
    before = await count_events(admin_engine, TENANT)

    first = await open_case(client, idempotencyKey=key)
    again = await open_case(client, idempotencyKey=key)

    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["case"]["id"] == first["case"]["id"]
    assert (first["version"], again["version"]) == (1, 1)
    assert await count_events(admin_engine, TENANT) == before + 1
    assert await count_events(admin_engine, TENANT, first["case"]["id"]) == 1


async def test_open_without_a_key_opens_a_new_case_each_time(
    client: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    before = await count_events(admin_engine, TENANT)

    first = await open_case(client)
    second = await open_case(client)

    assert first["case"]["id"] != second["case"]["id"]
    assert (first["replayed"], second["replayed"]) == (False, False)
    assert await count_events(admin_engine, TENANT) == before + 2


async def test_case_change_repeated_after_the_case_moved_on_returns_the_first_result(
    client: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    case = (await open_case(client))["case"]
    key = new_key()
    first = await mutate(client, "recordReturnConversation", conversation(case, idempotencyKey=key))
    assert first["data"]["recordReturnConversation"]["version"] == 2, first
    moved_on = await mutate(client, "assessRisk", risk({**case, "version": 2}))
    assert moved_on["data"]["assessRisk"]["version"] == 3, moved_on
    events = await count_events(admin_engine, TENANT, case["id"])

    again = await mutate(client, "recordReturnConversation", conversation(case, idempotencyKey=key))

    assert "errors" not in again, again
    payload = again["data"]["recordReturnConversation"]
    assert (payload["replayed"], payload["version"]) == (True, 2)
    assert payload["case"]["id"] == case["id"]
    assert payload["case"]["version"] == 3  # the case as it is now: nothing was appended
    assert await count_events(admin_engine, TENANT, case["id"]) == events


async def test_key_of_a_refused_request_stays_free_for_the_corrected_request(
    client: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    case = (await open_case(client))["case"]
    key = new_key()

    wrong = await mutate(client, "assessRisk", risk(case, level="HIGH", idempotencyKey=key))
    right = await mutate(
        client, "assessRisk", risk(case, level="HIGH", factors=["STIGMA"], idempotencyKey=key)
    )

    refused(wrong, "BAD_USER_INPUT", rule="RISK_FACTORS_REQUIRED")
    assert "errors" not in right, right
    payload = right["data"]["assessRisk"]
    assert (payload["replayed"], payload["version"], payload["case"]["riskLevel"]) == (
        False,
        2,
        "HIGH",
    )
    assert await count_events(admin_engine, TENANT, case["id"]) == 2


# --- a key names one request ----------------------------------------------------------------------


async def test_open_with_a_used_key_and_a_different_input_is_refused_as_key_reuse(
    client: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    key = new_key()
    await open_case(client, idempotencyKey=key)
    before = await count_events(admin_engine, TENANT)

    body = await client.execute(
        OPEN, {"input": {**OPEN_INPUT, "pseudonym": "Someone Else", "idempotencyKey": key}}
    )

    refused(body, "BAD_USER_INPUT", rule="IDEMPOTENCY_KEY_REUSED", field="idempotencyKey")
    assert await count_events(admin_engine, TENANT) == before


async def test_case_change_with_a_used_key_and_a_different_input_is_refused_as_key_reuse(
    client: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    case = (await open_case(client))["case"]
    key = new_key()
    await mutate(client, "recordReturnConversation", conversation(case, idempotencyKey=key))

    other_wish = await mutate(
        client,
        "recordReturnConversation",
        conversation(case, expectedVersion=2, wish="UNDECIDED", idempotencyKey=key),
    )
    other_command = await mutate(
        client, "assessRisk", risk(case, expectedVersion=2, idempotencyKey=key)
    )

    refused(other_wish, "BAD_USER_INPUT", rule="IDEMPOTENCY_KEY_REUSED")
    refused(other_command, "BAD_USER_INPUT", rule="IDEMPOTENCY_KEY_REUSED")
    assert await count_events(admin_engine, TENANT, case["id"]) == 2


async def test_same_change_to_another_case_with_a_used_key_is_refused_as_key_reuse(
    client: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    """A key names one request; the same change aimed at another case is another request."""
    first_case = (await open_case(client))["case"]
    second_case = (await open_case(client))["case"]
    key = new_key()
    await mutate(client, "recordReturnConversation", conversation(first_case, idempotencyKey=key))

    body = await mutate(
        client, "recordReturnConversation", conversation(second_case, idempotencyKey=key)
    )

    refused(body, "BAD_USER_INPUT", rule="IDEMPOTENCY_KEY_REUSED")
    assert await count_events(admin_engine, TENANT, first_case["id"]) == 2
    assert await count_events(admin_engine, TENANT, second_case["id"]) == 1


async def test_open_key_reused_for_a_case_change_is_refused_as_key_reuse(
    client: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    key = new_key()
    case = (await open_case(client, idempotencyKey=key))["case"]

    body = await mutate(client, "recordReturnConversation", conversation(case, idempotencyKey=key))

    refused(body, "BAD_USER_INPUT", rule="IDEMPOTENCY_KEY_REUSED")
    assert await count_events(admin_engine, TENANT, case["id"]) == 1


@pytest.mark.parametrize("key", ["", "k" * 201])
async def test_key_outside_one_to_two_hundred_characters_is_bad_user_input(
    client: GraphQLClient, admin_engine: AsyncEngine, key: str
) -> None:
    before = await count_events(admin_engine, TENANT)

    body = await client.execute(OPEN, {"input": {**OPEN_INPUT, "idempotencyKey": key}})

    refused(body, "BAD_USER_INPUT", field="idempotencyKey")
    assert await count_events(admin_engine, TENANT) == before


async def test_key_of_two_hundred_characters_is_accepted(client: GraphQLClient) -> None:
    key = uuid.uuid4().hex.ljust(200, "k")

    first = await open_case(client, idempotencyKey=key)
    again = await open_case(client, idempotencyKey=key)

    assert (again["replayed"], again["case"]["id"]) == (True, first["case"]["id"])


# --- races ----------------------------------------------------------------------------------------


async def test_concurrent_changes_on_the_same_version_one_wins_the_other_gets_conflict(
    client: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    case = (await open_case(client))["case"]

    results = await asyncio.gather(
        mutate(client, "recordReturnConversation", conversation(case)),
        mutate(client, "assessRisk", risk(case)),
    )

    won = [r for r in results if "errors" not in r]
    lost = [r for r in results if "errors" in r]
    assert (len(won), len(lost)) == (1, 1), results
    refused(lost[0], "CONFLICT", currentVersion=2)
    assert await count_events(admin_engine, TENANT, case["id"]) == 2
    name = next(iter(won[0]["data"]))
    assert won[0]["data"][name]["version"] == 2


@pytest.mark.parametrize("racers", [2, 5])
async def test_many_concurrent_changes_on_the_same_version_exactly_one_wins(
    client: GraphQLClient, admin_engine: AsyncEngine, racers: int
) -> None:
    case = (await open_case(client))["case"]

    results = await asyncio.gather(
        *(
            mutate(client, "assessRisk", risk(case, assessedOn=f"2026-01-{10 + i}"))
            for i in range(racers)
        )
    )

    assert sum("errors" not in r for r in results) == 1, results
    for body in (r for r in results if "errors" in r):
        refused(body, "CONFLICT", currentVersion=2)
    assert await count_events(admin_engine, TENANT, case["id"]) == 2


async def test_concurrent_opens_with_the_same_key_open_one_case(
    client: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    key = new_key()
    before = await count_events(admin_engine, TENANT)

    results = await asyncio.gather(*(open_case(client, idempotencyKey=key) for _ in range(3)))

    assert len({r["case"]["id"] for r in results}) == 1, results
    assert sorted(r["replayed"] for r in results) == [False, True, True]
    assert await count_events(admin_engine, TENANT) == before + 1


async def test_concurrent_repeats_of_a_change_with_the_same_key_answer_with_the_first_result(
    client: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    """A double-submitted change with its key is one change: no CONFLICT for the repeat."""
    case = (await open_case(client))["case"]
    key = new_key()

    results = await asyncio.gather(
        *(
            mutate(client, "recordReturnConversation", conversation(case, idempotencyKey=key))
            for _ in range(2)
        )
    )

    assert [codes(r) for r in results] == [[], []], results
    payloads = [r["data"]["recordReturnConversation"] for r in results]
    assert sorted(p["replayed"] for p in payloads) == [False, True]
    assert {p["version"] for p in payloads} == {2}
    assert await count_events(admin_engine, TENANT, case["id"]) == 2
