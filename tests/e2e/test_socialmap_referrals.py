"""Cases refer to organisations of the social map: existing, active, resolvable forever."""

from __future__ import annotations

import contextvars
import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from service.auth import Principal
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.handlers.return_case import COUNTRY_FROM_SOCIAL_MAP, handle
from service.schema.ids import to_global_id
from service.socialmap.seed import organisation_id
from tests.e2e.conftest import GraphQLClient, codes
from tests.e2e.departure_support import prepare_ready_case
from tests.e2e.socialmap_support import EDITOR, RETIRE, create, load_demo, seeded, unique

CASE = """
id version phase consents { organisationId outsideEea active }
partnerOrganisations { id name country active }
timeline { eventType organisation { name active } }
"""


@pytest.fixture(scope="module", autouse=True)
async def demo(admin_engine: AsyncEngine) -> None:
    await load_demo(admin_engine)


ADULT_PROFILE = {
    "pseudonym": "R adult",
    "gender": "FEMALE",
    "birthYear": 1994,
    "nationality": "RO",
    "countryOfOrigin": "RO",
    "languages": ["ro"],
    "exploitationForms": [],
}


async def open_case(client: GraphQLClient, country: str = "NG") -> dict[str, Any]:
    body = await client.execute(
        f"mutation($input: OpenReturnCaseInput!) {{ openReturnCase(input: $input) "
        f"{{ case {{ {CASE} }} }} }}",
        {
            "input": {
                "intakeDate": "2026-03-02",
                "pseudonym": unique("R"),
                "gender": "FEMALE",
                "nationality": country,
                "countryOfOrigin": country,
                "languages": ["en"],
            }
        },
    )
    assert "errors" not in body, body
    case: dict[str, Any] = body["data"]["openReturnCase"]["case"]
    return case


