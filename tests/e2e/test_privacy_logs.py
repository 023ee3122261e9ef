"""No personal value ever reaches the logs, error messages or metrics.

A whole case is walked over HTTP with known personal values, including requests that fail
because of them, while every logger of the process writes at DEBUG (SQLAlchemy's statements
and parameters included) and stderr/stdout are captured. None of the values may show up in
any of it, nor in any error the API answers, nor in the metrics.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import GraphQLClient
from tests.e2e.test_privacy_consent import PARTNER
from tests.e2e.test_privacy_erasure import Person

ORG = "moviera"
FIELDS = "id version personal { fullName dateOfBirth notes }"


class Recorder:
    """Sends GraphQL and keeps every response body, to search them afterwards."""

    def __init__(self, client: GraphQLClient) -> None:
        self.client = client
        self.errors: list[str] = []

    async def run(self, name: str, expect_error: bool = False, **fields: Any) -> dict[str, Any]:
        input_type = name[0].upper() + name[1:] + "Input"
        document = (
            f"mutation($input: {input_type}!) {{ {name}(input: $input) "
            f"{{ version case {{ {FIELDS} }} }} }}"
        )
        response = await self.client.post(document, {"input": fields})
        body: dict[str, Any] = response.json()
        if "errors" in body:
            self.errors.append(response.text)
        assert ("errors" in body) == expect_error, body
        return body

    async def step(self, name: str, case: dict[str, Any], **fields: Any) -> dict[str, Any]:
        body = await self.run(name, caseId=case["id"], expectedVersion=case["version"], **fields)
        result: dict[str, Any] = body["data"][name]["case"]
        return result

    async def fail(self, name: str, case: dict[str, Any], **fields: Any) -> None:
        fields = {"caseId": case["id"], "expectedVersion": case["version"], **fields}
        await self.run(name, expect_error=True, **fields)


async def walk(r: Recorder, admin: Recorder, p: Person) -> None:
    n = p.notes
    opened = await r.run(
        "openReturnCase", intakeDate="2026-01-05", pseudonym=p.pseudonym, gender="FEMALE",
        nationality="RO", countryOfOrigin="RO", fullName=p.full_name,
        dateOfBirth=p.date_of_birth, notes=n[0], idempotencyKey=f"open-{p.pseudonym}",
    )  # fmt: skip
    case = opened["data"]["openReturnCase"]["case"]
    # The same key for another person's data: refused, without naming either.
    await r.run(
        "openReturnCase", expect_error=True, intakeDate="2026-01-05", pseudonym=p.pseudonym,
        gender="FEMALE", nationality="RO", countryOfOrigin="RO", fullName=n[1],
        idempotencyKey=f"open-{p.pseudonym}",
    )  # fmt: skip
    # A name typed into the date-of-birth field, a note too long, a NUL in a note.
    await r.run(
        "openReturnCase", expect_error=True, intakeDate="2026-01-05", pseudonym="x",
        gender="FEMALE", nationality="RO", countryOfOrigin="RO", dateOfBirth=p.full_name,
    )  # fmt: skip
    await r.fail("recordReturnConversation", case, heldOn="2026-01-06", wish="UNDECIDED",
                 notes=n[1] * 400)  # fmt: skip
    await r.fail("recordReturnConversation", case, heldOn="2026-01-06", wish="UNDECIDED",
                 notes=n[1] + "\u0000")  # fmt: skip
    case = await r.step("recordReturnConversation", case, heldOn="2026-01-06",
                        wish="WANTS_TO_RETURN", notes=n[1])  # fmt: skip
    # A stale version, and a rule broken by a request full of personal data.
    await r.fail("assessRisk", {**case, "version": 1}, assessedOn="2026-01-07", level="LOW",
                 notes=n[2])  # fmt: skip
    await r.fail("contactPartnerOrganisation", case, organisationId=PARTNER, purpose="REFERRAL",
                 contactedOn="2026-01-07", sharesPersonalData=True, notes=n[2])  # fmt: skip
    case = await r.step("assessRisk", case, assessedOn="2026-01-07", level="MEDIUM",
                        factors=["DEBTS"], notes=n[2])  # fmt: skip
    case = await r.step("giveConsent", case, organisationId=PARTNER, purpose="REFERRAL",
                        givenOn="2026-01-07")  # fmt: skip
    case = await r.step("contactPartnerOrganisation", case, organisationId=PARTNER,
                        purpose="REFERRAL", contactedOn="2026-01-08", sharesPersonalData=True,
                        notes=n[3])  # fmt: skip
    referral = await r.client.execute(
        "query($id: ID!) { returnCase(id: $id) { referrals { id } } }", {"id": case["id"]}
    )
    referral_id = referral["data"]["returnCase"]["referrals"][0]["id"]
    case = await r.step("updateReferralStatus", case, referralId=referral_id, status="REJECTED",
                        changedOn="2026-01-09", reason=n[4])  # fmt: skip
    profile = {"pseudonym": p.pseudonym, "gender": "FEMALE", "nationality": "RO",
               "countryOfOrigin": "RO", "fullName": p.full_name, "notes": n[5]}  # fmt: skip
    # Required fields left out: GraphQL refuses, and must not quote the rest back.
    await r.fail("updateClientProfile", case, **profile)
    profile |= {"languages": ["ro"], "exploitationForms": ["FORCED_LABOUR"],
                "dateOfBirth": p.date_of_birth,
                "birthYear": int(p.date_of_birth[:4])}  # fmt: skip
    case = await r.step("updateClientProfile", case, **profile)
    case = await r.step("arrangeReturnSupport", case, kind="IOM_BASIC", arrangedOn="2026-01-10")
    case = await r.step("recordTravelDocument", case, status="OWN_VALID", recordedOn="2026-01-10",
                        originalIdentityDocument=False)  # fmt: skip
    case = await r.step("recordArrivalArrangement", case, arrangedOn="2026-01-11",
                        destinationCountry="RO", destinationPlace="Iasi",
                        receiver="FAMILY")  # fmt: skip
    case = await r.step("planDeparture", case, plannedOn="2026-02-01", destinationCountry="RO",
                        mode="ASSISTED")  # fmt: skip
    case = await r.step("recordDeparture", case, departedOn="2026-02-01", mode="ASSISTED",
                        destinationCountry="RO")  # fmt: skip
    case = await r.step("recordFollowUp", case, contactedOn="2026-05-02", reached=True,
                        situation="STABLE", notes=n[0])  # fmt: skip
    case = await r.step("closeReturnCase", case, reason="RETURNED", closedOn="2026-06-01",
                        notes=n[1])  # fmt: skip
    case = await r.step("reopenReturnCase", case, reopenedOn="2026-06-02", reason=n[2])
    listed = await r.client.execute(
        "{ returnCases(first: 50) { edges { node { personal { fullName notes } } } } }"
    )
    assert "errors" not in listed
    log = await admin.client.execute(
        "query($c: ID) { personalDataAccessLog(caseId: $c) { edges { node { fields } } } }",
        {"c": case["id"]},
    )
    assert log["data"]["personalDataAccessLog"]["edges"]
    erased = await admin.step("eraseClientPersonalData", case, reason="OTHER", note=n[3])
    assert erased["personal"] is None
    await admin.fail("eraseClientPersonalData", {**case, "version": 2}, reason="OTHER", note=n[3])


async def test_no_personal_value_in_logs_errors_or_metrics(
    as_org: Any,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    person = Person.make()
    names = ["", *logging.root.manager.loggerDict]
    for name in names:
        caplog.set_level(logging.DEBUG, logger=name)
    reader, admin = Recorder(as_org(ORG)), Recorder(as_org(ORG, "tenant-admin"))

    await walk(reader, admin, person)

    metrics = await http.get("/metrics")
    assert metrics.status_code == 200
    out, err = capfd.readouterr()
    logged = "\n".join(
        [r.getMessage() + " " + repr(r.__dict__) for r in caplog.records] + [out, err]
    )
    # The capture works: request logs, and every SQL statement with its parameters.
    assert {"service.access", "service.graphql", "sqlalchemy.engine.Engine"} <= {
        r.name for r in caplog.records
    }
    assert "INSERT INTO events" in logged
    assert person.pseudonym in logged  # not personal: sent to the database in the clear
    errors = "\n".join(reader.errors + admin.errors)
    assert len(reader.errors) + len(admin.errors) == 8
    for value in person.values:
        assert value not in logged, value
        assert value not in errors, [e for e in errors.split("\n") if value in e]
        assert value not in metrics.text, value
