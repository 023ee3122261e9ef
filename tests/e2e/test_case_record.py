"""The case, readable: every fact the events record is a typed field of ReturnCase; its
personal parts are shown to the case's own shelter only and recorded in the access log."""

from __future__ import annotations

import contextvars
from typing import Any

import httpx
from sqlalchemy import event
from starlette.applications import Starlette

from tests.e2e.conftest import GraphQLClient, codes
from tests.e2e.socialmap_support import seeded
from tests.e2e.test_feed_integrators import create_client, token_for
from tests.e2e.test_lifecycle import open_case, step
from tests.e2e.test_privacy_access_log import read_log

ORG = "humanitas-pmw"
PARTNER = seeded("payoke")  # a real organisation of the social map, in Belgium

RECORD = """
returnConversations { heldOn wish notes }
legalPositions { recordedOn residenceStatus proceedingsStage departureDeadline
                 departureObligation }
riskAssessments { assessedOn level factors notes }
consents { organisationId purpose givenOn withdrawnOn active }
referrals { status notes statusHistory { status changedOn reason } }
returnSupport { kind arrangedOn }
travelDocuments { status recordedOn originalIdentityDocument }
reintegrationPlan { agreedOn revision }
plannedDepartures { plannedOn destinationCountry }
departure { departedOn mode destinationCountry }
followUps { contactedOn reached situation monthsAfterDeparture notes }
closings { reason closedOn transferredTo reopenedOn notes reopeningReason }
personalDataErasures { erasedOn reason }
"""
READ = "query($id: ID!) { returnCase(id: $id) { id %s } }"


async def walked_case(client: GraphQLClient) -> dict[str, Any]:
    """A case with every kind of fact, each with its personal notes."""
    case = (await open_case(client, countryOfOrigin="LU", nationality="LU"))["case"]
    steps: list[tuple[str, dict[str, Any]]] = [
        ("recordReturnConversation", {"heldOn": "2026-01-08", "wish": "UNDECIDED"}),
        (
            "recordReturnConversation",
            {"heldOn": "2026-01-10", "wish": "WANTS_TO_RETURN", "notes": "wants to go home"},
        ),
        (
            "recordLegalPosition",
            {
                "recordedOn": "2026-01-11",
                "residenceStatus": "TEMPORARY_VICTIM_PERMIT",
                "proceedingsStage": "INVESTIGATION",
            },
        ),
        (
            "assessRisk",
            {
                "assessedOn": "2026-01-12",
                "level": "MEDIUM",
                "factors": ["DEBTS", "STIGMA"],
                "notes": "debt to recruiter",
            },
        ),
        (
            "giveConsent",
            {"organisationId": PARTNER, "purpose": "REFERRAL", "givenOn": "2026-01-13"},
        ),
        (
            "contactPartnerOrganisation",
            {
                "organisationId": PARTNER,
                "purpose": "REFERRAL",
                "contactedOn": "2026-01-14",
                "sharesPersonalData": True,
                "notes": "spoke to the intake desk",
            },
        ),
        ("arrangeReturnSupport", {"kind": "IOM_REINTEGRATION", "arrangedOn": "2026-01-15"}),
        (
            "recordTravelDocument",
            {"status": "REQUESTED", "recordedOn": "2026-01-16", "originalIdentityDocument": True},
        ),
        (
            "recordTravelDocument",
            {"status": "ISSUED", "recordedOn": "2026-01-16", "originalIdentityDocument": True},
        ),
        (
            "giveConsent",
            {
                "organisationId": PARTNER,
                "purpose": "REINTEGRATION_SUPPORT",
                "givenOn": "2026-01-16",
                "transferRisksExplained": True,
            },
        ),
        (
            "agreeReintegrationPlan",
            {
                "agreedOn": "2026-01-17",
                "partnerOrganisationId": PARTNER,
                "notes": "vocational training",
                "goals": [
                    {
                        "domain": "INCOME_AND_WORK",
                        "targetDate": "2026-06-30",
                        "description": "vocational training",
                    }
                ],
            },
        ),
        (
            "recordArrivalArrangement",
            {
                "arrangedOn": "2026-01-18",
                "destinationCountry": "BE",
                "destinationPlace": "Antwerp",
                "receiver": "PARTNER_ORGANISATION",
                "organisationId": PARTNER,
            },
        ),
        (
            "planDeparture",
            {"plannedOn": "2026-02-01", "destinationCountry": "BE", "mode": "ASSISTED"},
        ),
        (
            "recordDeparture",
            {"departedOn": "2026-02-02", "mode": "ASSISTED", "destinationCountry": "BE"},
        ),
        (
            "recordFollowUp",
            {
                "contactedOn": "2026-05-04",
                "reached": True,
                "situation": "STABLE",
                "notes": "found work",
            },
        ),
        ("closeReturnCase", {"reason": "RETURNED", "closedOn": "2026-06-01", "notes": "done"}),
        ("reopenReturnCase", {"reopenedOn": "2026-06-03", "reason": "partner called"}),
    ]
    for name, fields in steps:
        case = await step(client, name, case, **fields)
    body = await client.execute(READ % "referrals { id }", {"id": case["id"]})
    referral = body["data"]["returnCase"]["referrals"][0]["id"]
    return await step(
        client,
        "updateReferralStatus",
        case,
        referralId=referral,
        status="REJECTED",
        changedOn="2026-06-04",
        reason="no capacity",
    )


