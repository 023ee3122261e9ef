"""A case walked from opening to closing over HTTP, as a case worker would."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import GraphQLClient, codes
from tests.e2e.departure_support import (
    advance,
    colleague,
    partner,
    prepare_reintegration,
    readiness,
    run,
)

CASE_FIELDS = "id version phase wish departureMode closingReason followUpCount"

OPEN = f"""
mutation Open($input: OpenReturnCaseInput!) {{
  openReturnCase(input: $input) {{ version replayed case {{ {CASE_FIELDS} }} }}
}}
"""


def mutation(name: str, input_type: str) -> str:
    return f"""
    mutation Run($input: {input_type}!) {{
      {name}(input: $input) {{ version replayed case {{ {CASE_FIELDS} }} }}
    }}
    """


async def open_case(client: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    data = {
        "intakeDate": "2026-01-05",
        "pseudonym": "Client A",
        "gender": "FEMALE",
        "birthYear": 1998,
        "nationality": "NG",
        "countryOfOrigin": "NG",
        "languages": ["en"],
        "exploitationForms": ["SEXUAL_EXPLOITATION"],
        "fullName": "Ada Testperson",
        "dateOfBirth": "1998-04-02",
        **overrides,
    }
    body = await client.execute(OPEN, {"input": data})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["openReturnCase"]
    return payload


async def step(
    client: GraphQLClient, name: str, case: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    input_type = name[0].upper() + name[1:] + "Input"
    body = await client.execute(
        mutation(name, input_type),
        {"input": {"caseId": case["id"], "expectedVersion": case["version"], **fields}},
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][name]
    return payload["case"]  # type: ignore[no-any-return]


async def test_adult_assisted_return_with_reintegration_walks_from_intake_to_closed(
    as_org: Any, http: Any, make_token: Any
) -> None:
    client = as_org("moviera")
    supervisor = colleague(http, make_token, "moviera", "supervisor")
    opened = await open_case(client)
    case = opened["case"]
    assert (opened["version"], case["phase"]) == (1, "INTAKE")

    case = await step(
        client, "recordReturnConversation", case, heldOn="2026-01-10", wish="WANTS_TO_RETURN"
    )
    assert case["phase"] == "PREPARATION"
    case = await step(
        client,
        "assessRisk",
        case,
        assessedOn="2026-01-12",
        level="HIGH",
        factors=["RE_TRAFFICKING", "DEBTS"],
    )
    case = await step(
        client, "arrangeReturnSupport", case, kind="IOM_REINTEGRATION", arrangedOn="2026-01-15"
    )

    # Nothing else is prepared: the case says what is missing, and planning is refused.
    ready, missing = await readiness(client, case, "ASSISTED", "2026-02-01")
    assert not ready
    assert missing == [
        "SAFETY_PLAN_MISSING",
        "TRAVEL_DOCUMENT_MISSING",
        "ARRIVAL_NOT_ARRANGED",
        "REINTEGRATION_PLAN_MISSING",
    ]
    body = await run(
        client,
        "planDeparture",
        case,
        plannedOn="2026-02-01",
        destinationCountry="NG",
        mode="ASSISTED",
    )
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["rule"] == "NOT_READY"
    assert body["errors"][0]["extensions"]["missing"] == missing

    case = await advance(
        client,
        "recordSafetyPlan",
        case,
        writtenOn="2026-01-16",
        measures=[
            {"riskFactor": "RE_TRAFFICKING", "measure": "Met at the airport by the partner."},
            {"riskFactor": "DEBTS", "measure": "Debt counselling before and after return."},
        ],
    )
    case = await advance(supervisor, "approveSafetyPlan", case, approvedOn="2026-01-17")
    case = await advance(
        client,
        "recordTravelDocument",
        case,
        status="REQUESTED",
        recordedOn="2026-01-17",
        originalIdentityDocument=True,
    )
    case = await advance(
        client,
        "recordTravelDocument",
        case,
        status="ISSUED",
        recordedOn="2026-01-25",
        originalIdentityDocument=True,
    )
    partner_id = await partner(as_org("comensha", "social-map-editor"))
    case = await advance(
        client,
        "recordArrivalArrangement",
        case,
        arrangedOn="2026-01-20",
        destinationCountry="NG",
        destinationPlace="Benin City",
        receiver="PARTNER_ORGANISATION",
        organisationId=partner_id,
    )
    case = await prepare_reintegration(client, case, partner_id)
    assert await readiness(client, case, "ASSISTED", "2026-02-01") == (True, [])

    case = await advance(
        client,
        "planDeparture",
        case,
        plannedOn="2026-02-01",
        destinationCountry="NG",
        mode="ASSISTED",
    )
    case = await step(
        client,
        "recordDeparture",
        case,
        departedOn="2026-02-01",
        mode="ASSISTED",
        destinationCountry="NG",
    )
    assert case["phase"] == "DEPARTED"
    case = await step(
        client, "recordFollowUp", case, contactedOn="2026-05-02", reached=True, situation="STABLE"
    )
    assert case["phase"] == "FOLLOW_UP"
    case = await step(client, "closeReturnCase", case, reason="RETURNED", closedOn="2026-11-02")
    assert (case["phase"], case["closingReason"], case["version"]) == ("CLOSED", "RETURNED", 15)

    body = await client.execute(
        "query($id: ID!) { returnCase(id: $id) { phase "
        "safetyPlan { riskFactors approved approvedOn } "
        "arrival { destinationCountry destinationPlace receiver organisationId } "
        "reintegrationPlan { revision partnerOrganisationId "
        "goals { domain responsibleOrganisationId budget targetDate } } "
        "planDueOn planOverdue emergencyDeparture "
        "timeline { version eventType actor summary } } }",
        {"id": case["id"]},
    )
    found = body["data"]["returnCase"]
    assert found["safetyPlan"] == {
        "riskFactors": ["RE_TRAFFICKING", "DEBTS"],
        "approved": True,
        "approvedOn": "2026-01-17",
    }
    assert found["arrival"] == {
        "destinationCountry": "NG",
        "destinationPlace": "Benin City",
        "receiver": "PARTNER_ORGANISATION",
        "organisationId": partner_id,
    }
    assert found["reintegrationPlan"] == {
        "revision": 1,
        "partnerOrganisationId": partner_id,
        "goals": [
            {
                "domain": "INCOME_AND_WORK",
                "responsibleOrganisationId": partner_id,
                "budget": 1500,
                "targetDate": "2026-06-30",
            },
            {
                "domain": "HOUSING",
                "responsibleOrganisationId": None,
                "budget": None,
                "targetDate": "2026-03-31",
            },
        ],
    }
    assert (found["planDueOn"], found["planOverdue"], found["emergencyDeparture"]) == (
        "2026-03-01",
        False,
        False,
    )
    timeline = found["timeline"]
    assert [t["eventType"] for t in timeline] == [
        "ReturnCaseOpened",
        "ReturnConversationRecorded",
        "RiskAssessed",
        "ReturnSupportArranged",
        "SafetyPlanRecorded",
        "SafetyPlanApproved",
        "TravelDocumentRecorded",
        "TravelDocumentRecorded",
        "ArrivalArranged",
        "ConsentGiven",
        "ReintegrationPlanAgreed",
        "DeparturePlanned",
        "DepartureRecorded",
        "FollowUpRecorded",
        "ReturnCaseClosed",
    ]
    assert [t["version"] for t in timeline] == list(range(1, 16))
    assert {t["actor"] for t in timeline} == {"user-of-moviera", "supervisor-of-moviera"}
    assert all("Ada" not in t["summary"] and "airport" not in t["summary"] for t in timeline)


async def test_closed_case_refuses_changes_but_can_be_reopened(as_org: Any) -> None:
    client = as_org("het-kopland")
    case = (await open_case(client))["case"]
    case = await step(client, "closeReturnCase", case, reason="WITHDREW", closedOn="2026-01-06")
    body = await client.execute(
        mutation("recordReturnConversation", "RecordReturnConversationInput"),
        {
            "input": {
                "caseId": case["id"],
                "expectedVersion": case["version"],
                "heldOn": "2026-01-07",
                "wish": "UNDECIDED",
            }
        },
    )
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["rule"] == "CASE_CLOSED"
    case = await step(
        client, "reopenReturnCase", case, reopenedOn="2026-01-08", reason="client came back"
    )
    assert (case["phase"], case["version"]) == ("INTAKE", 3)
