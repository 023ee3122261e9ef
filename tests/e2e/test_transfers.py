"""A two-sided transfer between shelters: moviera offers, blijf-groep answers.

The receiving shelter gets the client's history without retyping, personal data only when
the offer shares it under the client's consent, and no other shelter sees anything.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.reports.queries import report_transaction
from service.schema.ids import from_global_id, to_global_id
from service.socialmap.seed import organisation_id
from tests.e2e.case_steps import step
from tests.e2e.conftest import GraphQLClient, codes
from tests.e2e.test_feed_integrators import create_client, token_for
from tests.e2e.test_feed_ws_auth import PAGE
from tests.e2e.test_privacy_erasure import Person, open_personal_case
from tests.e2e.test_reports_api import _caught_up

SENDER = "moviera"
RECEIVER = "blijf-groep"
THIRD = "het-kopland"
BLIJF = to_global_id("Organisation", organisation_id(RECEIVER))

OFFER_FIELDS = """
  id fromShelter toShelter status offeredOn answeredOn sharesPersonalData carriesPersonalData
  facts { pseudonym phase returnConversations latestWish firstIntakeDate }
  case { id version phase closingReason transferredTo intakeDate pseudonym
         personal { fullName dateOfBirth }
         timeline { eventType summary } }
"""


def _mutation(name: str) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) "
        f"{{ offer {{ {OFFER_FIELDS} }} }} }}"
    )


async def run(client: GraphQLClient, name: str, **fields: Any) -> dict[str, Any]:
    return await client.execute(_mutation(name), {"input": fields})


def ok(body: dict[str, Any], name: str) -> dict[str, Any]:
    assert "errors" not in body, body
    offer: dict[str, Any] = body["data"][name]["offer"]
    return offer


async def case_with_consent(
    client: GraphQLClient, person: Person, *, consent: bool = True
) -> dict[str, Any]:
    case = await open_personal_case(client, person, "id version")
    case = await step(
        client, "recordReturnConversation", case, heldOn="2026-01-10", wish="WANTS_TO_RETURN"
    )
    if consent:
        case = await step(
            client,
            "giveConsent",
            case,
            organisationId=BLIJF,
            purpose="TRANSFER",
            givenOn="2026-01-12",
            transferRisksExplained=False,
        )
    return case


async def offer(
    client: GraphQLClient, case: dict[str, Any], *, personal: bool = True
) -> dict[str, Any]:
    return await run(
        client,
        "offerTransfer",
        caseId=case["id"],
        expectedVersion=case["version"],
        toShelter=RECEIVER,
        offeredOn="2026-01-15",
        sharePersonalData=personal,
        reason="no place left in the safe house",
    )


async def get_case(client: GraphQLClient, case_id: str) -> dict[str, Any]:
    return await client.execute(
        "query($id: ID!) { returnCase(id: $id) { id phase closingReason transferredTo version } }",
        {"id": case_id},
    )


async def transfers(client: GraphQLClient, which: str) -> list[dict[str, Any]]:
    body = await client.execute(f"{{ {which} {{ {OFFER_FIELDS} }} }}")
    assert "errors" not in body, body
    found: list[dict[str, Any]] = body["data"][which]
    return found


@pytest.fixture
def sender(as_org: Any) -> GraphQLClient:
    client: GraphQLClient = as_org(SENDER, "caseworker")
    return client


@pytest.fixture
def receiver(as_org: Any) -> GraphQLClient:
    client: GraphQLClient = as_org(RECEIVER, "caseworker")
    return client


@pytest.fixture
def third(as_org: Any) -> GraphQLClient:
    client: GraphQLClient = as_org(THIRD, "tenant-admin")
    return client


async def offer_key_rows(admin: AsyncEngine, offer_global_id: str) -> tuple[int, int]:
    """(live, destroyed) data-key rows of the offer's own key."""
    offer_id = from_global_id("TransferOffer", offer_global_id)
    async with admin.connect() as conn:
        live = await conn.scalar(
            text("SELECT count(*) FROM data_keys WHERE case_id = :o"), {"o": offer_id}
        )
        gone = await conn.scalar(
            text("SELECT count(*) FROM destroyed_data_keys WHERE case_id = :o"), {"o": offer_id}
        )
    return int(live or 0), int(gone or 0)


