"""Changing the social map over HTTP: editors only, versioned, with history, all or nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.conftest import GraphQLClient, codes
from tests.e2e.socialmap_support import (
    CREATE,
    EDITOR,
    IMPORT,
    ORGANISATION,
    ORGANISATIONS,
    RETIRE,
    UPDATE,
    create,
    map_counts,
    seeded,
    unique,
)


@pytest.fixture
def editor(as_org: Any) -> GraphQLClient:
    client: GraphQLClient = as_org(*EDITOR)
    return client


def refused(body: dict[str, Any], code: str, **extensions: Any) -> dict[str, Any]:
    assert codes(body) == [code], body
    assert body["data"] is None
    error: dict[str, Any] = body["errors"][0]
    for key, value in extensions.items():
        assert error["extensions"][key] == value, error
    return error


async def test_create_then_update_then_retire_keeps_every_change_in_history(
    editor: GraphQLClient, as_org: Any
) -> None:
    name = unique("Abuja Reception Desk")
    created = await create(
        editor,
        name=name,
        city="Abuja",
        services=["RECEPTION_ON_ARRIVAL", "RETURN_COUNSELLING"],
        languages=["en", "ha"],
        contactChannels=[{"kind": "EMAIL", "value": "desk@abuja.example.org", "label": "intake"}],
        lastVerifiedOn="2026-01-15",
        source="phone call with the director",
    )
    org = created["organisation"]
    assert (created["version"], org["version"], created["replayed"]) == (1, 1, False)
    # Canonical form: services in vocabulary order, languages sorted.
    assert org["services"] == ["RETURN_COUNSELLING", "RECEPTION_ON_ARRIVAL"]
    assert org["countryNames"] == {"en": "Nigeria", "nl": "Nigeria"}

    body = await editor.execute(
        UPDATE,
        {
            "input": {
                "id": org["id"],
                "expectedVersion": 1,
                "city": "Lagos",
                "region": None,
                "services": ["RECEPTION_ON_ARRIVAL"],
            }
        },
    )
    updated = body["data"]["updateOrganisation"]
    assert (updated["version"], updated["organisation"]["city"]) == (2, "Lagos")
    assert updated["organisation"]["languages"] == ["en", "ha"]  # not given: unchanged

    body = await editor.execute(
        RETIRE, {"input": {"id": org["id"], "expectedVersion": 2, "reason": "office closed"}}
    )
    retired = body["data"]["retireOrganisation"]["organisation"]
    assert (retired["active"], retired["retiredReason"], retired["version"]) == (
        False,
        "office closed",
        3,
    )

    # Anyone reads the history: who, when, what.
    body = await as_org("moviera").execute(ORGANISATION, {"id": org["id"]})
    history = body["data"]["organisation"]["history"]
    assert [(h["version"], h["change"]) for h in history] == [
        (1, "CREATED"),
        (2, "UPDATED"),
        (3, "RETIRED"),
    ]
    assert {h["actor"] for h in history} == {"user-of-comensha"}
    assert {h["actorOrganisation"] for h in history} == {"comensha"}
    assert history[0]["changedAt"] <= history[1]["changedAt"] <= history[2]["changedAt"]
    assert {c["field"] for c in history[0]["changes"]} >= {"name", "country", "services"}
    assert history[1]["changes"] == [
        {"field": "city", "before": "Abuja", "after": "Lagos"},
        {
            "field": "services",
            "before": ["RETURN_COUNSELLING", "RECEPTION_ON_ARRIVAL"],
            "after": ["RECEPTION_ON_ARRIVAL"],
        },
    ]
    assert history[2]["reason"] == "office closed"
    assert history[2]["changes"] == [{"field": "active", "before": True, "after": False}]

    # Retired: not in the list by default, still there on request and by id.
    listed = await as_org("moviera").execute(ORGANISATIONS, {"filter": {"text": name}})
    assert listed["data"]["organisations"]["edges"] == []
    listed = await as_org("moviera").execute(
        ORGANISATIONS, {"filter": {"text": name, "includeRetired": True}}
    )
    assert [e["node"]["id"] for e in listed["data"]["organisations"]["edges"]] == [org["id"]]


async def test_an_update_that_changes_nothing_writes_nothing(
    editor: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    org = (await create(editor, name=unique("Ibadan Centre"), city="Ibadan"))["organisation"]
    before = await map_counts(admin_engine)
    body = await editor.execute(
        UPDATE, {"input": {"id": org["id"], "expectedVersion": 1, "city": " Ibadan "}}
    )
    assert body["data"]["updateOrganisation"]["version"] == 1
    assert await map_counts(admin_engine) == before


async def test_a_stale_version_is_a_conflict_naming_the_current_one(
    editor: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    org = (await create(editor, name=unique("Enugu Office")))["organisation"]
    first = await editor.execute(
        UPDATE, {"input": {"id": org["id"], "expectedVersion": 1, "city": "Enugu"}}
    )
    assert first["data"]["updateOrganisation"]["version"] == 2
    before = await map_counts(admin_engine)
    stale = await editor.execute(
        UPDATE, {"input": {"id": org["id"], "expectedVersion": 1, "city": "Nsukka"}}
    )
    refused(stale, "CONFLICT", currentVersion=2)
    stale = await editor.execute(
        RETIRE, {"input": {"id": org["id"], "expectedVersion": 1, "reason": "gone"}}
    )
    refused(stale, "CONFLICT", currentVersion=2)
    assert await map_counts(admin_engine) == before


async def test_an_idempotency_key_makes_a_repeat_safe(
    editor: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    fields = {"name": unique("Kano Desk"), "kind": "NGO", "country": "NG"}
    first = await editor.execute(CREATE, {"input": {**fields, "idempotencyKey": fields["name"]}})
    before = await map_counts(admin_engine)
    again = await editor.execute(CREATE, {"input": {**fields, "idempotencyKey": fields["name"]}})
    assert again["data"]["createOrganisation"]["replayed"] is True
    assert (
        again["data"]["createOrganisation"]["organisation"]["id"]
        == first["data"]["createOrganisation"]["organisation"]["id"]
    )
    other = await editor.execute(
        CREATE, {"input": {**fields, "city": "Kano", "idempotencyKey": fields["name"]}}
    )
    refused(other, "BAD_USER_INPUT", rule="IDEMPOTENCY_KEY_REUSED")
    assert await map_counts(admin_engine) == before


async def test_the_same_name_twice_in_a_country_is_refused(editor: GraphQLClient) -> None:
    name = unique("Jos Women Centre")
    await create(editor, name=name)
    body = await editor.execute(
        CREATE, {"input": {"name": name.upper() + "  ", "kind": "SHELTER", "country": "NG"}}
    )
    refused(body, "BAD_USER_INPUT", rule="DUPLICATE_ORGANISATION", field="name")
    # The same name in another country is another organisation.
    await create(editor, name=name, country="GH")


INVALID_CREATES = {
    "country code": ({"country": "XX"}, "INVALID_COUNTRY_CODE", "country"),
    "language code": ({"languages": ["english"]}, "INVALID_LANGUAGE_CODE", "languages"),
    "e-mail": (
        {"contactChannels": [{"kind": "EMAIL", "value": "not an address"}]},
        "INVALID_EMAIL",
        "contactChannels",
    ),
    "url": (
        {"contactChannels": [{"kind": "WEBSITE", "value": "javascript:alert(1)"}]},
        "INVALID_URL",
        "contactChannels",
    ),
    "blank name": ({"name": "   "}, "REQUIRED", "name"),
    "long name": ({"name": "n" * 301}, "TOO_LONG", "name"),
    "future check": ({"lastVerifiedOn": "2999-01-01"}, "DATE_IN_FUTURE", "lastVerifiedOn"),
    "return support abroad": (
        {"returnSupport": "GENERAL_INFORMATION"},
        "RETURN_SUPPORT_OUTSIDE_NL",
        "returnSupport",
    ),
}


@pytest.mark.parametrize(
    ("fields", "rule", "field"), INVALID_CREATES.values(), ids=INVALID_CREATES.keys()
)
async def test_invalid_input_is_refused_and_writes_nothing(
    editor: GraphQLClient,
    admin_engine: AsyncEngine,
    fields: dict[str, Any],
    rule: str,
    field: str,
) -> None:
    before = await map_counts(admin_engine)
    body = await editor.execute(
        CREATE, {"input": {"name": unique("Invalid"), "kind": "NGO", "country": "NG", **fields}}
    )
    error = refused(body, "BAD_USER_INPUT", rule=rule, field=field)
    assert error["extensions"]["problems"][0]["rule"] == rule
    assert await map_counts(admin_engine) == before


async def test_text_with_a_nul_character_is_refused_at_the_edge_and_writes_nothing(
    editor: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    before = await map_counts(admin_engine)
    body = await editor.execute(
        CREATE,
        {
            "input": {
                "name": unique("Invalid"),
                "kind": "NGO",
                "country": "NG",
                "city": "Ab\u0000uja",
            }
        },
    )
    refused(body, "BAD_USER_INPUT", rule="NUL_CHARACTER", field="city")
    assert await map_counts(admin_engine) == before


async def test_an_update_cannot_clear_a_required_field_or_touch_a_retired_one(
    editor: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    org = (await create(editor, name=unique("Warri Office")))["organisation"]
    body = await editor.execute(
        UPDATE, {"input": {"id": org["id"], "expectedVersion": 1, "name": None}}
    )
    refused(body, "BAD_USER_INPUT", rule="REQUIRED", field="name")
    await editor.execute(
        RETIRE, {"input": {"id": org["id"], "expectedVersion": 1, "reason": "merged"}}
    )
    before = await map_counts(admin_engine)
    body = await editor.execute(
        UPDATE, {"input": {"id": org["id"], "expectedVersion": 2, "city": "Warri"}}
    )
    refused(body, "BAD_USER_INPUT", rule="ORGANISATION_RETIRED")
    body = await editor.execute(
        RETIRE, {"input": {"id": org["id"], "expectedVersion": 2, "reason": "again"}}
    )
    refused(body, "BAD_USER_INPUT", rule="ORGANISATION_RETIRED")
    body = await editor.execute(
        RETIRE, {"input": {"id": org["id"], "expectedVersion": 2, "reason": "  "}}
    )
    refused(body, "BAD_USER_INPUT", rule="REQUIRED", field="reason")
    body = await editor.execute(
        UPDATE, {"input": {"id": seeded("nobody"), "expectedVersion": 1, "city": "X"}}
    )
    refused(body, "NOT_FOUND")
    assert await map_counts(admin_engine) == before


# --- who may write -------------------------------------------------------------------------

WRITERS_REFUSED = {
    "shelter caseworker": ("moviera", "caseworker"),
    "shelter tenant admin": ("blijf-groep", "tenant-admin"),
    "shelter with the editor role": ("hvo-querido", "social-map-editor"),
    "comensha analyst": ("comensha", "comensha-analyst"),
    "integrator": ("moviera", "integrator"),
}


@pytest.mark.parametrize("who", WRITERS_REFUSED.values(), ids=WRITERS_REFUSED.keys())
async def test_only_comensha_editors_may_write_everyone_else_is_forbidden(
    as_org: Any, editor: GraphQLClient, admin_engine: AsyncEngine, who: tuple[str, str]
) -> None:
    target = (await create(editor, name=unique("Target")))["organisation"]
    client = as_org(*who)
    before = await map_counts(admin_engine)
    bodies = [
        await client.execute(
            CREATE, {"input": {"name": unique("Intruder"), "kind": "NGO", "country": "NG"}}
        ),
        await client.execute(
            UPDATE, {"input": {"id": target["id"], "expectedVersion": 1, "name": "Hijacked"}}
        ),
        await client.execute(
            RETIRE, {"input": {"id": target["id"], "expectedVersion": 1, "reason": "x"}}
        ),
        await client.execute(
            IMPORT,
            {"input": {"format": "CSV", "content": "name,kind,country\nIntruder,NGO,NG\n"}},
        ),
    ]
    for body in bodies:
        refused(body, "FORBIDDEN")
    assert await map_counts(admin_engine) == before
    body = await client.execute(ORGANISATION, {"id": target["id"]})
    assert body["data"]["organisation"]["name"] == target["name"]


async def test_text_that_is_not_valid_unicode_is_refused(
    editor: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    """A lone surrogate (as a sloppy client's JSON escape) cannot be stored: BAD_USER_INPUT."""
    before = await map_counts(admin_engine)
    for fields in ({"name": "Bad\ud800Name"}, {"idempotencyKey": "key-\udfff"}):
        body = json.dumps(  # ensure_ascii: the surrogate travels as a \\ud800 escape
            {
                "query": CREATE,
                "variables": {
                    "input": {"name": unique("Text"), "kind": "NGO", "country": "NG", **fields}
                },
            }
        )
        response = await editor.http.post(
            "/graphql",
            content=body,
            headers={"Authorization": f"Bearer {editor.token}", "Content-Type": "application/json"},
        )
        refused(response.json(), "BAD_USER_INPUT")
    assert await map_counts(admin_engine) == before
