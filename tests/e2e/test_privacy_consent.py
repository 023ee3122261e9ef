"""Sharing personal data with a partner needs an active consent for that organisation and
purpose: without one the request is refused and writes nothing at all."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import tenant_transaction
from service.privacy.consent import tenant_consent_counts
from service.schema.ids import from_global_id, to_global_id
from service.socialmap.seed import organisation_id
from tests.e2e.conftest import GraphQLClient, codes
from tests.e2e.test_privacy_erasure import Person, case_rows, count, open_personal_case

ORG = "jade-zorggroep"
PARTNER = to_global_id("Organisation", organisation_id("iom-nl"))
QUIET = "id version consents { purpose active }"


async def change(client: GraphQLClient, name: str, case: dict[str, Any], **fields: Any) -> Any:
    input_type = name[0].upper() + name[1:] + "Input"
    return await client.execute(
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ case {{ {QUIET} }} }} }}",
        {"input": {"caseId": case["id"], "expectedVersion": case["version"], **fields}},
    )


async def database_state(admin: AsyncEngine, case_id: uuid.UUID) -> tuple[Any, ...]:
    rows = await case_rows(admin, case_id)
    everything = await count(admin, "SELECT count(*) FROM events")
    receipts = await count(admin, "SELECT count(*) FROM command_receipts")
    model = await count(admin, "SELECT version FROM return_cases WHERE case_id = :c", c=case_id)
    return rows, everything, receipts, model


def share(contacted_on: str, purpose: str = "REFERRAL", key: str | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "organisationId": PARTNER,
        "purpose": purpose,
        "contactedOn": contacted_on,
        "sharesPersonalData": True,
        "notes": "sent her file to the partner",
    }
    if key:
        fields["idempotencyKey"] = key
    return fields


async def refused_without_trace(
    client: GraphQLClient, admin: AsyncEngine, case: dict[str, Any], fields: dict[str, Any]
) -> None:
    case_id = from_global_id("ReturnCase", case["id"])
    before = await database_state(admin, case_id)
    body = await change(client, "contactPartnerOrganisation", case, **fields)
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["rule"] == "CONSENT_REQUIRED"
    assert body["data"] is None
    assert await database_state(admin, case_id) == before


async def test_sharing_without_any_consent_is_refused_and_writes_nothing(
    as_org: Any, admin_engine: AsyncEngine
) -> None:
    client = as_org(ORG)
    case = await open_personal_case(client, Person.make(), QUIET)
    await refused_without_trace(client, admin_engine, case, share("2026-01-06", key="k-1"))
    # A repeat with the same key is refused again: no receipt was kept of the refusal.
    await refused_without_trace(client, admin_engine, case, share("2026-01-06", key="k-1"))


async def test_a_withdrawn_or_other_purpose_consent_does_not_cover_sharing(
    as_org: Any, admin_engine: AsyncEngine
) -> None:
    client = as_org(ORG)
    case = await open_personal_case(client, Person.make(), QUIET)
    given = await change(client, "giveConsent", case, organisationId=PARTNER,
                         purpose="REINTEGRATION_SUPPORT", givenOn="2026-01-06")  # fmt: skip
    case = given["data"]["giveConsent"]["case"]
    await refused_without_trace(client, admin_engine, case, share("2026-01-07", "REFERRAL"))
    given = await change(client, "giveConsent", case, organisationId=PARTNER,
                         purpose="REFERRAL", givenOn="2026-01-07")  # fmt: skip
    case = given["data"]["giveConsent"]["case"]
    withdrawn = await change(client, "withdrawConsent", case, organisationId=PARTNER,
                             purpose="REFERRAL", withdrawnOn="2026-01-08")  # fmt: skip
    case = withdrawn["data"]["withdrawConsent"]["case"]
    assert sorted((c["purpose"], c["active"]) for c in case["consents"]) == [
        ("REFERRAL", False),
        ("REINTEGRATION_SUPPORT", True),
    ]
    await refused_without_trace(client, admin_engine, case, share("2026-01-09", "REFERRAL"))


async def test_with_active_consent_sharing_is_recorded_and_consent_can_be_counted(
    as_org: Any, app_engine: AsyncEngine
) -> None:
    client = as_org(ORG)
    case = await open_personal_case(client, Person.make(), QUIET)
    tenant = await _tenant(app_engine)
    async with tenant_transaction(app_engine, tenant) as conn:
        before = await tenant_consent_counts(conn)
    given = await change(client, "giveConsent", case, organisationId=PARTNER,
                         purpose="REFERRAL", givenOn="2026-01-06")  # fmt: skip
    case = given["data"]["giveConsent"]["case"]
    shared = await change(client, "contactPartnerOrganisation", case, **share("2026-01-07"))
    assert "errors" not in shared, shared
    async with tenant_transaction(app_engine, tenant) as conn:
        after = await tenant_consent_counts(conn)
    assert after.active == before.active + 1
    assert (
        after.active_by_purpose.get("REFERRAL", 0)
        == before.active_by_purpose.get("REFERRAL", 0) + 1
    )


async def _tenant(engine: AsyncEngine) -> uuid.UUID:
    async with engine.connect() as conn:
        value = await conn.scalar(text("SELECT id FROM tenants WHERE slug = :s"), {"s": ORG})
    assert isinstance(value, uuid.UUID)
    return value


async def test_consent_cannot_be_withdrawn_before_an_accepted_share_and_the_error_names_it(
    as_org: Any, admin_engine: AsyncEngine
) -> None:
    client = as_org(ORG)
    case = await open_personal_case(client, Person.make(), QUIET)
    given = await change(client, "giveConsent", case, organisationId=PARTNER,
                         purpose="REFERRAL", givenOn="2026-01-06")  # fmt: skip
    case = given["data"]["giveConsent"]["case"]
    shared = await client.execute(
        "mutation($input: ContactPartnerOrganisationInput!) { contactPartnerOrganisation("
        "input: $input) { case { id version referrals { id } } } }",
        {"input": {"caseId": case["id"], "expectedVersion": case["version"],
                   **share("2026-01-07")}},
    )  # fmt: skip
    assert "errors" not in shared, shared
    case = shared["data"]["contactPartnerOrganisation"]["case"]
    referral = case["referrals"][0]["id"]
    accepted = await change(client, "updateReferralStatus", case, referralId=referral,
                            status="ACCEPTED", changedOn="2026-01-10")  # fmt: skip
    assert "errors" not in accepted, accepted
    case = accepted["data"]["updateReferralStatus"]["case"]
    case_id = from_global_id("ReturnCase", case["id"])
    before = await database_state(admin_engine, case_id)

    backwards = await change(client, "withdrawConsent", case, organisationId=PARTNER,
                             purpose="REFERRAL", withdrawnOn="2026-01-08")  # fmt: skip

    assert codes(backwards) == ["BAD_USER_INPUT"], backwards
    error = backwards["errors"][0]
    assert error["extensions"]["rule"] == "WITHDRAWAL_BEFORE_USE"
    assert "ReferralStatusChanged" in error["message"]
    assert "2026-01-10" in error["message"]
    assert await database_state(admin_engine, case_id) == before
    on_the_day = await change(client, "withdrawConsent", case, organisationId=PARTNER,
                              purpose="REFERRAL", withdrawnOn="2026-01-10")  # fmt: skip
    assert "errors" not in on_the_day, on_the_day