async def test_accepted_transfer_carries_the_history_and_closes_the_sending_case(
    sender: GraphQLClient,
    receiver: GraphQLClient,
    third: GraphQLClient,
    admin_engine: AsyncEngine,
) -> None:
    person = Person.make()
    case = await case_with_consent(sender, person)
    offered = ok(await offer(sender, case), "offerTransfer")
    assert offered["status"] == "OFFERED"
    assert offered["carriesPersonalData"] is True
    assert offered["case"]["id"] == case["id"]
    assert await offer_key_rows(admin_engine, offered["id"]) == (1, 0)

    incoming = [
        o for o in await transfers(receiver, "incomingTransfers") if o["id"] == offered["id"]
    ]
    assert len(incoming) == 1
    assert incoming[0]["facts"]["pseudonym"] == person.pseudonym
    assert incoming[0]["facts"]["phase"] == "PREPARATION"
    assert incoming[0]["case"] is None  # the sender's case is not the receiver's to see
    assert offered["id"] not in {o["id"] for o in await transfers(third, "incomingTransfers")}

    accepted = ok(
        await run(receiver, "acceptTransfer", offerId=offered["id"], acceptedOn="2026-01-20"),
        "acceptTransfer",
    )
    new = accepted["case"]
    assert accepted["status"] == "ACCEPTED"
    assert accepted["carriesPersonalData"] is False
    assert await offer_key_rows(admin_engine, offered["id"]) == (0, 1)
    assert new["id"] != case["id"]
    assert new["phase"] == "PREPARATION"
    assert new["intakeDate"] == "2026-01-20"
    assert new["pseudonym"] == person.pseudonym
    assert new["personal"] == {
        "fullName": person.full_name,
        "dateOfBirth": person.date_of_birth,
    }
    first = new["timeline"][0]
    assert first["eventType"] == "ReturnCaseReceivedByTransfer"
    assert SENDER in first["summary"]
    sending_case_id = str(from_global_id("ReturnCase", case["id"]))
    assert all(sending_case_id not in e["summary"] for e in new["timeline"])

    closed = await get_case(sender, case["id"])
    assert closed["data"]["returnCase"]["closingReason"] == "TRANSFERRED"
    assert closed["data"]["returnCase"]["transferredTo"] == RECEIVER
    # Neither shelter reaches the other's case, and a third shelter reaches neither.
    assert codes(await get_case(receiver, case["id"])) == ["NOT_FOUND"]
    assert codes(await get_case(sender, new["id"])) == ["NOT_FOUND"]
    assert codes(await get_case(third, new["id"])) == ["NOT_FOUND"]
    outgoing = [o for o in await transfers(sender, "outgoingTransfers") if o["id"] == offered["id"]]
    assert outgoing[0]["status"] == "ACCEPTED"
    assert outgoing[0]["case"]["id"] == case["id"]


async def test_personal_data_stays_home_when_the_offer_does_not_share_it(
    sender: GraphQLClient, receiver: GraphQLClient
) -> None:
    case = await case_with_consent(sender, Person.make())
    offered = ok(await offer(sender, case, personal=False), "offerTransfer")
    assert offered["carriesPersonalData"] is False
    accepted = ok(
        await run(receiver, "acceptTransfer", offerId=offered["id"], acceptedOn="2026-01-16"),
        "acceptTransfer",
    )
    assert accepted["case"]["personal"] is None


