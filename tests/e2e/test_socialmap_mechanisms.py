"""Referral mechanisms as versioned flowcharts: editors build and revise them, anyone routes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.conftest import codes
from tests.e2e.socialmap_support import EDITOR, seeded

SOURCE = {"document": "A public handbook", "published": "2016", "consultedOn": "2026-11-29"}
MECHANISM = """
  country version title titleNl start lastVerifiedOn stale active
  steps { key position title titleNl responsibleBody responsibleOrganisation { name }
          source { document published consultedOn } }
  edges { source target condition { minor euCitizen exploitationForms cooperatesWithPolice } }
"""
CREATE = f"""
mutation($input: CreateReferralMechanismInput!) {{
  createReferralMechanism(input: $input) {{ version mechanism {{ {MECHANISM} }} }}
}}"""
UPDATE = f"""
mutation($input: UpdateReferralMechanismInput!) {{
  updateReferralMechanism(input: $input) {{ version mechanism {{ {MECHANISM} }} }}
}}"""
ROUTE = """
query($country: String!, $minor: Boolean, $eu: Boolean, $police: Boolean) {
  referralRoute(country: $country, minor: $minor, euCitizen: $eu,
                cooperatesWithPolice: $police) { country mechanismVersion steps { key title } }
}"""
HISTORY = """
query($country: String!) {
  referralMechanismHistory(country: $country) {
    version change actor actorOrganisation reason creditedSuggestion
    mechanism { version steps { key } }
  }
}"""


def step(key: str, **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "title": f"Step {key}",
        "description": "What happens here.",
        "responsibleBody": "A body",
        "source": SOURCE,
        **extra,
    }


def adult_chart() -> dict[str, Any]:
    return {
        "start": "signal",
        "steps": [step("signal"), step("shelter"), step("return")],
        "edges": [
            {"source": "signal", "target": "shelter"},
            {"source": "shelter", "target": "return"},
        ],
    }


async def mechanism_rows(admin_engine: AsyncEngine, country: str) -> tuple[int, int]:
    async with admin_engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM referral_mechanisms WHERE country = :c), "
                    "(SELECT count(*) FROM referral_mechanism_changes WHERE country = :c)"
                ),
                {"c": country},
            )
        ).one()
    return int(row[0]), int(row[1])


async def test_an_editor_builds_and_revises_a_mechanism_with_a_minors_branch(
    as_org: Any,
) -> None:
    editor = as_org(*EDITOR)
    body = await editor.execute(
        CREATE,
        {"input": {"country": "DE", "title": "Referral in Germany", "titleNl": "Verwijzing",
                   "lastVerifiedOn": "2026-11-30", **adult_chart()}},
    )  # fmt: skip
    assert "errors" not in body, body
    created = body["data"]["createReferralMechanism"]
    assert created["version"] == 1
    assert [s["key"] for s in created["mechanism"]["steps"]] == ["signal", "shelter", "return"]

    chart = adult_chart()
    chart["steps"].append(
        step("guardian", responsibleOrganisationId=seeded("nidos"), titleNl="Voogdij")
    )
    chart["edges"] = [
        {"source": "signal", "target": "shelter", "condition": {"minor": False}},
        {"source": "signal", "target": "guardian", "condition": {"minor": True}},
        {"source": "shelter", "target": "return"},
    ]
    body = await editor.execute(
        UPDATE,
        {"input": {"country": "DE", "expectedVersion": 1, "reason": "minors' branch", **chart}},
    )
    assert "errors" not in body, body
    revised = body["data"]["updateReferralMechanism"]
    assert revised["version"] == 2
    guardian = next(s for s in revised["mechanism"]["steps"] if s["key"] == "guardian")
    assert guardian["responsibleOrganisation"] == {"name": "Nidos"}

    caseworker = as_org("moviera", "caseworker")
    minor = await caseworker.execute(ROUTE, {"country": "DE", "minor": True})
    assert [s["key"] for s in minor["data"]["referralRoute"]["steps"]] == ["signal", "guardian"]
    adult = await caseworker.execute(ROUTE, {"country": "DE", "minor": False})
    assert [s["key"] for s in adult["data"]["referralRoute"]["steps"]] == [
        "signal", "shelter", "return",
    ]  # fmt: skip

    history = await caseworker.execute(HISTORY, {"country": "DE"})
    versions = history["data"]["referralMechanismHistory"]
    assert [(v["version"], v["change"]) for v in versions] == [(1, "CREATED"), (2, "UPDATED")]
    assert versions[1]["reason"] == "minors' branch"
    assert versions[1]["actorOrganisation"] == "comensha"
    assert [s["key"] for s in versions[0]["mechanism"]["steps"]] == ["signal", "shelter", "return"]


async def test_a_moviera_caseworker_gets_the_dutch_route_for_a_minor(as_org: Any) -> None:
    body = await as_org("moviera").execute(ROUTE, {"country": "NL", "minor": True, "eu": False})
    steps = [s["key"] for s in body["data"]["referralRoute"]["steps"]]
    assert steps == ["signal", "registration", "minor-guardianship", "minor-return"]
    adult = await as_org("moviera").execute(ROUTE, {"country": "NL", "minor": False, "eu": False})
    assert "minor-guardianship" not in str(adult)


async def test_only_editors_change_mechanisms_and_a_refusal_writes_nothing(
    as_org: Any, admin_engine: AsyncEngine
) -> None:
    before = await mechanism_rows(admin_engine, "NL")
    for reader in (as_org("moviera", "tenant-admin"), as_org("comensha", "comensha-analyst")):
        body = await reader.execute(
            UPDATE, {"input": {"country": "NL", "expectedVersion": 1, "title": "Mine now"}}
        )
        assert codes(body) == ["FORBIDDEN"]
    assert await mechanism_rows(admin_engine, "NL") == before


async def test_an_invalid_flowchart_lists_every_problem_and_writes_nothing(
    as_org: Any, admin_engine: AsyncEngine
) -> None:
    chart = adult_chart()
    chart["edges"].append({"source": "return", "target": "signal"})
    chart["steps"].append(step("lonely"))
    body = await as_org(*EDITOR).execute(
        CREATE, {"input": {"country": "FR", "title": "France", **chart}}
    )
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["rule"] == "CYCLE"
    assert await mechanism_rows(admin_engine, "FR") == (0, 0)


async def test_a_stale_version_conflicts_and_names_the_current_one(as_org: Any) -> None:
    editor = as_org(*EDITOR)
    body = await editor.execute(
        CREATE, {"input": {"country": "AT", "title": "Austria", **adult_chart()}}
    )
    assert "errors" not in body, body
    first = await editor.execute(UPDATE, {"input": {"country": "AT", "expectedVersion": 1,
                                                    "notes": "checked"}})  # fmt: skip
    assert "errors" not in first, first
    stale = await editor.execute(
        UPDATE, {"input": {"country": "AT", "expectedVersion": 1, "notes": "again"}}
    )
    assert codes(stale) == ["CONFLICT"]
    assert stale["errors"][0]["extensions"]["currentVersion"] == 2


async def test_a_retired_mechanism_gives_no_route_but_keeps_its_history(as_org: Any) -> None:
    editor = as_org(*EDITOR)
    await editor.execute(CREATE, {"input": {"country": "CH", "title": "Swiss", **adult_chart()}})
    body = await editor.execute(
        "mutation($input: RetireReferralMechanismInput!) { retireReferralMechanism(input: "
        "$input) { version mechanism { active } } }",
        {"input": {"country": "CH", "expectedVersion": 1, "reason": "superseded"}},
    )
    assert body["data"]["retireReferralMechanism"] == {"version": 2, "mechanism": {"active": False}}
    route = await as_org("moviera").execute(ROUTE, {"country": "CH", "minor": False})
    assert route["data"]["referralRoute"] is None
    history = await as_org("moviera").execute(HISTORY, {"country": "CH"})
    changes = [v["change"] for v in history["data"]["referralMechanismHistory"]]
    assert changes == ["CREATED", "RETIRED"]


async def test_confirming_a_mechanism_sets_its_verification_date_only(as_org: Any) -> None:
    editor = as_org(*EDITOR)
    await editor.execute(CREATE, {"input": {"country": "PL", "title": "Poland", **adult_chart()}})
    body = await editor.execute(
        "mutation($input: ConfirmReferralMechanismInput!) { confirmReferralMechanism(input: "
        "$input) { version mechanism { lastVerifiedOn stale title } } }",
        {"input": {"country": "PL", "expectedVersion": 1}},
    )
    confirmed = body["data"]["confirmReferralMechanism"]
    assert confirmed["version"] == 2
    assert confirmed["mechanism"]["stale"] is False
    assert confirmed["mechanism"]["title"] == "Poland"


FULL = """
query { referralMechanism(country: "NL") { version start
  steps { key title titleNl description descriptionNl responsibleBody typicalDuration legalBasis
          responsibleOrganisation { id } source { document published consultedOn } }
  edges { source target condition { minor euCitizen exploitationForms cooperatesWithPolice } }
} }"""


def as_input(step: dict[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in step.items() if k != "responsibleOrganisation"}
    organisation = step["responsibleOrganisation"]
    return {**fields, "responsibleOrganisationId": organisation and organisation["id"]}


async def test_an_editor_revises_the_dutch_mechanism_and_its_minors_branch(as_org: Any) -> None:
    editor = as_org(*EDITOR)
    current = (await editor.execute(FULL))["data"]["referralMechanism"]
    minors = {"minor-guardianship", "minor-return"}
    adults_only = {
        "country": "NL",
        "expectedVersion": current["version"],
        "reason": "adults' route first",
        "start": current["start"],
        "steps": [as_input(s) for s in current["steps"] if s["key"] not in minors],
        "edges": [
            e for e in current["edges"] if e["source"] not in minors and e["target"] not in minors
        ],
    }
    body = await editor.execute(UPDATE, {"input": adults_only})
    assert "errors" not in body, body
    caseworker = as_org("moviera", "caseworker")
    route = await caseworker.execute(ROUTE, {"country": "NL", "minor": True, "eu": False})
    assert [s["key"] for s in route["data"]["referralRoute"]["steps"]] == [
        "signal", "registration",
    ]  # fmt: skip

    with_minors = {
        **adults_only,
        "expectedVersion": current["version"] + 1,
        "reason": "minors' branch: guardianship and protected reception",
        "steps": [as_input(s) for s in current["steps"]],
        "edges": current["edges"],
    }
    body = await editor.execute(UPDATE, {"input": with_minors})
    assert "errors" not in body, body
    route = await caseworker.execute(ROUTE, {"country": "NL", "minor": True, "eu": False})
    assert [s["key"] for s in route["data"]["referralRoute"]["steps"]] == [
        "signal", "registration", "minor-guardianship", "minor-return",
    ]  # fmt: skip
    history = (await caseworker.execute(HISTORY, {"country": "NL"}))["data"]
    last_two = history["referralMechanismHistory"][-2:]
    assert [v["reason"] for v in last_two] == [adults_only["reason"], with_minors["reason"]]
    assert all(v["actorOrganisation"] == "comensha" for v in last_two)
