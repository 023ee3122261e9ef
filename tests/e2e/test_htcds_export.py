"""A shelter's cases in HTCDS 2.0: pseudonymous by default, personal only with a flag (logged),
for tenant admins only, never another shelter's cases; names and values from the standard."""

from __future__ import annotations

import csv
import io
import json
import random
from typing import Any

import httpx

from tests.conftest import TokenFactory
from tests.e2e.conftest import GraphQLClient, codes
from tests.e2e.socialmap_support import seeded
from tests.e2e.test_privacy_access_log import LOG_QUERY
from tests.e2e.test_privacy_erasure import Person, mutate, open_personal_case

ORG = "het-kopland"

# From HTCDS Field Standards 2.0 (UNMigration/HTCDS): the field names this export may use and
# the value names of its picklists. A test fails on any name that is not the standard's.
STANDARD_FIELDS = {
    "prs_FirstName", "prs_Birthdate", "prs_Gender", "prs_Citizenship", "prs_PrimaryLanguage",
    "prs_SecondaryLanguage", "vic_TypeOfExploitation", "cas_Status", "cas_ReasonForCaseClosure",
    "cas_IncomingReferralDate", "cas_ReferredOrganisation", "cas_OutgoingReferralDate",
    "cas_ReasonForOutgoingReferral", "org_Name", "org_Type", "org_ShippingCountry",
    "org_ShippingCity", "org_ShippingState", "org_ShippingLatitude", "org_ShippingLongitude",
}  # fmt: skip
OWN_KEYS = {"caseId", "referrals", "organisations"}  # the record key and nested lists
STANDARD_VALUES = {
    "prs_Gender": {"Feminine", "Masculine", "TransgenderFeminine", "TransgenderMasculine",
                   "NonConforming", "NonSpecifiedUnknown"},
    "vic_TypeOfExploitation": {"ForcedLabour", "SexualExploitation", "ChildLabour",
                               "ForcedMarriage", "Servitude", "ForcedMilitaryByNonStateActors",
                               "OrganRemoval", "ForcedBegging", "ForcedAdoption", "Surrogacy",
                               "Other"},
    "cas_Status": {"Active", "FollowUp", "Closed", "ClosedReferred"},
    "cas_ReasonForOutgoingReferral": {"AdditionalServicesRequired",
                                      "MigrationOrChangeOfLocation", "Other"},
    "org_Type": {"NGO", "LawEnforcement", "HealthServiceOrganisation",
                 "CentralGovernmentOrganisation", "LocalGovernmentOrganisation",
                 "ImmigrationService", "LegalService", "CorporateBusiness", "SchoolOrCollege"},
}  # fmt: skip
PARTNERS = ["iom-nl", "payoke", "dtv"]
FORMS = ["SEXUAL_EXPLOITATION", "FORCED_LABOUR", "FORCED_CRIMINAL_ACTIVITY", "FORCED_BEGGING",
         "SERVITUDE", "FORCED_MARRIAGE", "ORGAN_REMOVAL", "OTHER"]  # fmt: skip


def assert_standard(record: dict[str, Any]) -> None:
    for name, value in record.items():
        if name in OWN_KEYS:
            continue
        assert name in STANDARD_FIELDS, name
        allowed = STANDARD_VALUES.get(name)
        if allowed is None or value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            assert item in allowed, (name, item)
    for nested in (*record.get("referrals", ()), *record.get("organisations", ())):
        assert_standard(nested)


async def population(client: GraphQLClient, rng: random.Random, n: int) -> list[tuple[Person, str]]:
    """``n`` cases with varied facts; each person with the case's id."""
    people = []
    for _ in range(n):
        person = Person.make()
        country = rng.choice(["RO", "NG", "BG", "VN"])
        body = await mutate(
            client, "openReturnCase", "id version", intakeDate="2026-01-05",
            pseudonym=person.pseudonym, gender=rng.choice(["FEMALE", "MALE", "OTHER", "UNKNOWN"]),
            birthYear=int(person.date_of_birth[:4]), nationality=country,
            countryOfOrigin=country, languages=["ro", "en"],
            exploitationForms=rng.sample(FORMS, rng.randint(1, 3)),
            fullName=person.full_name, dateOfBirth=person.date_of_birth,
        )  # fmt: skip
        assert "errors" not in body, body
        case = body["data"]["openReturnCase"]["case"]
        if rng.random() < 0.5:
            contacted = await mutate(
                client, "contactPartnerOrganisation", "id version", caseId=case["id"],
                expectedVersion=case["version"], organisationId=seeded(rng.choice(PARTNERS)),
                purpose=rng.choice(["REFERRAL", "REINTEGRATION_SUPPORT"]),
                contactedOn="2026-01-20", sharesPersonalData=False,
            )  # fmt: skip
            assert "errors" not in contacted, contacted
            case = contacted["data"]["contactPartnerOrganisation"]["case"]
        if rng.random() < 0.4:
            closed = await mutate(
                client, "closeReturnCase", "id version", caseId=case["id"],
                expectedVersion=case["version"], reason=rng.choice(["WITHDREW", "LOST_CONTACT"]),
                closedOn="2026-02-01",
            )  # fmt: skip
            assert "errors" not in closed, closed
        people.append((person, case["id"]))
    return people