async def test_an_offer_needs_the_clients_transfer_consent(
    sender: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    case = await case_with_consent(sender, Person.make(), consent=False)
    body = await offer(sender, case)
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["rule"] == "TRANSFER_CONSENT_REQUIRED"
    async with admin_engine.connect() as conn:
        n = await conn.scalar(
            text("SELECT count(*) FROM transfer_offers WHERE sending_case_id = :c"),
            {"c": from_global_id("ReturnCase", case["id"])},
        )
    assert n == 0
    after = await get_case(sender, case["id"])
    assert after["data"]["returnCase"]["version"] == case["version"]


async def test_a_declined_offer_leaves_the_case_open_at_the_sender(
    sender: GraphQLClient, receiver: GraphQLClient
) -> None:
    case = await case_with_consent(sender, Person.make())
    offered = ok(await offer(sender, case), "offerTransfer")
    declined = ok(
        await run(
            receiver,
            "declineTransfer",
            offerId=offered["id"],
            declinedOn="2026-01-16",
            reason="no room for her either",
        ),
        "declineTransfer",
    )
    assert declined["status"] == "DECLINED"
    assert declined["case"] is None
    assert declined["carriesPersonalData"] is False
    after = (await get_case(sender, case["id"]))["data"]["returnCase"]
    assert after["phase"] == "PREPARATION"
    assert after["closingReason"] is None
    # Answered once: a late acceptance is refused and opens nothing.
    late = await run(receiver, "acceptTransfer", offerId=offered["id"], acceptedOn="2026-01-17")
    assert codes(late) == ["BAD_USER_INPUT"]


async def test_a_withdrawn_offer_leaves_the_case_open_and_can_be_offered_again(
    sender: GraphQLClient, receiver: GraphQLClient
) -> None:
    case = await case_with_consent(sender, Person.make())
    offered = ok(await offer(sender, case), "offerTransfer")
    again = await offer(sender, offered["case"])
    assert again["errors"][0]["extensions"]["rule"] == "TRANSFER_ALREADY_OFFERED"
    withdrawn = ok(
        await run(sender, "withdrawTransfer", offerId=offered["id"], withdrawnOn="2026-01-16"),
        "withdrawTransfer",
    )
    assert withdrawn["status"] == "WITHDRAWN"
    assert withdrawn["case"]["closingReason"] is None
    late = await run(receiver, "acceptTransfer", offerId=offered["id"], acceptedOn="2026-01-17")
    assert codes(late) == ["BAD_USER_INPUT"]
    ok(await offer(sender, withdrawn["case"]), "offerTransfer")


async def test_only_the_named_parties_can_act_on_an_offer(
    sender: GraphQLClient, receiver: GraphQLClient, third: GraphQLClient
) -> None:
    case = await case_with_consent(sender, Person.make())
    offered = ok(await offer(sender, case), "offerTransfer")
    oid = offered["id"]
    # A third shelter: nothing to see, nothing to answer.
    for name, fields in (
        ("acceptTransfer", {"acceptedOn": "2026-01-16"}),
        ("declineTransfer", {"declinedOn": "2026-01-16", "reason": "not ours"}),
        ("withdrawTransfer", {"withdrawnOn": "2026-01-16"}),
    ):
        assert codes(await run(third, name, offerId=oid, **fields)) == ["NOT_FOUND"], name
    assert oid not in {o["id"] for o in await transfers(third, "outgoingTransfers")}
    # The sender cannot answer its own offer; the receiver cannot withdraw it.
    assert codes(await run(sender, "acceptTransfer", offerId=oid, acceptedOn="2026-01-16")) == [
        "NOT_FOUND"
    ]
    assert codes(
        await run(receiver, "withdrawTransfer", offerId=oid, withdrawnOn="2026-01-16")
    ) == ["NOT_FOUND"]
    # A third shelter cannot offer a case that is not its own.
    body = await run(
        third,
        "offerTransfer",
        caseId=case["id"],
        expectedVersion=offered["case"]["version"],
        toShelter=RECEIVER,
        offeredOn="2026-01-16",
        sharePersonalData=False,
        reason="taking it over",
    )
    assert codes(body) == ["NOT_FOUND"]
    still = (await get_case(sender, case["id"]))["data"]["returnCase"]
    assert still["version"] == offered["case"]["version"]


async def test_the_offer_table_shows_a_row_only_to_its_two_shelters(
    sender: GraphQLClient, app_engine: AsyncEngine, admin_engine: AsyncEngine
) -> None:
    case = await case_with_consent(sender, Person.make())
    offered = ok(await offer(sender, case), "offerTransfer")
    offer_id = from_global_id("TransferOffer", offered["id"])
    async with admin_engine.connect() as conn:
        ids = {r.slug: r.id for r in await conn.execute(text("SELECT slug, id FROM tenants"))}
    seen: dict[str, int] = {}
    for slug in (SENDER, RECEIVER, THIRD, None):
        async with app_engine.begin() as conn:
            if slug is not None:
                await conn.execute(
                    text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(ids[slug])}
                )
            seen[str(slug)] = int(
                await conn.scalar(
                    text("SELECT count(*) FROM transfer_offers WHERE offer_id = :o"),
                    {"o": offer_id},
                )
                or 0
            )
    assert seen == {SENDER: 1, RECEIVER: 1, THIRD: 0, "None": 0}
    # A third shelter cannot write an offer between two others, nor change one.
    async with app_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(ids[THIRD])}
        )
        changed = await conn.execute(
            text("UPDATE transfer_offers SET status = 'DECLINED' WHERE offer_id = :o"),
            {"o": offer_id},
        )
        assert changed.rowcount == 0
    async with app_engine.connect() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(ids[THIRD])}
        )
        insert = text(
            "INSERT INTO transfer_offers (tenant_id, offer_id, receiving_tenant_id, "
            "sending_case_id, offered_on, shares_personal_data, facts) "
            "VALUES (:s, :o, :r, :c, '2026-01-15', false, '{}')"
        )
        values = {"s": ids[SENDER], "o": uuid.uuid4(), "r": ids[RECEIVER], "c": uuid.uuid4()}
        with pytest.raises(DBAPIError, match="row-level security"):
            await conn.execute(insert, values)
        await conn.rollback()


