"""A safe return over HTTP: a minor's return, a forced return reported by DT&V after refused
help, an emergency departure by an admin (refused for a case worker), a revised plan, the new
events in the integrator feed, and another shelter seeing none of it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.schema.ids import from_global_id
from tests.e2e.conftest import GraphQLClient, codes
from tests.e2e.departure_support import (
    advance,
    colleague,
    partner,
    prepare_ready_case,
    prepare_reintegration,
    protect_minor,
    readiness,
    run,
)
from tests.e2e.test_feed_integrators import create_client, token_for

OPEN = """
mutation Open($input: OpenReturnCaseInput!) {
  openReturnCase(input: $input) { case { id version phase } }
}
"""

CASE = """
query Case($id: ID!) {
  returnCase(id: $id) {
    phase departureMode emergencyDeparture
    minorProtection {
      mayBeMinor guardianAppointedOn guardianOrganisation familyAssessment returnInBestInterests
    }
    returnHelpRefusals { refusedOn helpOffered }
    reintegrationPlan { revision revisedOn goals { domain } }
    timeline { eventType summary }
  }
}
"""


async def open_case(client: GraphQLClient, birth_year: int = 1995, **extra: Any) -> dict[str, Any]:
    data = {
        "intakeDate": "2026-01-05",
        "pseudonym": "Client S",
        "gender": "FEMALE",
        "birthYear": birth_year,
        "nationality": "NG",
        "countryOfOrigin": "NG",
        "languages": ["en"],
        "exploitationForms": ["SEXUAL_EXPLOITATION"],
        **extra,
    }
    body = await client.execute(OPEN, {"input": data})
    assert "errors" not in body, body
    case: dict[str, Any] = body["data"]["openReturnCase"]["case"]
    return case


async def wants_to_return(client: GraphQLClient) -> dict[str, Any]:
    case = await open_case(client)
    return await advance(
        client, "recordReturnConversation", case, heldOn="2026-01-10", wish="WANTS_TO_RETURN"
    )


async def read(client: GraphQLClient, case: dict[str, Any]) -> dict[str, Any]:
    body = await client.execute(CASE, {"id": case["id"]})
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["returnCase"]
    return found


def rule_of(body: dict[str, Any]) -> str:
    assert codes(body) == ["BAD_USER_INPUT"], body
    return str(body["errors"][0]["extensions"]["rule"])


async def events_of(engine: AsyncEngine, case: dict[str, Any]) -> int:
    async with engine.connect() as conn:
        found = await conn.scalar(
            text("SELECT count(*) FROM events WHERE stream_id = :s"),
            {"s": from_global_id("ReturnCase", case["id"])},
        )
    return int(found or 0)


# --- minors ---------------------------------------------------------------------------------------


async def test_a_minors_return_needs_guardian_assessments_and_partner_for_an_unsafe_family(
    as_org: Any,
) -> None:
    client = as_org("moviera")
    case = await open_case(client, birth_year=2010)  # 15 at intake
    case = await advance(
        client, "recordReturnConversation", case, heldOn="2026-01-10", wish="WANTS_TO_RETURN"
    )
    case = await prepare_ready_case(client, case)
    assert (await read(client, case))["minorProtection"]["mayBeMinor"] is True
    assert await readiness(client, case, "INDEPENDENT", "2026-02-01") == (
        False,
        ["GUARDIAN_MISSING", "BEST_INTERESTS_ASSESSMENT_MISSING", "FAMILY_ASSESSMENT_MISSING"],
    )
    body = await run(
        client, "recordDeparture", case, departedOn="2026-02-01", mode="INDEPENDENT",
        destinationCountry="NG",
    )  # fmt: skip
    assert rule_of(body) == "NOT_READY"

    case = await advance(
        client, "recordGuardian", case, appointedOn="2026-01-11", guardianOrganisation="Nidos"
    )
    case = await advance(
        client,
        "recordBestInterestsAssessment",
        case,
        assessedOn="2026-01-20",
        returnInBestInterests=True,
    )
    case = await advance(
        client, "recordFamilyAssessment", case, assessedOn="2026-01-21", outcome="UNSAFE"
    )
    assert await readiness(client, case, "INDEPENDENT", "2026-02-01") == (
        False,
        ["UNSAFE_FAMILY_NEEDS_PARTNER_RECEPTION"],
    )
    partner_id = await partner(as_org("comensha", "social-map-editor"))
    case = await advance(
        client,
        "recordArrivalArrangement",
        case,
        arrangedOn="2026-01-22",
        destinationCountry="NG",
        destinationPlace="Lagos",
        receiver="PARTNER_ORGANISATION",
        organisationId=partner_id,
    )
    assert await readiness(client, case, "INDEPENDENT", "2026-02-01") == (True, [])
    case = await advance(
        client,
        "recordDeparture",
        case,
        departedOn="2026-02-01",
        mode="INDEPENDENT",
        destinationCountry="NG",
    )
    found = await read(client, case)
    assert found["phase"] == "DEPARTED"
    assert found["minorProtection"] == {
        "mayBeMinor": True,
        "guardianAppointedOn": "2026-01-11",
        "guardianOrganisation": "Nidos",
        "familyAssessment": "UNSAFE",
        "returnInBestInterests": True,
    }


# --- forced return ------------------------------------------------------------------------------


async def test_forced_return_is_refused_from_a_bare_intake_and_for_an_eu_citizen_in_proceedings(
    as_org: Any, admin_engine: AsyncEngine
) -> None:
    client = as_org("moviera")
    case = await open_case(client)
    forced = {"departedOn": "2026-02-01", "mode": "FORCED", "destinationCountry": "NG"}
    assert rule_of(await run(client, "recordDeparture", case, **forced)) == (
        "FORCED_RETURN_NEEDS_OBLIGATION"
    )
    case = await advance(
        client,
        "recordLegalPosition",
        case,
        recordedOn="2026-01-06",
        residenceStatus="EU_CITIZEN",
        proceedingsStage="PROSECUTION",
    )
    before = await events_of(admin_engine, case)
    assert rule_of(await run(client, "recordDeparture", case, **forced)) == (
        "FORCED_RETURN_NEEDS_OBLIGATION"
    )
    assert await events_of(admin_engine, case) == before


async def test_forced_return_by_dtv_is_recorded_after_refused_help_and_gets_follow_up(
    as_org: Any,
) -> None:
    client = as_org("moviera")
    case = await open_case(client)
    case = await advance(
        client,
        "recordLegalPosition",
        case,
        recordedOn="2026-01-06",
        residenceStatus="NONE",
        proceedingsStage="NOT_REPORTED",
    )
    forced = {"departedOn": "2026-03-01", "mode": "FORCED", "destinationCountry": "NG"}
    body = await run(client, "recordDeparture", case, **forced)
    assert rule_of(body) == "FORCED_RETURN_NEEDS_REFUSAL_OR_DEADLINE"
    assert await readiness(client, case, "FORCED", "2026-03-01") == (
        False,
        ["FORCED_RETURN_NEEDS_REFUSAL_OR_DEADLINE"],
    )
    assert rule_of(
        await run(
            client, "planDeparture", case, plannedOn="2026-03-01", destinationCountry="NG",
            mode="FORCED",
        )
    ) == "FORCED_RETURN_NOT_PLANNED"  # fmt: skip

    case = await advance(
        client,
        "recordReturnHelpRefused",
        case,
        refusedOn="2026-02-01",
        helpOffered=["IOM_BASIC", "DTV"],
        notes="Does not want to talk about it.",
    )
    case = await advance(client, "recordDeparture", case, **forced)
    case = await advance(
        client, "recordFollowUp", case, contactedOn="2026-06-02", reached=True, situation="AT_RISK"
    )
    found = await read(client, case)
    assert (found["phase"], found["departureMode"]) == ("FOLLOW_UP", "FORCED")
    assert found["returnHelpRefusals"] == [
        {"refusedOn": "2026-02-01", "helpOffered": ["IOM_BASIC", "DTV"]}
    ]
    summaries = {t["eventType"]: t["summary"] for t in found["timeline"]}
    assert "DT&V" in summaries["DepartureRecorded"]
    assert "talk" not in json.dumps(found["timeline"])


# --- emergency ------------------------------------------------------------------------------------


async def test_an_emergency_departure_is_for_admins_only_and_is_its_own_event(
    as_org: Any, admin_engine: AsyncEngine
) -> None:
    client = as_org("moviera")
    admin = as_org("moviera", "tenant-admin")
    case = await wants_to_return(client)
    emergency = {
        "departedOn": "2026-01-15",
        "mode": "INDEPENDENT",
        "destinationCountry": "NG",
        "emergency": {"reason": "Traffickers found the shelter."},
    }
    before = await events_of(admin_engine, case)
    refused = await run(client, "recordDeparture", case, **emergency)
    assert codes(refused) == ["FORBIDDEN"], refused
    assert await events_of(admin_engine, case) == before

    case = await advance(admin, "recordDeparture", case, **emergency)
    found = await read(client, case)
    assert (found["phase"], found["emergencyDeparture"]) == ("DEPARTED", True)
    emergency_entry = [
        t for t in found["timeline"] if t["eventType"] == "EmergencyDepartureRecorded"
    ]
    assert len(emergency_entry) == 1
    assert "TRAVEL_DOCUMENT_MISSING" in emergency_entry[0]["summary"]
    assert "Traffickers" not in json.dumps(found["timeline"])


async def test_an_emergency_never_skips_what_a_minor_needs_nor_stands_in_for_a_ready_departure(
    as_org: Any,
) -> None:
    client = as_org("moviera")
    admin = as_org("moviera", "tenant-admin")
    minor = await open_case(client, birth_year=2012)
    minor = await advance(
        client, "recordReturnConversation", minor, heldOn="2026-01-10", wish="WANTS_TO_RETURN"
    )
    emergency = {
        "departedOn": "2026-01-15",
        "mode": "INDEPENDENT",
        "destinationCountry": "NG",
        "emergency": {"reason": "Urgent."},
    }
    body = await run(admin, "recordDeparture", minor, **emergency)
    assert rule_of(body) == "NOT_READY"
    assert body["errors"][0]["extensions"]["missing"] == [
        "GUARDIAN_MISSING",
        "BEST_INTERESTS_ASSESSMENT_MISSING",
        "FAMILY_ASSESSMENT_MISSING",
    ]
    minor = await protect_minor(client, minor, on="2026-01-12")
    await advance(admin, "recordDeparture", minor, **emergency)

    adult = await prepare_ready_case(client, await wants_to_return(client), on="2026-01-12")
    body = await run(admin, "recordDeparture", adult, **emergency)
    assert rule_of(body) == "EMERGENCY_NOT_NEEDED"


# --- safety plan and plan revisions --------------------------------------------------------------


async def test_a_safety_plan_is_approved_by_an_admin_or_supervisor_who_did_not_write_it(
    as_org: Any, http: Any, make_token: Any
) -> None:
    client = as_org("moviera")
    admin = as_org("moviera", "tenant-admin")  # the same person as ``client``
    supervisor = colleague(http, make_token, "moviera", "supervisor")
    case = await wants_to_return(client)
    case = await advance(
        client, "assessRisk", case, assessedOn="2026-01-12", level="HIGH", factors=["STIGMA"]
    )
    case = await advance(
        client,
        "recordSafetyPlan",
        case,
        writtenOn="2026-01-13",
        measures=[{"riskFactor": "STIGMA", "measure": "Counselling for the family."}],
    )
    approve = {"approvedOn": "2026-01-14"}
    assert codes(await run(client, "approveSafetyPlan", case, **approve)) == ["FORBIDDEN"]
    assert rule_of(await run(admin, "approveSafetyPlan", case, **approve)) == "SELF_APPROVAL"
    case = await advance(supervisor, "approveSafetyPlan", case, **approve)
    _, missing = await readiness(client, case, "INDEPENDENT", "2026-02-01")
    assert not any(code.startswith("SAFETY_PLAN") for code in missing)


async def test_a_revised_plan_is_a_new_revision_with_its_own_event(as_org: Any) -> None:
    client = as_org("moviera")
    case = await wants_to_return(client)
    partner_id = await partner(as_org("comensha", "social-map-editor"))
    case = await prepare_reintegration(client, case, partner_id)
    case = await advance(
        client,
        "reviseReintegrationPlan",
        case,
        revisedOn="2026-02-10",
        partnerOrganisationId=partner_id,
        goals=[{"domain": "EDUCATION", "targetDate": "2026-09-01", "description": "A course."}],
    )
    found = await read(client, case)
    assert found["reintegrationPlan"] == {
        "revision": 2,
        "revisedOn": "2026-02-10",
        "goals": [{"domain": "EDUCATION"}],
    }
    assert [t["eventType"] for t in found["timeline"]][-2:] == [
        "ReintegrationPlanAgreed",
        "ReintegrationPlanRevised",
    ]


# --- the integrator feed ------------------------------------------------------------------------

FEED = """
query Page($caseId: ID) {
  caseEvents(first: 50, caseId: $caseId) { edges { node { eventType data personal } } }
}
"""


async def test_new_facts_reach_the_integrator_feed_without_their_personal_parts(
    as_org: Any, http: Any
) -> None:
    client = as_org("moviera")
    case = await open_case(client, birth_year=2011)
    case = await advance(
        client, "recordReturnConversation", case, heldOn="2026-01-10", wish="WANTS_TO_RETURN"
    )
    case = await advance(
        client, "recordGuardian", case, appointedOn="2026-01-11", guardianOrganisation="Nidos",
        notes="Guardian Ms Secretvoogd.",
    )  # fmt: skip
    case = await advance(
        client, "recordReturnHelpRefused", case, refusedOn="2026-01-12", helpOffered=["DTV"],
        notes="Secretrefusal reasons.",
    )  # fmt: skip
    credentials = await create_client(as_org("moviera", "tenant-admin"), "EVENTS_READ")
    integrator = GraphQLClient(http, await token_for(http, credentials))
    response = await integrator.post(FEED, {"caseId": case["id"]})
    assert response.status_code == 200
    nodes = [e["node"] for e in response.json()["data"]["caseEvents"]["edges"]]
    assert [n["eventType"] for n in nodes][-2:] == ["GuardianRecorded", "ReturnHelpRefused"]
    assert all(n["personal"] is None for n in nodes)
    assert nodes[-2]["data"]["guardian_organisation"] == "Nidos"
    assert "Secret" not in response.text


# --- another shelter ------------------------------------------------------------------------------


async def test_another_shelter_gets_not_found_for_readiness_approval_and_emergency(
    as_org: Any, http: Any, make_token: Any, admin_engine: AsyncEngine
) -> None:
    client = as_org("moviera")
    case = await wants_to_return(client)
    case = await advance(
        client, "assessRisk", case, assessedOn="2026-01-12", level="HIGH", factors=["DEBTS"]
    )
    case = await advance(
        client,
        "recordSafetyPlan",
        case,
        writtenOn="2026-01-13",
        measures=[{"riskFactor": "DEBTS", "measure": "Debt advice."}],
    )
    before = await events_of(admin_engine, case)
    other_admin = colleague(http, make_token, "blijf-groep", "tenant-admin")
    other_supervisor = colleague(http, make_token, "blijf-groep", "supervisor")

    body = await other_admin.execute(
        "query($id: ID!) { returnCase(id: $id) { readiness(kind: ASSISTED) { ready } } }",
        {"id": case["id"]},
    )
    assert codes(body) == ["NOT_FOUND"], body
    approve = await run(other_supervisor, "approveSafetyPlan", case, approvedOn="2026-01-14")
    assert codes(approve) == ["NOT_FOUND"], approve
    emergency = await run(
        other_admin, "recordDeparture", case, departedOn="2026-01-15", mode="INDEPENDENT",
        destinationCountry="NG", emergency={"reason": "Urgent."},
    )  # fmt: skip
    assert codes(emergency) == ["NOT_FOUND"], emergency
    assert await events_of(admin_engine, case) == before
    # The owner's supervisor can approve the same plan.
    await advance(
        colleague(http, make_token, "moviera", "supervisor"),
        "approveSafetyPlan",
        case,
        approvedOn="2026-01-14",
    )


async def test_readiness_of_a_page_of_cases_is_answered_for_the_shelters_own_cases(
    as_org: Any,
) -> None:
    client = as_org("het-kopland")
    intake = {"intakeDate": "2025-03-17"}
    ready = await advance(
        client, "recordReturnConversation", await open_case(client, **intake),
        heldOn="2026-01-10", wish="WANTS_TO_RETURN",
    )  # fmt: skip
    ready = await prepare_ready_case(client, ready)
    waiting = await open_case(client, **intake)
    body = await client.execute(
        '{ returnCases(first: 50, filter: {intakeFrom: "2025-03-17", intakeTo: "2025-03-17"}) '
        '{ edges { node { id readiness(kind: INDEPENDENT, on: "2026-02-01") { ready } } } } }'
    )
    assert "errors" not in body, body
    edges = body["data"]["returnCases"]["edges"]
    found = {e["node"]["id"]: e["node"]["readiness"]["ready"] for e in edges}
    assert (found[ready["id"]], found[waiting["id"]]) == (True, False)