async def test_every_recorded_fact_is_a_typed_field_of_the_case(as_org: Any) -> None:
    client = as_org(ORG)
    case = await walked_case(client)
    body = await client.execute(READ % RECORD, {"id": case["id"]})
    assert "errors" not in body, body
    got = body["data"]["returnCase"]
    assert got["returnConversations"] == [
        {"heldOn": "2026-01-08", "wish": "UNDECIDED", "notes": None},
        {"heldOn": "2026-01-10", "wish": "WANTS_TO_RETURN", "notes": "wants to go home"},
    ]
    assert got["legalPositions"] == [
        {
            "recordedOn": "2026-01-11",
            "residenceStatus": "TEMPORARY_VICTIM_PERMIT",
            "proceedingsStage": "INVESTIGATION",
            "departureDeadline": None,
            "departureObligation": False,
        }
    ]
    assert got["riskAssessments"] == [
        {
            "assessedOn": "2026-01-12",
            "level": "MEDIUM",
            "factors": ["DEBTS", "STIGMA"],
            "notes": "debt to recruiter",
        }
    ]
    assert got["referrals"] == [
        {
            "status": "REJECTED",
            "notes": "spoke to the intake desk",
            "statusHistory": [
                {"status": "REQUESTED", "changedOn": "2026-01-14", "reason": None},
                {"status": "REJECTED", "changedOn": "2026-06-04", "reason": "no capacity"},
            ],
        }
    ]
    assert got["returnSupport"] == [{"kind": "IOM_REINTEGRATION", "arrangedOn": "2026-01-15"}]
    assert got["travelDocuments"] == [
        {"status": "REQUESTED", "recordedOn": "2026-01-16", "originalIdentityDocument": True},
        {"status": "ISSUED", "recordedOn": "2026-01-16", "originalIdentityDocument": True},
    ]
    assert got["reintegrationPlan"] == {"agreedOn": "2026-01-17", "revision": 1}
    assert got["plannedDepartures"] == [{"plannedOn": "2026-02-01", "destinationCountry": "BE"}]
    assert got["departure"] == {
        "departedOn": "2026-02-02",
        "mode": "ASSISTED",
        "destinationCountry": "BE",
    }
    assert got["followUps"] == [
        {
            "contactedOn": "2026-05-04",
            "reached": True,
            "situation": "STABLE",
            "monthsAfterDeparture": 3,
            "notes": "found work",
        }
    ]
    assert got["closings"] == [
        {
            "reason": "RETURNED",
            "closedOn": "2026-06-01",
            "transferredTo": None,
            "reopenedOn": "2026-06-03",
            "notes": "done",
            "reopeningReason": "partner called",
        }
    ]
    assert got["personalDataErasures"] == []