async def test_erasure_at_the_sender_before_acceptance_sends_no_personal_data(
    sender: GraphQLClient, receiver: GraphQLClient, as_org: Any, admin_engine: AsyncEngine
) -> None:
    case = await case_with_consent(sender, Person.make())
    offered = ok(await offer(sender, case), "offerTransfer")
    erased = await as_org(SENDER, "tenant-admin").execute(
        "mutation($input: EraseClientPersonalDataInput!) { eraseClientPersonalData(input: $input)"
        " { case { id version } } }",
        {
            "input": {
                "caseId": case["id"],
                "expectedVersion": offered["case"]["version"],
                "reason": "CLIENT_REQUEST",
            }
        },
    )
    assert "errors" not in erased, erased
    waiting = [
        o for o in await transfers(receiver, "incomingTransfers") if o["id"] == offered["id"]
    ]
    assert waiting[0]["carriesPersonalData"] is False
    assert await offer_key_rows(admin_engine, offered["id"]) == (0, 1)
    accepted = ok(
        await run(receiver, "acceptTransfer", offerId=offered["id"], acceptedOn="2026-01-17"),
        "acceptTransfer",
    )
    assert accepted["case"]["personal"] is None
    assert accepted["case"]["pseudonym"] == offered["facts"]["pseudonym"]


async def _integrator_events(
    as_org: Any, http: httpx.AsyncClient, org: str, case_id: str
) -> tuple[list[dict[str, Any]], str]:
    admin = as_org(org, "tenant-admin")
    token = await token_for(http, await create_client(admin, "EVENTS_READ", name="Registration"))
    response = await GraphQLClient(http, token).post(PAGE, {"first": 20, "caseId": case_id})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["caseEvents"]["edges"]], response.text


async def test_each_shelters_integrators_get_their_own_side_without_personal_data(
    sender: GraphQLClient, receiver: GraphQLClient, as_org: Any, http: httpx.AsyncClient
) -> None:
    person = Person.make()
    case = await case_with_consent(sender, person)
    offered = ok(await offer(sender, case), "offerTransfer")
    accepted = ok(
        await run(receiver, "acceptTransfer", offerId=offered["id"], acceptedOn="2026-01-20"),
        "acceptTransfer",
    )
    new_id = accepted["case"]["id"]
    secrets = [person.full_name, person.date_of_birth, "no place left in the safe house"]

    sent, raw_sent = await _integrator_events(as_org, http, SENDER, case["id"])
    kinds = [e["eventType"] for e in sent]
    assert kinds[-2:] == ["TransferOffered", "ReturnCaseTransferred"]
    assert sent[-1]["data"]["offer_id"] == str(from_global_id("TransferOffer", offered["id"]))
    assert all(e["personal"] is None for e in sent)

    received, raw_received = await _integrator_events(as_org, http, RECEIVER, new_id)
    assert [e["eventType"] for e in received] == ["ReturnCaseReceivedByTransfer"]
    assert received[0]["data"]["pseudonym"] == person.pseudonym
    assert received[0]["data"]["from_organisation"] == SENDER
    assert received[0]["personal"] is None
    assert str(from_global_id("ReturnCase", case["id"])) not in raw_received
    for value in secrets:
        assert value not in raw_sent
        assert value not in raw_received

    # Neither side's integrators reach the other side's case.
    crossed, _ = await _integrator_events(as_org, http, RECEIVER, case["id"])
    assert crossed == []
    crossed, _ = await _integrator_events(as_org, http, SENDER, new_id)
    assert crossed == []


async def _report_rows(admin: AsyncEngine, *case_ids: str) -> dict[str, Any]:
    for _ in range(300):  # the app's background projection follows the feed
        if await _caught_up(admin):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the report projection did not catch up")
    ids = {from_global_id("ReturnCase", c): c for c in case_ids}
    async with admin.connect() as conn:
        rows = await conn.execute(
            text("SELECT case_id, intake_month, phase FROM report_cases WHERE case_id = ANY(:i)"),
            {"i": list(ids)},
        )
        return {ids[r.case_id]: (r.intake_month.isoformat(), r.phase) for r in rows}


