"""A case walked from opening to closing over HTTP, as a case worker would."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import GraphQLClient, codes

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


async def test_case_walks_from_intake_to_closed_and_timeline_shows_every_step(as_org: Any) -> None:
    client = as_org("moviera")
    opened = await open_case(client)
    case = opened["case"]
    assert (opened["version"], case["phase"]) == (1, "INTAKE")

    case = await step(
        client, "recordReturnConversation", case, heldOn="2026-01-10", wish="WANTS_TO_RETURN"
    )
    assert case["phase"] == "PREPARATION"
    case = await step(
        client, "assessRisk", case, assessedOn="2026-01-12", level="MEDIUM", factors=["DEBTS"]
    )
    case = await step(
        client, "arrangeReturnSupport", case, kind="IOM_REINTEGRATION", arrangedOn="2026-01-15"
    )
    case = await step(
        client, "planDeparture", case, plannedOn="2026-02-01", destinationCountry="NG"
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
    case = await step(client, "closeReturnCase", case, reason="RETURNED", closedOn="2026-06-02")
    assert (case["phase"], case["closingReason"], case["version"]) == ("CLOSED", "RETURNED", 8)

    body = await client.execute(
        "query($id: ID!) { returnCase(id: $id) "
        "{ phase timeline { version eventType actor summary } } }",
        {"id": case["id"]},
    )
    timeline = body["data"]["returnCase"]["timeline"]
    assert [t["eventType"] for t in timeline] == [
        "ReturnCaseOpened",
        "ReturnConversationRecorded",
        "RiskAssessed",
        "ReturnSupportArranged",
        "DeparturePlanned",
        "DepartureRecorded",
        "FollowUpRecorded",
        "ReturnCaseClosed",
    ]
    assert [t["version"] for t in timeline] == list(range(1, 9))
    assert all(t["actor"] == "user-of-moviera" for t in timeline)
    assert all("Ada" not in t["summary"] for t in timeline)


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