async def test_personal_parts_of_the_record_are_in_the_access_log(as_org: Any) -> None:
    client = as_org(ORG)
    admin = as_org(ORG, "tenant-admin")
    case = await walked_case(client)
    await client.execute(READ % "riskAssessments { level } closings { reason }", {"id": case["id"]})
    assert await read_log(admin, caseId=case["id"]) == []  # no personal part selected

    await client.execute(
        READ % "riskAssessments { notes } referrals { statusHistory { reason } }",
        {"id": case["id"]},
    )
    (record,) = await read_log(admin, caseId=case["id"])
    assert record["fields"] == ["referrals.statusHistory.reason", "riskAssessments.notes"]


async def test_erasure_blanks_the_record_personal_parts_and_is_itself_recorded(
    as_org: Any,
) -> None:
    client = as_org(ORG)
    admin = as_org(ORG, "tenant-admin")
    case = await walked_case(client)
    body = await admin.execute(
        "mutation($input: EraseClientPersonalDataInput!) { eraseClientPersonalData(input: $input)"
        " { case { id } } }",
        {
            "input": {
                "caseId": case["id"],
                "expectedVersion": case["version"],
                "reason": "CLIENT_REQUEST",
            }
        },
    )
    assert "errors" not in body, body
    body = await client.execute(READ % RECORD, {"id": case["id"]})
    got = body["data"]["returnCase"]
    assert got["riskAssessments"][0]["notes"] is None
    assert got["referrals"][0]["statusHistory"][1]["reason"] is None
    assert got["closings"][0]["reopeningReason"] is None
    assert got["riskAssessments"][0]["factors"] == ["DEBTS", "STIGMA"]  # facts stay
    assert [e["reason"] for e in got["personalDataErasures"]] == ["CLIENT_REQUEST"]


async def test_another_shelter_cannot_read_the_record(as_org: Any) -> None:
    case = await walked_case(as_org(ORG))
    body = await as_org("moviera").execute(READ % RECORD, {"id": case["id"]})
    assert codes(body) == ["NOT_FOUND"]
    assert body["data"] is None
    listed = await as_org("moviera").execute(
        "{ returnCases(first: 50) { edges { node { id " + RECORD + " } } } }"
    )
    assert "errors" not in listed, listed
    assert case["id"] not in {e["node"]["id"] for e in listed["data"]["returnCases"]["edges"]}


async def test_no_integrator_or_analyst_reaches_the_record(
    as_org: Any, http: httpx.AsyncClient
) -> None:
    case = await walked_case(as_org(ORG))
    credentials = await create_client(
        as_org(ORG, "tenant-admin"), "EVENTS_READ", "PERSONAL_DATA_READ", name="Record reader"
    )
    integrator = await token_for(http, credentials)
    for client in (GraphQLClient(http, integrator), as_org("comensha", "comensha-analyst")):
        body = await client.execute(READ % RECORD, {"id": case["id"]})
        assert codes(body) == ["FORBIDDEN"]
        assert body["data"] is None


measuring: contextvars.ContextVar[bool] = contextvars.ContextVar("measuring", default=False)


async def test_the_record_of_a_page_of_cases_costs_the_same_statements_for_2_or_8_cases(
    app: Starlette, as_org: Any
) -> None:
    client = as_org("het-kopland", "caseworker")
    for _ in range(8):
        await walked_case(client)
    query = (
        "query($first: Int!) { returnCases(first: $first, "
        'filter: {countriesOfOrigin: ["LU"]}) { edges { node { id %s } } } }'
    )
    statements: list[str] = []

    def count(*args: Any) -> None:
        if measuring.get():  # this request only, not the service's background readers
            statements.append(args[2])

    sync_engine = app.state.deps.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", count)
    try:
        per_page = {}
        for first in (2, 8):
            statements.clear()
            token = measuring.set(True)
            try:
                body = await client.execute(query % RECORD, {"first": first})
            finally:
                measuring.reset(token)
            assert "errors" not in body, body
            nodes = [e["node"] for e in body["data"]["returnCases"]["edges"]]
            assert len(nodes) == first
            assert all(n["riskAssessments"][0]["notes"] == "debt to recruiter" for n in nodes)
            per_page[first] = len(statements)
    finally:
        event.remove(sync_engine, "before_cursor_execute", count)
    assert per_page[2] == per_page[8], statements
    # Each with its tenant setting: the page; the events of every case; the keys to open
    # their notes; the access-log record of the notes returned.
    assert per_page[8] == 8, statements
