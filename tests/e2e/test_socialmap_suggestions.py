"""Suggestions from the shelters: made by any shelter user, decided by CoMensha's editors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import tenant_transaction
from service.schema.ids import from_global_id
from tests.e2e.conftest import codes
from tests.e2e.socialmap_support import EDITOR, ORGANISATION, create, seeded, unique

SUGGESTION = """id kind status shelter suggestedBy reason proposal decisionReason appliedVersion
                organisation { name }"""
SUGGEST = f"""
mutation($input: SuggestSocialMapChangeInput!) {{
  suggestSocialMapChange(input: $input) {{ suggestion {{ {SUGGESTION} }} }}
}}"""
ACCEPT = f"""
mutation($input: AcceptSocialMapSuggestionInput!) {{
  acceptSocialMapSuggestion(input: $input) {{ suggestion {{ {SUGGESTION} }} }}
}}"""
REJECT = f"""
mutation($input: RejectSocialMapSuggestionInput!) {{
  rejectSocialMapSuggestion(input: $input) {{ suggestion {{ {SUGGESTION} }} }}
}}"""
QUEUE = (
    f"query($s: SocialMapSuggestionStatus) {{ socialMapSuggestions(status: $s) "
    f"{{ {SUGGESTION} }} }}"
)
MINE = f"{{ mySocialMapSuggestions {{ {SUGGESTION} }} }}"


async def suggest(client: Any, **fields: Any) -> dict[str, Any]:
    body = await client.execute(SUGGEST, {"input": fields})
    assert "errors" not in body, body
    suggestion: dict[str, Any] = body["data"]["suggestSocialMapChange"]["suggestion"]
    return suggestion


async def test_an_accepted_suggestion_shows_in_the_history_crediting_it(as_org: Any) -> None:
    editor = as_org(*EDITOR)
    org = (await create(editor, name=unique("Reception Abuja"), city="Abuja"))["organisation"]
    blijf = as_org("blijf-groep", "caseworker")
    made = await suggest(
        blijf,
        kind="ORGANISATION_CHANGE",
        organisationId=org["id"],
        organisation={"city": "Lagos", "languages": ["en", "yo"]},
        reason="They moved to Lagos last spring.",
    )
    assert made["status"] == "PENDING"
    assert made["shelter"] == "blijf-groep"
    assert made["proposal"] == {"city": "Lagos", "languages": ["en", "yo"]}

    queue = (await editor.execute(QUEUE, {"s": "PENDING"}))["data"]["socialMapSuggestions"]
    assert made["id"] in [s["id"] for s in queue]
    accepted = (await editor.execute(ACCEPT, {"input": {"id": made["id"]}}))["data"]
    assert accepted["acceptSocialMapSuggestion"]["suggestion"]["status"] == "ACCEPTED"
    assert accepted["acceptSocialMapSuggestion"]["suggestion"]["appliedVersion"] == 2

    body = await blijf.execute(ORGANISATION, {"id": org["id"]})
    found = body["data"]["organisation"]
    assert found["city"] == "Lagos"
    credited = await blijf.execute(
        "query($id: ID!) { organisation(id: $id) { history { version creditedSuggestion } } }",
        {"id": org["id"]},
    )
    history = credited["data"]["organisation"]["history"]
    assert history[-1] == {"version": 2, "creditedSuggestion": made["id"]}

    mine = (await blijf.execute(MINE))["data"]["mySocialMapSuggestions"]
    assert next(s for s in mine if s["id"] == made["id"])["status"] == "ACCEPTED"


async def test_another_shelter_never_sees_a_suggestion(
    as_org: Any, app_engine: AsyncEngine
) -> None:
    made = await suggest(
        as_org("blijf-groep", "tenant-admin"),
        kind="NEW_ORGANISATION",
        organisation={"name": unique("Shelter Iasi"), "kind": "SHELTER", "country": "RO"},
        reason="We worked with them in two cases.",
    )
    moviera = as_org("moviera", "caseworker")
    mine = (await moviera.execute(MINE))["data"]["mySocialMapSuggestions"]
    assert made["id"] not in [s["id"] for s in mine]
    for attempt in (
        await moviera.execute(QUEUE),
        await moviera.execute(ACCEPT, {"input": {"id": made["id"]}}),
        await moviera.execute(REJECT, {"input": {"id": made["id"], "reason": "no"}}),
    ):
        assert codes(attempt) == ["FORBIDDEN"]
        assert "Iasi" not in str(attempt)

    # Row-level security holds in the database itself, whatever the query.
    local_id = from_global_id("SocialMapSuggestion", made["id"])
    async with app_engine.connect() as conn:
        moviera_id = await conn.scalar(text("SELECT id FROM tenants WHERE slug = 'moviera'"))
    async with tenant_transaction(app_engine, moviera_id) as conn:
        seen = await conn.scalar(
            text("SELECT count(*) FROM social_map_suggestions WHERE id = :id"), {"id": local_id}
        )
    assert seen == 0
    async with tenant_transaction(app_engine, None) as conn:
        assert await conn.scalar(text("SELECT count(*) FROM social_map_suggestions")) == 0


async def test_a_rejected_suggestion_tells_the_shelter_why_and_changes_nothing(
    as_org: Any,
) -> None:
    editor = as_org(*EDITOR)
    kopland = as_org("het-kopland", "caseworker")
    made = await suggest(
        kopland,
        kind="ORGANISATION_CHANGE",
        organisationId=seeded("comensha"),
        organisation={"city": "Utrecht"},
        reason="Their office moved, I think.",
    )
    body = await editor.execute(
        REJECT, {"input": {"id": made["id"], "reason": "Still in Amersfoort."}}
    )
    rejected = body["data"]["rejectSocialMapSuggestion"]["suggestion"]
    assert (rejected["status"], rejected["decisionReason"]) == ("REJECTED", "Still in Amersfoort.")
    again = await editor.execute(ACCEPT, {"input": {"id": made["id"]}})
    assert codes(again) == ["BAD_USER_INPUT"]
    body = await kopland.execute(ORGANISATION, {"id": seeded("comensha")})
    assert body["data"]["organisation"]["city"] == "Amersfoort"


async def test_a_new_organisation_and_a_step_correction_are_applied_when_accepted(
    as_org: Any,
) -> None:
    editor = as_org(*EDITOR)
    jade = as_org("jade-zorggroep", "caseworker")
    name = unique("Reintegration Sofia")
    new = await suggest(
        jade,
        kind="NEW_ORGANISATION",
        organisation={"name": name, "kind": "NGO", "country": "BG", "city": "Sofia",
                      "latitude": 42.6977, "longitude": 23.3219},
        reason="Partner in a recent return.",
    )  # fmt: skip
    body = await editor.execute(ACCEPT, {"input": {"id": new["id"]}})
    assert body["data"]["acceptSocialMapSuggestion"]["suggestion"]["status"] == "ACCEPTED"
    found = await jade.execute(
        "query($f: OrganisationFilter) { organisations(filter: $f) { edges { node { name "
        "latitude history { creditedSuggestion } } } } }",
        {"f": {"text": name}},
    )
    node = found["data"]["organisations"]["edges"][0]["node"]
    assert node["latitude"] == 42.6977
    assert node["history"][0]["creditedSuggestion"] == new["id"]

    await editor.execute(
        "mutation($i: CreateReferralMechanismInput!) { createReferralMechanism(input: $i) "
        "{ version } }",
        {"i": {"country": "IE", "title": "Ireland", "start": "a",
               "steps": [{"key": "a", "title": "Signal", "description": "Report it.",
                          "responsibleBody": "Police",
                          "source": {"document": "Handbook", "consultedOn": "2026-11-01"}}],
               "edges": []}},
    )  # fmt: skip
    fix = await suggest(
        jade,
        kind="MECHANISM_STEP_CORRECTION",
        country="IE",
        stepKey="a",
        step={"titleNl": "Signaal", "description": "Report it to the police."},
        reason="Dutch title missing.",
    )
    await editor.execute(ACCEPT, {"input": {"id": fix["id"]}})
    body = await jade.execute(
        '{ referralMechanism(country: "IE") { version steps { titleNl description } } '
        'referralMechanismHistory(country: "IE") { creditedSuggestion } }'
    )
    assert body["data"]["referralMechanism"]["version"] == 2
    assert body["data"]["referralMechanism"]["steps"][0] == {
        "titleNl": "Signaal", "description": "Report it to the police.",
    }  # fmt: skip
    assert body["data"]["referralMechanismHistory"][-1]["creditedSuggestion"] == fix["id"]


async def test_a_suggestion_is_validated_like_an_edit_and_a_refusal_writes_nothing(
    as_org: Any, admin_engine: AsyncEngine
) -> None:
    async with admin_engine.connect() as conn:
        before = await conn.scalar(text("SELECT count(*) FROM social_map_suggestions"))
    client = as_org("moviera", "caseworker")
    cases = [
        ({"kind": "NEW_ORGANISATION", "organisation": {"name": "X", "kind": "NGO",
          "country": "ZZ"}, "reason": "r"}, "INVALID_COUNTRY_CODE"),
        ({"kind": "ORGANISATION_CHANGE", "organisationId": seeded("comensha"),
          "organisation": {"latitude": 95, "longitude": 5}, "reason": "r"},
         "COORDINATE_OUT_OF_RANGE"),
        ({"kind": "ORGANISATION_CHANGE", "organisationId": seeded("comensha"),
          "organisation": {"city": "Amersfoort"}, "reason": "r"}, "NOTHING_CHANGED"),
        ({"kind": "NEW_ORGANISATION", "organisation": {"name": "Y", "kind": "NGO",
          "country": "NG"}, "reason": "  "}, "REQUIRED"),
        ({"kind": "MECHANISM_STEP_CORRECTION", "country": "NL", "stepKey": "nope",
          "step": {"title": "x"}, "reason": "r"}, "UNKNOWN_STEP"),
    ]  # fmt: skip
    for fields, rule in cases:
        body = await client.execute(SUGGEST, {"input": fields})
        assert codes(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["extensions"]["rule"] == rule
    integrator = as_org("moviera", "integrator")
    body = await integrator.execute(
        SUGGEST,
        {"input": {"kind": "NEW_ORGANISATION", "reason": "r",
                   "organisation": {"name": "Z", "kind": "NGO", "country": "NG"}}},
    )  # fmt: skip
    assert codes(body) == ["FORBIDDEN"]
    async with admin_engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM social_map_suggestions")) == before
