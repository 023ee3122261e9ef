"""A shelter sees and changes only its own cases; other roles see and change none.

Every query and every mutation is aimed at a case of Moviera by a token of Blijf Groep. The
answer is always NOT_FOUND, exactly as for a case that exists nowhere (no FORBIDDEN, no hint),
and nothing is written: the case's version, timeline and event count stay the same, seen both
through Moviera's own token and in the database. The very same input then succeeds for Moviera,
which proves it was a valid request and not refused for some other reason.

Tokens of principals that may not work with cases at all (CoMensha's analysts and social-map
editors, a shelter's integrators) get FORBIDDEN on every case query and mutation.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.schema.ids import from_global_id, to_global_id
from service.socialmap.seed import organisation_id
from tests.e2e.conftest import GraphQLClient, codes
from tests.e2e.departure_support import prepare_ready_case

OWNER = "moviera"
OTHER = "blijf-groep"

CASE_FIELDS = "id version phase referrals { id } consents { organisationId purpose active }"
# Partners must be on the social map: two organisations of its real seed.
PARTNER_IN_NL = to_global_id("Organisation", organisation_id("iom-nl"))
PARTNER_IN_BE = to_global_id("Organisation", organisation_id("payoke"))

OPEN = f"""
mutation Open($input: OpenReturnCaseInput!) {{
  openReturnCase(input: $input) {{ version replayed case {{ {CASE_FIELDS} }} }}
}}
"""

CASE_QUERY = f"""
query Case($id: ID!) {{
  returnCase(id: $id) {{ {CASE_FIELDS} timeline {{ version eventType actor }} }}
}}
"""

LIST_QUERY = """
query List($filter: ReturnCaseFilter, $first: Int!, $after: String) {
  returnCases(filter: $filter, first: $first, after: $after) {
    edges { node { id timeline { version actor } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def mutation_document(name: str) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return f"""
    mutation Run($input: {input_type}!) {{
      {name}(input: $input) {{ version replayed case {{ {CASE_FIELDS} }} }}
    }}
    """


def random_case_id() -> str:
    return to_global_id("ReturnCase", uuid.uuid4())


# --- database probes ------------------------------------------------------------------------------


async def count_events(engine: AsyncEngine, tenant: str, stream: uuid.UUID | None = None) -> int:
    """Events of one tenant (optionally one stream), read as the owner under that tenant's RLS."""
    async with engine.begin() as conn:
        tenant_id = await conn.scalar(text("SELECT id FROM tenants WHERE slug = :s"), {"s": tenant})
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
        )
        sql = "SELECT count(*) FROM events WHERE tenant_id = :t"
        params: dict[str, Any] = {"t": tenant_id}
        if stream is not None:
            sql += " AND stream_id = :s"
            params["s"] = stream
        return int(await conn.scalar(text(sql), params) or 0)


async def count_all_events(engine: AsyncEngine) -> int:
    """Every event of every tenant: in one statement as a superuser, else summed per tenant."""
    async with engine.begin() as conn:
        if await conn.scalar(text("SELECT current_setting('is_superuser') = 'on'")):
            return int(await conn.scalar(text("SELECT count(*) FROM events")) or 0)
        tenant_ids = (await conn.execute(text("SELECT id FROM tenants"))).scalars().all()
        total = 0
        for tenant_id in tenant_ids:
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
            )
            count = await conn.scalar(
                text("SELECT count(*) FROM events WHERE tenant_id = :t"), {"t": tenant_id}
            )
            total += int(count or 0)
        return total


# --- cases of the owner, in the state each command needs ------------------------------------------


async def run(client: GraphQLClient, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    return await client.execute(mutation_document(name), {"input": fields})


async def step(
    client: GraphQLClient, case: dict[str, Any], name: str, **fields: Any
) -> dict[str, Any]:
    body = await run(
        client, name, {"caseId": case["id"], "expectedVersion": case["version"], **fields}
    )
    assert "errors" not in body, body
    changed: dict[str, Any] = body["data"][name]["case"]
    return changed


async def open_case(client: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    data = {
        "intakeDate": "2026-01-05",
        "pseudonym": "Client I",
        "gender": "FEMALE",
        "birthYear": 1995,
        "nationality": "MN",
        "countryOfOrigin": "MN",
        "languages": ["mn"],
        "exploitationForms": ["FORCED_LABOUR"],
        "fullName": "Isolde Testperson",
        **overrides,
    }
    body = await client.execute(OPEN, {"input": data})
    assert "errors" not in body, body
    case: dict[str, Any] = body["data"]["openReturnCase"]["case"]
    return case


async def preparing_case(client: GraphQLClient) -> dict[str, Any]:
    """A case in PREPARATION with an active consent and a REQUESTED referral for it."""
    case = await open_case(client)
    case = await step(
        client, case, "recordReturnConversation", heldOn="2026-01-10", wish="WANTS_TO_RETURN"
    )
    case = await step(
        client,
        case,
        "giveConsent",
        organisationId=PARTNER_IN_NL,
        purpose="REFERRAL",
        givenOn="2026-01-11",
    )
    case = await step(
        client,
        case,
        "contactPartnerOrganisation",
        organisationId=PARTNER_IN_NL,
        purpose="REFERRAL",
        contactedOn="2026-01-12",
        sharesPersonalData=True,
    )
    assert (case["phase"], case["version"], len(case["referrals"])) == ("PREPARATION", 4, 1)
    return case


async def ready_case(client: GraphQLClient) -> dict[str, Any]:
    """A case whose independent return to Mongolia is ready."""
    case = await open_case(client)
    case = await step(
        client, case, "recordReturnConversation", heldOn="2026-01-10", wish="WANTS_TO_RETURN"
    )
    return await prepare_ready_case(client, case, country="MN", place="Ulaanbaatar")


async def planned_case(client: GraphQLClient) -> dict[str, Any]:
    """A case in preparation with an agreed reintegration plan."""
    case = await preparing_case(client)
    return await step(client, case, "agreeReintegrationPlan", **PLAN)


async def departed_case(client: GraphQLClient) -> dict[str, Any]:
    case = await ready_case(client)
    case = await step(
        client,
        case,
        "recordDeparture",
        departedOn="2026-02-01",
        mode="INDEPENDENT",
        destinationCountry="MN",
    )
    assert case["phase"] == "DEPARTED"
    return case


async def closed_case(client: GraphQLClient) -> dict[str, Any]:
    case = await open_case(client)
    case = await step(client, case, "closeReturnCase", reason="WITHDREW", closedOn="2026-01-20")
    assert case["phase"] == "CLOSED"
    return case


PREPARE = {
    "preparing": preparing_case,
    "ready": ready_case,
    "planned": planned_case,
    "departed": departed_case,
    "closed": closed_case,
}


def first_referral(case: dict[str, Any]) -> str:
    return str(case["referrals"][0]["id"])


@dataclass(frozen=True)
class CaseMutation:
    """A mutation on an existing case, with an input that is valid for a case in ``state``.

    A callable field value is computed from the target case (for IDs the case hands out).
    """

    name: str
    state: str
    fields: dict[str, Any]

    def input(self, case: dict[str, Any], case_id: str | None = None) -> dict[str, Any]:
        fields = {k: v(case) if callable(v) else v for k, v in self.fields.items() if v is not None}
        return {"caseId": case_id or case["id"], "expectedVersion": case["version"], **fields}


def spec(name: str, state: str = "preparing", **fields: Any) -> CaseMutation:
    return CaseMutation(name, state, fields)


PLAN = {
    "agreedOn": "2026-02-01",
    "partnerOrganisationId": PARTNER_IN_BE,
    "goals": [{"domain": "HEALTH", "targetDate": "2026-05-01", "description": "Therapy."}],
}

CASE_MUTATIONS = [
    spec(
        "updateClientProfile",
        pseudonym="Client J",
        gender="FEMALE",
        nationality="MN",
        countryOfOrigin="MN",
        languages=["mn", "ru"],
        exploitationForms=["SERVITUDE"],
    ),
    spec("recordReturnConversation", heldOn="2026-02-01", wish="UNDECIDED"),
    spec(
        "recordLegalPosition",
        recordedOn="2026-02-01",
        residenceStatus="NONE",
        proceedingsStage="DISMISSED",
        departureDeadline="2026-04-01",
    ),
    spec("assessRisk", assessedOn="2026-02-01", level="HIGH", factors=["RE_TRAFFICKING"]),
    spec(
        "giveConsent",
        organisationId=PARTNER_IN_BE,
        purpose="REINTEGRATION_SUPPORT",
        givenOn="2026-02-01",
        transferRisksExplained=True,
    ),
    spec(
        "withdrawConsent",
        organisationId=PARTNER_IN_NL,
        purpose="REFERRAL",
        withdrawnOn="2026-02-01",
    ),
    spec(
        "contactPartnerOrganisation",
        organisationId=PARTNER_IN_BE,
        purpose="REINTEGRATION_SUPPORT",
        contactedOn="2026-02-01",
        sharesPersonalData=False,
    ),
    spec(
        "updateReferralStatus", referralId=first_referral, status="ACCEPTED", changedOn="2026-02-01"
    ),
    spec("arrangeReturnSupport", kind="IOM_BASIC", arrangedOn="2026-02-01"),
    spec(
        "recordTravelDocument",
        status="REQUESTED",
        recordedOn="2026-02-01",
        originalIdentityDocument=True,
    ),
    spec("agreeReintegrationPlan", **PLAN),
    spec(
        "reviseReintegrationPlan", "planned", **{**PLAN, "agreedOn": None}, revisedOn="2026-02-02"
    ),
    spec(
        "planDeparture",
        "ready",
        plannedOn="2026-03-01",
        destinationCountry="MN",
        mode="INDEPENDENT",
    ),
    spec(
        "recordDeparture",
        "ready",
        departedOn="2026-03-01",
        mode="INDEPENDENT",
        destinationCountry="MN",
    ),
    spec(
        "recordSafetyPlan",
        "ready",
        writtenOn="2026-02-01",
        measures=[{"riskFactor": "RE_TRAFFICKING", "measure": "Met at the airport."}],
    ),
    spec("recordReturnHelpRefused", helpOffered=["IOM_BASIC"], refusedOn="2026-02-01"),
    spec(
        "recordArrivalArrangement",
        arrangedOn="2026-02-01",
        destinationCountry="MN",
        destinationPlace="Darkhan",
        receiver="FAMILY",
    ),
    spec("recordGuardian", appointedOn="2026-02-01", guardianOrganisation="Nidos"),
    spec("recordBestInterestsAssessment", assessedOn="2026-02-01", returnInBestInterests=True),
    spec("recordFamilyAssessment", assessedOn="2026-02-01", outcome="NOT_TRACED"),
    spec("recordFollowUp", "departed", contactedOn="2026-05-01", reached=True, situation="STABLE"),
    spec("escalateFollowUp", "departed", escalatedOn="2026-05-01", action="OTHER"),
    spec("transferCase", toOrganisation="het-kopland", transferredOn="2026-02-01"),
    spec("closeReturnCase", reason="LOST_CONTACT", closedOn="2026-02-01"),
    spec("reopenReturnCase", "closed", reopenedOn="2026-02-01", reason="the client came back"),
]

OPEN_INPUT = {
    "intakeDate": "2026-01-05",
    "pseudonym": "Client K",
    "gender": "MALE",
    "nationality": "MN",
    "countryOfOrigin": "MN",
}


@dataclass(frozen=True)
class Snapshot:
    """What the owner and the database know of one case."""

    version: int
    timeline: int
    stream_events: int
    owner_events: int
    all_events: int


async def snapshot(owner: GraphQLClient, engine: AsyncEngine, case_id: str) -> Snapshot:
    body = await owner.execute(CASE_QUERY, {"id": case_id})
    assert "errors" not in body, body
    case = body["data"]["returnCase"]
    return Snapshot(
        version=case["version"],
        timeline=len(case["timeline"]),
        stream_events=await count_events(engine, OWNER, from_global_id("ReturnCase", case_id)),
        owner_events=await count_events(engine, OWNER),
        all_events=await count_all_events(engine),
    )


def refusal(body: dict[str, Any]) -> tuple[Any, str, dict[str, Any]]:
    """What a caller learns from a refused request: data, message and extensions."""
    assert len(body.get("errors", [])) == 1, body
    error = body["errors"][0]
    return body["data"], error["message"], error["extensions"]


@pytest.fixture(scope="module")
def client_of(as_org: Any) -> Callable[..., GraphQLClient]:
    """``as_org`` with one token per organisation and roles (signing a token takes a while)."""
    cache: dict[tuple[str, ...], GraphQLClient] = {}

    def get(org: str, *roles: str) -> GraphQLClient:
        if (org, *roles) not in cache:
            cache[(org, *roles)] = as_org(org, *roles)
        return cache[(org, *roles)]

    return get


# --- mutations by another shelter -----------------------------------------------------------------


async def test_isolation_covers_every_case_mutation_of_the_schema(client_of: Any) -> None:
    body = await client_of(OWNER).execute(
        "{ __schema { mutationType { fields { name type { name ofType { name } } } } } }"
    )
    in_schema = {
        f["name"]
        for f in body["data"]["__schema"]["mutationType"]["fields"]
        if "ReturnCasePayload" in (f["type"]["name"], (f["type"]["ofType"] or {}).get("name"))
    }

    # eraseClientPersonalData and assignCaseworker are for tenant admins only:
    # tests/e2e/test_privacy_erasure.py and tests/e2e/test_follow_up_work.py cover them for
    # other shelters and for principals without the role; approveSafetyPlan is for admins and
    # supervisors: tests/e2e/test_safe_return.py covers it.
    covered = {m.name for m in CASE_MUTATIONS} | {
        "openReturnCase",
        "eraseClientPersonalData",
        "assignCaseworker",
        "approveSafetyPlan",
    }
    assert covered == in_schema


@pytest.mark.parametrize("mutation", CASE_MUTATIONS, ids=lambda m: m.name)
async def test_other_shelter_gets_not_found_for_every_mutation(
    client_of: Any, admin_engine: AsyncEngine, mutation: CaseMutation
) -> None:
    owner, other = client_of(OWNER), client_of(OTHER)
    case = await PREPARE[mutation.state](owner)
    before = await snapshot(owner, admin_engine, case["id"])

    aimed_at_case = await run(other, mutation.name, mutation.input(case))
    at_version_zero = await run(
        other, mutation.name, {**mutation.input(case), "expectedVersion": 0}
    )
    aimed_at_nothing = await run(
        other, mutation.name, mutation.input(case, case_id=random_case_id())
    )

    assert codes(aimed_at_case) == ["NOT_FOUND"], aimed_at_case
    assert codes(at_version_zero) == ["NOT_FOUND"], at_version_zero
    # Indistinguishable from a case that exists nowhere: no hint that it exists elsewhere.
    assert refusal(aimed_at_case) == refusal(aimed_at_nothing)
    assert refusal(at_version_zero) == refusal(aimed_at_nothing)
    assert await snapshot(owner, admin_engine, case["id"]) == before

    # The same input is a valid change for the case's own shelter.
    own = await run(owner, mutation.name, mutation.input(case))
    assert "errors" not in own, own
    assert own["data"][mutation.name]["version"] == before.version + 1


async def test_other_shelter_cannot_reach_a_case_by_replaying_the_owners_idempotency_key(
    client_of: Any, admin_engine: AsyncEngine
) -> None:
    owner, other = client_of(OWNER), client_of(OTHER)
    case = await open_case(owner)
    key = f"conversation-{uuid.uuid4()}"
    fields = {
        "caseId": case["id"],
        "expectedVersion": 1,
        "heldOn": "2026-01-10",
        "wish": "UNDECIDED",
        "idempotencyKey": key,
    }
    first = await run(owner, "recordReturnConversation", fields)
    assert first["data"]["recordReturnConversation"]["version"] == 2
    before = await snapshot(owner, admin_engine, case["id"])

    body = await run(other, "recordReturnConversation", fields)

    assert codes(body) == ["NOT_FOUND"], body
    assert await snapshot(owner, admin_engine, case["id"]) == before


async def test_open_by_other_shelter_with_the_owners_idempotency_key_opens_its_own_case(
    client_of: Any, admin_engine: AsyncEngine
) -> None:
    owner, other = client_of(OWNER), client_of(OTHER)
    key = f"open-{uuid.uuid4()}"
    mine = await owner.execute(OPEN, {"input": {**OPEN_INPUT, "idempotencyKey": key}})
    owners_case = mine["data"]["openReturnCase"]["case"]
    owner_before = await snapshot(owner, admin_engine, owners_case["id"])
    other_events = await count_events(admin_engine, OTHER)

    body = await other.execute(OPEN, {"input": {**OPEN_INPUT, "idempotencyKey": key}})

    payload = body["data"]["openReturnCase"]
    assert payload["replayed"] is False
    assert payload["case"]["id"] != owners_case["id"]
    assert await count_events(admin_engine, OTHER) == other_events + 1
    owner_after = await snapshot(owner, admin_engine, owners_case["id"])
    assert (owner_after.version, owner_after.timeline, owner_after.owner_events) == (
        owner_before.version,
        owner_before.timeline,
        owner_before.owner_events,
    )
    assert codes(await other.execute(CASE_QUERY, {"id": owners_case["id"]})) == ["NOT_FOUND"]


# --- queries by another shelter -------------------------------------------------------------------


async def test_other_shelter_gets_not_found_for_a_case_and_its_timeline(client_of: Any) -> None:
    owner, other = client_of(OWNER), client_of(OTHER)
    case = await preparing_case(owner)

    foreign = await other.execute(CASE_QUERY, {"id": case["id"]})
    nowhere = await other.execute(CASE_QUERY, {"id": random_case_id()})
    only_id = await other.execute(
        "query($id: ID!) { returnCase(id: $id) { id } }", {"id": case["id"]}
    )

    assert codes(foreign) == ["NOT_FOUND"], foreign
    assert refusal(foreign) == refusal(nowhere)
    assert foreign["data"] is None
    assert codes(only_id) == ["NOT_FOUND"]
    own = await owner.execute(CASE_QUERY, {"id": case["id"]})
    assert len(own["data"]["returnCase"]["timeline"]) == case["version"]


async def listed(client: GraphQLClient, flt: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every node of a listing, following the cursor to the last page."""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        body = await client.execute(LIST_QUERY, {"filter": flt, "first": 50, "after": after})
        assert "errors" not in body, body
        page = body["data"]["returnCases"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


LIST_FILTERS = {
    "no filter": None,
    "every phase": {
        "phases": ["INTAKE", "ORIENTATION", "PREPARATION", "DEPARTED", "FOLLOW_UP", "CLOSED"]
    },
    "phase of the case": {"phases": ["ORIENTATION"]},
    "country of the case": {"countriesOfOrigin": ["KG"]},
    "lower-case country": {"countriesOfOrigin": ["kg"]},
    "intake day of the case": {"intakeFrom": "2019-03-07", "intakeTo": "2019-03-07"},
    "all criteria": {
        "phases": ["ORIENTATION"],
        "countriesOfOrigin": ["KG"],
        "intakeFrom": "2019-01-01",
        "intakeTo": "2019-12-31",
    },
}


@pytest.mark.parametrize("flt", LIST_FILTERS.values(), ids=LIST_FILTERS.keys())
async def test_listing_never_includes_a_case_of_another_shelter(
    client_of: Any, flt: dict[str, Any] | None
) -> None:
    owner, other = client_of(OWNER), client_of(OTHER)
    case = await open_case(
        owner, intakeDate="2019-03-07", countryOfOrigin="KG", nationality="KG", birthYear=1990
    )
    case = await step(
        owner, case, "recordReturnConversation", heldOn="2019-03-08", wish="UNDECIDED"
    )
    # The other shelter has a case of its own that matches the same filter.
    own = await open_case(
        other, intakeDate="2019-03-07", countryOfOrigin="KG", nationality="KG", birthYear=1990
    )
    own = await step(other, own, "recordReturnConversation", heldOn="2019-03-08", wish="UNDECIDED")

    seen_by_other = await listed(other, flt)
    seen_by_owner = await listed(owner, flt)

    assert case["id"] in {n["id"] for n in seen_by_owner}
    assert own["id"] in {n["id"] for n in seen_by_other}
    owner_ids = {n["id"] for n in seen_by_owner}
    assert not owner_ids & {n["id"] for n in seen_by_other}
    # Timelines in the other shelter's list hold only its own people's steps.
    actors = {entry["actor"] for node in seen_by_other for entry in node["timeline"]}
    assert f"user-of-{OTHER}" in actors
    assert f"user-of-{OWNER}" not in actors


# --- principals without case access ---------------------------------------------------------------

NO_CASE_ACCESS = {
    "comensha analyst": ("comensha", "comensha-analyst"),
    "comensha social-map editor": ("comensha", "social-map-editor"),
    "comensha with caseworker role": ("comensha", "caseworker"),
    "integrator of the owner": (OWNER, "integrator"),
    "social-map editor at the owner": (OWNER, "social-map-editor"),
    "owner token with unknown roles only": (OWNER, "superuser"),
}


@pytest.fixture(scope="module")
async def targets(client_of: Any) -> dict[str, dict[str, Any]]:
    """One case of the owner per state, shared by the FORBIDDEN tests (which change nothing)."""
    owner = client_of(OWNER)
    return {state: await prepare(owner) for state, prepare in PREPARE.items()}


OPERATIONS = ["returnCase", "returnCases", "openReturnCase", *(m.name for m in CASE_MUTATIONS)]


async def attempt(client: GraphQLClient, operation: str, targets: dict[str, Any]) -> Any:
    case = targets["preparing"]
    if operation == "returnCase":
        return await client.execute(CASE_QUERY, {"id": case["id"]})
    if operation == "returnCases":
        return await client.execute(LIST_QUERY, {"filter": None, "first": 10, "after": None})
    if operation == "openReturnCase":
        return await client.execute(OPEN, {"input": OPEN_INPUT})
    mutation = next(m for m in CASE_MUTATIONS if m.name == operation)
    return await run(client, operation, mutation.input(targets[mutation.state]))


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("principal", NO_CASE_ACCESS.values(), ids=NO_CASE_ACCESS.keys())
async def test_principal_without_case_role_gets_forbidden_on_every_case_operation(
    client_of: Any,
    admin_engine: AsyncEngine,
    targets: dict[str, dict[str, Any]],
    principal: tuple[str, str],
    operation: str,
) -> None:
    events = await count_all_events(admin_engine)

    body = await attempt(client_of(*principal), operation, targets)

    assert codes(body) == ["FORBIDDEN"], body
    assert body["data"] is None
    assert await count_all_events(admin_engine) == events