async def export(
    http: httpx.AsyncClient, token: str, fmt: str = "json", personal: bool = False
) -> httpx.Response:
    query = "?personal=true" if personal else ""
    return await http.get(
        f"/exports/htcds.{fmt}{query}", headers={"Authorization": f"Bearer {token}"}
    )


async def test_the_export_uses_only_the_standards_names_and_is_pseudonymous(
    as_org: Any, http: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    people = await population(as_org(ORG), random.Random(12), 12)
    response = await export(http, make_token(ORG, "tenant-admin"))
    assert response.status_code == 200
    body = response.json()
    assert body["standard"] == "HTCDS 2.0"
    assert len(body["cases"]) >= 12
    for record in body["cases"]:
        assert_standard(record)
        assert "prs_FirstName" not in record
        assert "prs_Birthdate" not in record
    text = response.text
    for person, _ in people:
        assert person.full_name not in text
        assert person.date_of_birth not in text
        assert person.pseudonym not in text
    statuses = {r["cas_Status"] for r in body["cases"]}
    assert {"Active", "Closed"} <= statuses
    ours = {case_id for _, case_id in people}
    referred = [r for r in body["cases"] if r["cas_ReferredOrganisation"] and r["caseId"] in ours]
    assert referred
    for record in referred:
        names = {o["org_Name"] for o in record["organisations"]}
        assert record["cas_ReferredOrganisation"] in names
        assert record["cas_OutgoingReferralDate"] == "2026-01-20"


async def test_the_csv_export_has_one_row_per_case_and_joins_lists(
    as_org: Any, http: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    await population(as_org(ORG), random.Random(3), 2)
    token = make_token(ORG, "tenant-admin")
    as_json = (await export(http, token)).json()["cases"]
    response = await export(http, token, "csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(as_json)
    assert set(rows[0]) == {"caseId"} | (
        STANDARD_FIELDS
        - {"prs_FirstName", "prs_Birthdate"}
        - {n for n in STANDARD_FIELDS if n.startswith("org_")}
    )
    by_id = {r["caseId"]: r for r in rows}
    for record in as_json:
        row = by_id[record["caseId"]]
        assert row["vic_TypeOfExploitation"] == ";".join(record["vic_TypeOfExploitation"])
        assert row["cas_Status"] == record["cas_Status"]


async def test_a_personal_export_holds_names_and_is_recorded_in_the_access_log(
    as_org: Any, http: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    person = Person.make()
    case = await open_personal_case(as_org(ORG), person, "id version")
    admin = as_org(ORG, "tenant-admin")
    response = await export(http, make_token(ORG, "tenant-admin"), personal=True)
    assert response.status_code == 200
    record = next(r for r in response.json()["cases"] if r["caseId"] == case["id"])
    assert record["prs_FirstName"] == person.full_name
    assert record["prs_Birthdate"] == person.date_of_birth
    assert_standard(record)
    body = await admin.execute(LOG_QUERY, {"caseId": case["id"]})
    (entry,) = [e["node"] for e in body["data"]["personalDataAccessLog"]["edges"]]
    assert entry["fields"] == ["dateOfBirth", "fullName"]
    assert entry["requestId"] == response.headers["x-request-id"]


async def test_only_a_shelters_tenant_admins_export_and_never_another_shelters_cases(
    as_org: Any, http: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    theirs = await open_personal_case(as_org("moviera"), Person.make(), "id version")
    for token in (
        make_token(ORG, "caseworker"),
        make_token(ORG, "integrator"),
        make_token("comensha", "comensha-analyst"),
    ):
        assert (await export(http, token)).status_code == 403
    assert (await http.get("/exports/htcds.json")).status_code == 401
    assert (await export(http, make_token(ORG, "tenant-admin"), "xml")).status_code == 404
    ours = (await export(http, make_token(ORG, "tenant-admin"))).text
    assert theirs["id"] not in ours
    bad = await http.get(
        "/exports/htcds.json?personal=maybe",
        headers={"Authorization": f"Bearer {make_token(ORG, 'tenant-admin')}"},
    )
    assert bad.status_code == 400


async def test_one_case_in_htcds_through_graphql(as_org: Any) -> None:
    case = await open_personal_case(as_org(ORG), Person.make(), "id version")
    query = "query($id: ID!) { returnCase(id: $id) { htcds } }"
    body = await as_org(ORG, "tenant-admin").execute(query, {"id": case["id"]})
    record = body["data"]["returnCase"]["htcds"]
    assert record["caseId"] == case["id"]
    assert_standard(record)
    assert codes(await as_org(ORG, "caseworker").execute(query, {"id": case["id"]})) == [
        "FORBIDDEN"
    ]
    other = await as_org("moviera", "tenant-admin").execute(query, {"id": case["id"]})
    assert codes(other) == ["NOT_FOUND"]
    assert json.dumps(other).count(case["id"]) <= 1  # only the variable echo, no data