async def send(
    client: GraphQLClient, name: str, case: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    input_type = name[0].upper() + name[1:] + "Input"
    return await client.execute(
        f"mutation($input: {input_type}!) {{ {name}(input: $input) "
        f"{{ version replayed case {{ {CASE} }} }} }}",
        {"input": {"caseId": case["id"], "expectedVersion": case["version"], **fields}},
    )


async def step(
    client: GraphQLClient, name: str, case: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    body = await send(client, name, case, **fields)
    assert "errors" not in body, body
    updated: dict[str, Any] = body["data"][name]["case"]
    return updated


async def read_case(client: GraphQLClient, case_id: str) -> dict[str, Any]:
    body = await client.execute(
        f"query($id: ID!) {{ returnCase(id: $id) {{ {CASE} }} }}", {"id": case_id}
    )
    assert "errors" not in body, body
    case: dict[str, Any] = body["data"]["returnCase"]
    return case


def refused_with(body: dict[str, Any], rule: str) -> None:
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["rule"] == rule
    assert body["errors"][0]["extensions"]["field"] == "organisationId"


async def test_an_organisation_must_be_on_the_social_map(as_org: Any) -> None:
    client = as_org("moviera")
    case = await open_case(client)
    unknown = to_global_id("Organisation", uuid.uuid4())
    refused_with(
        await send(
            client,
            "giveConsent",
            case,
            organisationId=unknown,
            purpose="REFERRAL",
            givenOn="2026-03-03",
            transferRisksExplained=True,
        ),
        "UNKNOWN_ORGANISATION",
    )
    refused_with(
        await send(
            client,
            "contactPartnerOrganisation",
            case,
            organisationId=unknown,
            purpose="REFERRAL",
            contactedOn="2026-03-03",
            sharesPersonalData=False,
        ),
        "UNKNOWN_ORGANISATION",
    )
    after = await read_case(client, case["id"])
    assert (after["version"], len(after["timeline"])) == (1, 1)


async def test_the_organisation_country_comes_from_the_social_map(as_org: Any) -> None:
    client = as_org("humanitas-pmw")
    case = await open_case(client)
    in_nigeria = seeded("demo-lagos-network")
    body = await send(
        client,
        "giveConsent",
        case,
        organisationId=in_nigeria,
        purpose="REFERRAL",
        givenOn="2026-03-03",
    )
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["rule"] == "TRANSFER_RISKS_NOT_EXPLAINED"
    case = await step(
        client,
        "giveConsent",
        case,
        organisationId=in_nigeria,
        purpose="REFERRAL",
        givenOn="2026-03-03",
        transferRisksExplained=True,
    )
    case = await step(
        client,
        "giveConsent",
        case,
        organisationId=seeded("payoke"),
        purpose="REFERRAL",
        givenOn="2026-03-03",
    )
    assert [(c["organisationId"], c["outsideEea"]) for c in case["consents"]] == [
        (in_nigeria, True),
        (seeded("payoke"), False),
    ]
    schema = await client.execute('{ __type(name: "GiveConsentInput") { inputFields { name } } }')
    fields = {f["name"] for f in schema["data"]["__type"]["inputFields"]}
    assert "organisationCountry" not in fields


async def test_a_retired_organisation_cannot_be_contacted_but_old_cases_still_resolve_it(
    as_org: Any,
) -> None:
    editor = as_org(*EDITOR)
    client = as_org("het-kopland")
    partner = (
        await create(
            editor, name=unique("Port Harcourt Partner"), services=["RECEPTION_ON_ARRIVAL"]
        )
    )["organisation"]
    old = await open_case(client)
    old = await step(
        client,
        "giveConsent",
        old,
        organisationId=partner["id"],
        purpose="REFERRAL",
        givenOn="2026-03-03",
        transferRisksExplained=True,
    )
    contact = {
        "organisationId": partner["id"],
        "purpose": "REFERRAL",
        "contactedOn": "2026-03-04",
        "sharesPersonalData": True,
        "idempotencyKey": unique("contact"),
    }
    before_contact = old
    old = await step(client, "contactPartnerOrganisation", old, **contact)
    assert [o["name"] for o in old["partnerOrganisations"]] == [partner["name"]]

    body = await editor.execute(
        RETIRE, {"input": {"id": partner["id"], "expectedVersion": 1, "reason": "closed down"}}
    )
    assert body["data"]["retireOrganisation"]["organisation"]["active"] is False

    new = await open_case(client)
    refused_with(
        await send(
            client,
            "contactPartnerOrganisation",
            new,
            organisationId=partner["id"],
            purpose="REFERRAL",
            contactedOn="2026-03-05",
            sharesPersonalData=False,
        ),
        "ORGANISATION_RETIRED",
    )
    refused_with(
        await send(
            client,
            "giveConsent",
            new,
            organisationId=partner["id"],
            purpose="REFERRAL",
            givenOn="2026-03-05",
            transferRisksExplained=True,
        ),
        "ORGANISATION_RETIRED",
    )
    assert (await read_case(client, new["id"]))["version"] == 1

    # The old case still shows the organisation, in its list and on its timeline.
    old = await read_case(client, old["id"])
    assert old["partnerOrganisations"] == [
        {"id": partner["id"], "name": partner["name"], "country": "NG", "active": False}
    ]
    on_timeline = [t["organisation"] for t in old["timeline"] if t["organisation"] is not None]
    assert on_timeline == [{"name": partner["name"], "active": False}] * 2
    # A repeat of the earlier contact is answered as then, and writes nothing.
    repeat = await send(client, "contactPartnerOrganisation", before_contact, **contact)
    assert repeat["data"]["contactPartnerOrganisation"]["replayed"] is True
    # The client may still withdraw the consent given to it.
    old = await step(
        client,
        "withdrawConsent",
        old,
        organisationId=partner["id"],
        purpose="REFERRAL",
        withdrawnOn="2026-03-06",
    )
    assert [c["active"] for c in old["consents"]] == [False]


async def test_partner_organisations_of_another_shelters_case_are_not_found(
    as_org: Any,
) -> None:
    owner = as_org("moviera")
    case = await open_case(owner)
    case = await step(
        owner,
        "contactPartnerOrganisation",
        case,
        organisationId=seeded("iom-nl"),
        purpose="REFERRAL",
        contactedOn="2026-03-03",
        sharesPersonalData=False,
    )
    assert [o["name"] for o in case["partnerOrganisations"]] == ["IOM Netherlands"]
    for other in (as_org("blijf-groep"), as_org("comensha", "social-map-editor")):
        body = await other.execute(
            "query($id: ID!) { returnCase(id: $id) { partnerOrganisations { name } "
            "suggestedPartners { name } } }",
            {"id": case["id"]},
        )
        assert body["data"] is None
        assert codes(body) in (["NOT_FOUND"], ["FORBIDDEN"])
        assert "IOM" not in str(body)


SUGGESTED = """
query($id: ID!, $services: [Service!], $first: Int) {
  returnCase(id: $id) {
    phase
    suggestedPartners(services: $services, first: $first) { name country active services }
  }
}
"""


async def suggestions(
    client: GraphQLClient, case: dict[str, Any], **variables: Any
) -> tuple[str, list[dict[str, Any]]]:
    body = await client.execute(SUGGESTED, {"id": case["id"], **variables})
    assert "errors" not in body, body
    found = body["data"]["returnCase"]
    return found["phase"], found["suggestedPartners"]


async def test_suggested_partners_for_a_case_in_preparation(as_org: Any) -> None:
    client = as_org("jade-zorggroep")
    case = await open_case(client, "RO")
    assert await suggestions(client, case) == ("INTAKE", [])

    case = await step(
        client, "recordReturnConversation", case, heldOn="2026-03-03", wish="WANTS_TO_RETURN"
    )
    phase, found = await suggestions(client, case)
    assert phase == "PREPARATION"
    names = [o["name"] for o in found]
    # Country of origin; counselling or reception on arrival (the default needs).
    assert {"Casa Speranței Iași (demo)", "Centrul de Reintegrare București (demo)"} <= set(names)
    assert all(o["country"] == "RO" and o["active"] for o in found)
    wanted = {"RETURN_COUNSELLING", "RECEPTION_ON_ARRIVAL"}
    assert all(wanted & set(o["services"]) for o in found)

    _, legal = await suggestions(client, case, services=["LEGAL_AID"])
    assert "Casa Speranței Iași (demo)" in [o["name"] for o in legal]
    assert "Centrul de Reintegrare București (demo)" not in [o["name"] for o in legal]
    _, one = await suggestions(client, case, first=1)
    assert len(one) == 1

    # A planned destination wins over the country of origin.
    case = await step(client, "updateClientProfile", case, **ADULT_PROFILE)
    case = await prepare_ready_case(client, case, on="2026-03-20", country="ST", place="Neves")
    case = await step(
        client,
        "planDeparture",
        case,
        plannedOn="2026-04-01",
        destinationCountry="ST",
        mode="INDEPENDENT",
    )
    _, found = await suggestions(client, case)
    assert "Associação São Tomé Solidária (demo)" in [o["name"] for o in found]
    assert all(o["country"] == "ST" for o in found)

    case = await step(
        client,
        "recordDeparture",
        case,
        departedOn="2026-04-01",
        mode="INDEPENDENT",
        destinationCountry="ST",
    )
    assert await suggestions(client, case) == ("DEPARTED", [])


async def test_suggestions_order_by_how_many_needs_are_met(as_org: Any) -> None:
    client = as_org("jade-zorggroep")
    case = await open_case(client, "NG")
    case = await step(
        client, "recordReturnConversation", case, heldOn="2026-03-03", wish="WANTS_TO_RETURN"
    )
    _, found = await suggestions(
        client, case, services=["RETURN_COUNSELLING", "PSYCHOSOCIAL_SUPPORT", "SHELTER"]
    )
    counts = [
        len({"RETURN_COUNSELLING", "PSYCHOSOCIAL_SUPPORT", "SHELTER"} & set(o["services"]))
        for o in found
    ]
    assert counts == sorted(counts, reverse=True)
    assert found[0]["name"] == "Lagos Return and Reintegration Network (demo)" or counts[0] >= 2


async def test_bad_suggestion_arguments_are_refused(as_org: Any) -> None:
    client = as_org("jade-zorggroep")
    case = await open_case(client)
    for variables in ({"first": 0}, {"first": 51}, {"services": []}):
        body = await client.execute(SUGGESTED, {"id": case["id"], **variables})
        assert codes(body) == ["BAD_USER_INPUT"], body


# --- no N+1 --------------------------------------------------------------------------------

COUNTRY = "ZM"  # no other test opens cases with this country of origin
LIST = """
query($first: Int!) {
  returnCases(first: $first, filter: {countriesOfOrigin: ["ZM"]}) {
    edges { node { id partnerOrganisations { id name } } }
  }
}
"""
PARTNERS = ("demo-lagos-network", "demo-kyiv", "demo-hanoi", "iom-nl", "payoke")
measuring: contextvars.ContextVar[bool] = contextvars.ContextVar("measuring", default=False)


async def _cases_with_partners(app: Starlette, count: int) -> None:
    deps = app.state.deps
    principal = Principal("n-plus-one", deps.tenants["jade-zorggroep"], frozenset({"caseworker"}))
    for i in range(count):
        case_id = uuid.uuid4()
        commands = [
            rc.OpenReturnCase(
                case_id,
                dt.date(2026, 1, 1) + dt.timedelta(days=i),
                f"Z-{i}",
                v.Gender.FEMALE,
                None,
                COUNTRY,
                COUNTRY,
                ("en",),
                (),
            ),
            rc.ContactPartnerOrganisation(
                case_id,
                uuid.uuid4(),
                organisation_id(PARTNERS[i % len(PARTNERS)]),
                COUNTRY_FROM_SOCIAL_MAP,
                v.ConsentPurpose.REFERRAL,
                dt.date(2026, 6, 1),
                False,
            ),
        ]
        for version, command in enumerate(commands):
            await handle(
                deps,
                principal,
                command,
                expected_version=version,
                idempotency_key=None,
                request_id="n-plus-one",
            )


async def test_partner_organisations_cost_the_same_statements_for_5_or_50_cases(
    app: Starlette, as_org: Any
) -> None:
    await _cases_with_partners(app, 50)
    client = as_org("jade-zorggroep")
    statements: list[str] = []

    def count(*args: Any) -> None:
        if measuring.get():  # this request only, not the service's background readers
            statements.append(args[2])

    sync_engine = app.state.deps.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", count)
    try:
        per_page = {}
        for first in (5, 50):
            statements.clear()
            token = measuring.set(True)
            try:
                body = await client.execute(LIST, {"first": first})
            finally:
                measuring.reset(token)
            assert "errors" not in body, body
            nodes = [e["node"] for e in body["data"]["returnCases"]["edges"]]
            assert len(nodes) == first
            assert all(len(n["partnerOrganisations"]) == 1 for n in nodes)
            per_page[first] = len(statements)
    finally:
        event.remove(sync_engine, "before_cursor_execute", count)
    assert per_page[5] == per_page[50]
    # The tenant setting and the page; the organisations of every case in one more.
    assert 2 <= per_page[50] <= 4, statements
