"""Shared by tests that walk a case to its departure: the steps that make a return ready.

``prepare_ready_case`` records what ``readiness`` asks of an adult's independent or assisted
return (a recent LOW risk assessment, the client's own valid travel document, the destination
with family receiving the client); ``prepare_reintegration`` adds what IOM reintegration
support needs (consent for the partner, an agreed plan); ``protect_minor`` what a minor needs.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import GraphQLClient
from tests.e2e.socialmap_support import create, unique

CASE = "id version phase"


def colleague(http: httpx.AsyncClient, make_token: Any, org: str, *roles: str) -> GraphQLClient:
    """A client for another person of ``org`` (a subject of their own) with ``roles``."""
    subject = f"{'-'.join(roles)}-of-{org}"
    return GraphQLClient(http, make_token(org, *roles, subject=subject))


def document(name: str, fields: str = CASE) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return f"""
    mutation Run($input: {input_type}!) {{
      {name}(input: $input) {{ version case {{ {fields} }} }}
    }}
    """


async def run(
    client: GraphQLClient, name: str, case: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """Run a case mutation on the case's current version; the response body as it came."""
    variables = {"input": {"caseId": case["id"], "expectedVersion": case["version"], **fields}}
    return await client.execute(document(name), variables)


async def advance(
    client: GraphQLClient, name: str, case: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """Run a case mutation that must succeed; the case (id, version, phase) after it."""
    body = await run(client, name, case, **fields)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"][name]["case"]
    return {**case, **found}


async def prepare_ready_case(
    client: GraphQLClient,
    case: dict[str, Any],
    *,
    on: str = "2026-01-20",
    country: str = "NG",
    place: str = "Benin City",
) -> dict[str, Any]:
    """An independent return of an adult who wants to return becomes ready (from ``on``)."""
    case = await advance(client, "assessRisk", case, assessedOn=on, level="LOW")
    case = await advance(
        client,
        "recordTravelDocument",
        case,
        status="OWN_VALID",
        recordedOn=on,
        originalIdentityDocument=False,
    )
    return await advance(
        client,
        "recordArrivalArrangement",
        case,
        arrangedOn=on,
        destinationCountry=country,
        destinationPlace=place,
        receiver="FAMILY",
    )


async def partner(editor: GraphQLClient, country: str = "NG") -> str:
    """A new active organisation of the social map in ``country``: its global ID."""
    made = await create(editor, name=unique("Reintegration partner"), country=country)
    return str(made["organisation"]["id"])


async def prepare_reintegration(
    client: GraphQLClient, case: dict[str, Any], partner_id: str, *, on: str = "2026-01-21"
) -> dict[str, Any]:
    """Consent to share with the partner for reintegration support, and an agreed plan."""
    case = await advance(
        client,
        "giveConsent",
        case,
        organisationId=partner_id,
        purpose="REINTEGRATION_SUPPORT",
        givenOn=on,
        transferRisksExplained=True,
    )
    return await advance(
        client,
        "agreeReintegrationPlan",
        case,
        agreedOn=on,
        partnerOrganisationId=partner_id,
        goals=[
            {
                "domain": "INCOME_AND_WORK",
                "responsibleOrganisationId": partner_id,
                "budget": 1500,
                "targetDate": "2026-06-30",
                "description": "Start a tailoring business.",
            },
            {
                "domain": "HOUSING",
                "targetDate": "2026-03-31",
                "description": "A room with her aunt.",
            },
        ],
    )


async def protect_minor(
    client: GraphQLClient, case: dict[str, Any], *, on: str = "2026-01-22"
) -> dict[str, Any]:
    """Guardian (Nidos), best-interests assessment and a safe family, as a minor needs."""
    case = await advance(
        client, "recordGuardian", case, appointedOn=on, guardianOrganisation="Nidos"
    )
    case = await advance(
        client,
        "recordBestInterestsAssessment",
        case,
        assessedOn=on,
        returnInBestInterests=True,
    )
    return await advance(client, "recordFamilyAssessment", case, assessedOn=on, outcome="SAFE")


READINESS = """
query Readiness($id: ID!, $kind: DepartureMode!, $on: Date) {
  returnCase(id: $id) { readiness(kind: $kind, on: $on) { ready missing { code message } } }
}
"""


async def readiness(
    client: GraphQLClient, case: dict[str, Any], kind: str, on: str | None = None
) -> tuple[bool, list[str]]:
    body = await client.execute(READINESS, {"id": case["id"], "kind": kind, "on": on})
    assert "errors" not in body, body
    found = body["data"]["returnCase"]["readiness"]
    return found["ready"], [item["code"] for item in found["missing"]]