async def test_reports_count_a_transferred_client_once(
    sender: GraphQLClient, receiver: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    case = await case_with_consent(sender, Person.make())
    before = await _report_rows(admin_engine, case["id"])
    assert before == {case["id"]: ("2026-01-01", "PREPARATION")}
    offered = ok(await offer(sender, case), "offerTransfer")
    accepted = ok(
        await run(receiver, "acceptTransfer", offerId=offered["id"], acceptedOn="2026-02-03"),
        "acceptTransfer",
    )
    new_id = accepted["case"]["id"]
    # Counted once, at the receiving shelter, from the client's first intake.
    after = await _report_rows(admin_engine, case["id"], new_id)
    assert after == {new_id: ("2026-01-01", "PREPARATION")}


async def _transfer_count(app_engine: AsyncEngine, month: str) -> int:
    """The raw count, as the report role (the service role itself may not call it)."""
    async with report_transaction(app_engine) as conn:
        first = dt.date.fromisoformat(f"{month}-01")
        return int(
            await conn.scalar(
                text("SELECT report_transfer_count(:f, :l)"), {"f": first, "l": first}
            )
            or 0
        )


async def test_reports_count_transfers_under_disclosure_control(
    sender: GraphQLClient,
    receiver: GraphQLClient,
    as_org: Any,
    app_engine: AsyncEngine,
) -> None:
    month = "2026-10"
    before = await _transfer_count(app_engine, month)
    case = await case_with_consent(sender, Person.make())
    offered = ok(await offer(sender, case), "offerTransfer")
    ok(
        await run(receiver, "acceptTransfer", offerId=offered["id"], acceptedOn=f"{month}-10"),
        "acceptTransfer",
    )
    declined = ok(
        await offer(sender, await case_with_consent(sender, Person.make())), "offerTransfer"
    )
    ok(
        await run(
            receiver, "declineTransfer", offerId=declined["id"], declinedOn=f"{month}-11",
            reason="full",
        ),
        "declineTransfer",
    )  # fmt: skip
    assert await _transfer_count(app_engine, month) == before + 1  # declined ones do not count
    # An analyst sees the count only as a protected figure: one transfer is below k.
    analyst = as_org("comensha", "comensha-analyst")
    body = await analyst.execute(
        "query($p: ReportPeriodInput!) { reports { transfers(period: $p) { value suppressed } } }",
        {"p": {"month": month}},
    )
    assert "errors" not in body, body
    assert body["data"]["reports"]["transfers"] == {"value": None, "suppressed": True}
    # A shelter cannot ask, and the function refuses a tenant transaction.
    assert codes(
        await sender.execute(
            "query($p: ReportPeriodInput!) { reports { transfers(period: $p) { value } } }",
            {"p": {"month": month}},
        )
    ) == ["FORBIDDEN"]
    async with app_engine.connect() as conn:
        with pytest.raises(DBAPIError, match="permission denied"):
            await conn.execute(text("SELECT report_transfer_count('2029-07-01', '2029-07-01')"))
        await conn.rollback()
    async with app_engine.connect() as conn:
        await conn.execute(text("SELECT set_config('role', current_user || '_reports', true)"))
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(uuid.uuid4())}
        )
        with pytest.raises(DBAPIError, match="cross-tenant"):
            await conn.execute(text("SELECT report_transfer_count('2029-07-01', '2029-07-01')"))
        await conn.rollback()


async def test_transfer_dates_follow_the_rule_of_every_recorded_date(
    sender: GraphQLClient, receiver: GraphQLClient
) -> None:
    case = await case_with_consent(sender, Person.make())
    for day, rule in (("2099-01-15", "DATE_IN_FUTURE"), ("1989-12-31", "DATE_OUT_OF_RANGE")):
        body = await run(
            sender, "offerTransfer", caseId=case["id"], expectedVersion=case["version"],
            toShelter=RECEIVER, offeredOn=day, sharePersonalData=False, reason="no place",
        )  # fmt: skip
        assert codes(body) == ["BAD_USER_INPUT"]
        assert body["errors"][0]["extensions"]["rule"] == rule
    offered = ok(await offer(sender, case), "offerTransfer")
    later = await run(receiver, "acceptTransfer", offerId=offered["id"], acceptedOn="2099-02-01")
    assert later["errors"][0]["extensions"]["rule"] == "DATE_IN_FUTURE"
    assert [o["status"] for o in await transfers(receiver, "incomingTransfers")
            if o["id"] == offered["id"]] == ["OFFERED"]  # fmt: skip
