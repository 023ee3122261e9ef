"""Follow-up as work to do, over HTTP: followUpsDue, assignCaseworker, myCases and myWork.

The app here runs on a clock the tests move, so the answers are seen to change both as facts
are recorded and as days pass. Other tests share the database: assertions look only at this
module's own cases, and work lists belong to subjects no other test uses.
"""

from __future__ import annotations

import contextvars
import io
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from service.app import create_app
from service.config import Settings
from service.db import tenant_transaction
from service.domain.return_case import EVENT_TYPES
from service.events.projections.inline import project_case
from service.events.store import EventStore
from service.events.types import EventRegistry
from service.schema.ids import from_global_id
from service.work.commands import set_work_policy
from tests.conftest import Database, TokenFactory
from tests.e2e.case_steps import MovableClock, depart_case, open_case, send, step
from tests.e2e.conftest import GraphQLClient, codes
from tests.e2e.socialmap_support import load_demo, seeded

FOLLOW_UPS_DUE = """
query($before: Date!) {
  followUpsDue(before: $before) { case { id } monthsAfterDeparture dueOn overdue }
}
"""
MY_WORK = "{ myWork { code case { id } sentence dueOn overdue } }"
MY_CASES = "{ myCases { id caseworker } }"


@pytest.fixture(scope="module")
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture(scope="module")
async def clocked_app(
    settings: Settings, database: Database, clock: MovableClock
) -> AsyncIterator[Starlette]:
    application = create_app(settings, database.app_url, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def clocked_http(clocked_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=clocked_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


User = Callable[..., GraphQLClient]


@pytest.fixture
def user(clocked_http: httpx.AsyncClient, make_token: TokenFactory) -> User:
    def client(org: str, *roles: str, subject: str | None = None) -> GraphQLClient:
        return GraphQLClient(clocked_http, make_token(org, *roles, subject=subject))

    return client


def new_subject() -> str:
    return f"caseworker-{uuid.uuid4().hex[:12]}"


async def due(client: GraphQLClient, before: str, case: dict[str, Any]) -> list[tuple[Any, ...]]:
    body = await client.execute(FOLLOW_UPS_DUE, {"before": before})
    assert "errors" not in body, body
    return [
        (d["monthsAfterDeparture"], d["dueOn"], d["overdue"])
        for d in body["data"]["followUpsDue"]
        if d["case"]["id"] == case["id"]
    ]


async def work(client: GraphQLClient, *, leave_out: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    body = await client.execute(MY_WORK)
    assert "errors" not in body, body
    return [
        (w["code"], w["case"]["id"], w["dueOn"], w["overdue"])
        for w in body["data"]["myWork"]
        if w["code"] not in leave_out
    ]


async def assign(admin: GraphQLClient, case: dict[str, Any], subject: str) -> dict[str, Any]:
    return await step(admin, "assignCaseworker", case, subject=subject)


async def test_follow_ups_due_change_as_contacts_are_made_and_days_pass(
    user: User, clock: MovableClock
) -> None:
    client = user("moviera")
    clock.set_day("2026-03-01")
    case = await depart_case(client, await open_case(client), departed_on="2026-02-01")

    before_june = await due(client, "2026-06-01", case)
    clock.set_day("2026-05-15")
    overdue_now = await due(client, "2026-06-01", case)
    await step(
        client,
        "recordFollowUp",
        case,
        contactedOn="2026-05-14",
        reached=True,
        situation="STABLE",
        reachedParties=["PARTNER_ORGANISATION"],
    )
    after_contact = await due(client, "2026-06-01", case)
    later = await due(client, "2027-03-01", case)

    assert before_june == [(3, "2026-05-01", False)]
    assert overdue_now == [(3, "2026-05-01", True)]
    assert after_contact == []
    assert later == [(6, "2026-08-01", False), (12, "2027-02-01", False)]


async def test_a_contact_that_reached_nobody_leaves_the_follow_up_due(
    user: User, clock: MovableClock
) -> None:
    client = user("moviera")
    clock.set_day("2026-05-15")
    case = await depart_case(client, await open_case(client), departed_on="2026-02-01")
    await step(client, "recordFollowUp", case, contactedOn="2026-05-02", reached=False)

    assert await due(client, "2026-06-01", case) == [(3, "2026-05-01", True)]


async def test_a_forced_return_still_gets_follow_up(user: User, clock: MovableClock) -> None:
    client = user("het-kopland")
    clock.set_day("2026-05-20")
    case = await depart_case(
        client, await open_case(client), departed_on="2026-02-10", mode="FORCED"
    )

    scheduled = await due(client, "2026-06-01", case)
    case = await step(
        client,
        "recordFollowUp",
        case,
        contactedOn="2026-05-19",
        reached=True,
        situation="VULNERABLE",
        reachedParties=["FAMILY"],
        domainSituations=[{"domain": "HOUSING", "situation": "AT_RISK"}],
        dangerSigns=["DEBT_PRESSURE"],
    )

    assert case["departureMode"] == "FORCED"
    assert scheduled == [(3, "2026-05-10", True)]
    assert (case["phase"], case["followUpCount"]) == ("FOLLOW_UP", 1)
    assert await due(client, "2026-06-01", case) == []


async def test_another_shelter_sees_none_of_the_follow_ups_due(
    user: User, clock: MovableClock
) -> None:
    client = user("moviera")
    clock.set_day("2026-06-01")
    case = await depart_case(client, await open_case(client), departed_on="2026-02-01")

    assert await due(client, "2026-07-01", case) == [(3, "2026-05-01", True)]
    assert await due(user("hvo-querido"), "2026-07-01", case) == []


async def test_my_work_follows_the_facts_and_the_clock(
    user: User, clock: MovableClock, admin_engine: AsyncEngine
) -> None:
    await load_demo(admin_engine)
    subject = new_subject()
    admin = user("jade-zorggroep", "tenant-admin")
    mine = user("jade-zorggroep", subject=subject)
    clock.set_day("2026-01-20")
    case = await open_case(admin)
    case = await step(
        admin,
        "contactPartnerOrganisation",
        case,
        organisationId=seeded("payoke"),
        purpose="REFERRAL",
        contactedOn="2026-01-10",
        sharesPersonalData=False,
    )
    unassigned = await work(mine)
    case = await assign(admin, case, subject)
    within_answer_time = await work(mine)
    clock.set_day("2026-01-25")
    waiting = await work(mine)
    referral_id = (
        await admin.execute(
            "query($id: ID!) { returnCase(id: $id) { referrals { id } } }", {"id": case["id"]}
        )
    )["data"]["returnCase"]["referrals"][0]["id"]
    case = await step(
        mine,
        "updateReferralStatus",
        case,
        referralId=referral_id,
        status="ACCEPTED",
        changedOn="2026-01-24",
    )
    answered = await work(mine)

    assert unassigned == []
    assert case["caseworker"] == subject
    assert within_answer_time == []
    assert waiting == [("REFERRAL_AWAITING_ANSWER", case["id"], "2026-01-24", True)]
    assert answered == []


async def test_my_work_lists_due_follow_ups_and_escalations_until_settled(
    user: User, clock: MovableClock
) -> None:
    subject = new_subject()
    admin = user("jade-zorggroep", "tenant-admin")
    mine = user("jade-zorggroep", subject=subject)
    clock.set_day("2026-02-02")
    case = await depart_case(admin, await open_case(admin), departed_on="2026-02-01")
    case = await assign(admin, case, subject)
    plan = ("REINTEGRATION_PLAN_OVERDUE",)  # its own test, below
    right_after_departure = await work(mine, leave_out=plan)
    clock.set_day("2026-04-05")
    window_open = await work(mine, leave_out=plan)
    case = await step(
        mine,
        "recordFollowUp",
        case,
        contactedOn="2026-04-04",
        reached=True,
        situation="AT_RISK",
        dangerSigns=["APPROACHED_BY_RECRUITERS", "THREATS_OR_VIOLENCE"],
        escalationNeeded=True,
    )
    escalation_needed = await work(mine, leave_out=plan)
    await step(
        mine,
        "escalateFollowUp",
        case,
        escalatedOn="2026-04-05",
        action="PARTNER_ORGANISATION_ALERTED",
        notes="Partner visits the client tomorrow.",
    )
    settled = await work(mine, leave_out=plan)

    assert right_after_departure == []
    assert window_open == [("FOLLOW_UP_DUE", case["id"], "2026-05-01", False)]
    assert escalation_needed == [("ESCALATION_PENDING", case["id"], "2026-04-04", True)]
    assert settled == []


async def test_my_cases_lists_the_open_cases_assigned_to_me_only(
    user: User, clock: MovableClock
) -> None:
    clock.set_day("2026-01-06")
    first, second = new_subject(), new_subject()
    admin = user("blijf-groep", "tenant-admin")
    case = await assign(admin, await open_case(admin), first)
    before = (await user("blijf-groep", subject=first).execute(MY_CASES))["data"]["myCases"]
    case = await assign(admin, case, second)
    first_after = (await user("blijf-groep", subject=first).execute(MY_CASES))["data"]["myCases"]
    second_after = (await user("blijf-groep", subject=second).execute(MY_CASES))["data"]["myCases"]
    await step(admin, "closeReturnCase", case, reason="WITHDREW", closedOn="2026-01-06")
    closed = (await user("blijf-groep", subject=second).execute(MY_CASES))["data"]["myCases"]

    assert before == [{"id": case["id"], "caseworker": first}]
    assert first_after == []
    assert second_after == [{"id": case["id"], "caseworker": second}]
    assert closed == []


async def test_the_same_subject_in_another_shelter_sees_neither_the_case_nor_its_work(
    user: User, clock: MovableClock
) -> None:
    subject = new_subject()
    admin = user("moviera", "tenant-admin")
    clock.set_day("2026-04-10")
    case = await depart_case(admin, await open_case(admin), departed_on="2026-01-20")
    await assign(admin, case, subject)
    elsewhere = user("humanitas-pmw", subject=subject)

    assert {w[1] for w in await work(user("moviera", subject=subject))} == {case["id"]}
    assert (await elsewhere.execute(MY_CASES))["data"]["myCases"] == []
    assert await work(elsewhere) == []


async def test_only_a_tenant_admin_assigns_and_a_refusal_writes_nothing(
    user: User, clock: MovableClock
) -> None:
    clock.set_day("2026-01-06")
    admin = user("moviera", "tenant-admin")
    case = await open_case(admin)

    by_caseworker = await send(user("moviera"), "assignCaseworker", case, subject=new_subject())
    bad_subject = await send(admin, "assignCaseworker", case, subject="two words")
    after = await admin.execute(
        "query($id: ID!) { returnCase(id: $id) { version caseworker } }", {"id": case["id"]}
    )

    assert codes(by_caseworker) == ["FORBIDDEN"]
    assert codes(bad_subject) == ["BAD_USER_INPUT"]
    assert bad_subject["errors"][0]["extensions"]["rule"] == "INVALID_CASEWORKER"
    assert after["data"]["returnCase"] == {"version": case["version"], "caseworker": None}


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("assignCaseworker", {"subject": "someone"}),
        ("escalateFollowUp", {"escalatedOn": "2026-05-01", "action": "OTHER"}),
        ("recordFollowUp", {"contactedOn": "2026-05-01", "reached": False}),
    ],
)
async def test_another_shelter_cannot_change_a_case_through_the_new_mutations(
    user: User, clock: MovableClock, name: str, fields: dict[str, Any]
) -> None:
    clock.set_day("2026-05-02")
    owner = user("moviera", "tenant-admin")
    case = await depart_case(owner, await open_case(owner), departed_on="2026-02-01")

    body = await send(user("het-kopland", "tenant-admin"), name, case, **fields)
    after = await owner.execute(
        "query($id: ID!) { returnCase(id: $id) { version } }", {"id": case["id"]}
    )

    assert codes(body) == ["NOT_FOUND"]
    assert after["data"]["returnCase"]["version"] == case["version"]


async def test_a_shelter_policy_sets_its_own_follow_up_schedule(
    user: User, clock: MovableClock, database: Database
) -> None:
    client = user("humanitas-pmw")
    clock.set_day("2026-03-01")
    case = await depart_case(client, await open_case(client), departed_on="2026-02-01")
    default = await due(client, "2026-12-31", case)
    out, err = io.StringIO(), io.StringIO()
    status = await set_work_policy(
        database.admin_url,
        "humanitas-pmw",
        follow_up_months="1,2",
        follow_up_window_days=None,
        referral_answer_days=None,
        out=out,
        err=err,
    )
    custom = await due(client, "2026-12-31", case)
    await set_work_policy(
        database.admin_url,
        "humanitas-pmw",
        follow_up_months="3,6,12",
        follow_up_window_days=30,
        referral_answer_days=14,
        out=out,
        err=err,
    )

    assert status == 0
    assert [d[0] for d in default] == [3, 6]
    assert custom == [(1, "2026-03-01", False), (2, "2026-04-01", False)]
    assert await due(user("moviera"), "2026-12-31", case) == []


async def test_a_policy_that_makes_no_sense_is_refused_and_nothing_changes(
    database: Database,
) -> None:
    out, err = io.StringIO(), io.StringIO()

    status = await set_work_policy(
        database.admin_url,
        "humanitas-pmw",
        follow_up_months="6,3",
        follow_up_window_days=None,
        referral_answer_days=None,
        out=out,
        err=err,
    )
    unknown = await set_work_policy(
        database.admin_url,
        "comensha",
        follow_up_months="3",
        follow_up_window_days=None,
        referral_answer_days=None,
        out=out,
        err=err,
    )

    assert (status, unknown) == (2, 2)
    assert "follow_up_months" in err.getvalue()
    assert out.getvalue() == ""


async def test_the_new_events_reach_the_feed_without_their_personal_part(
    user: User, clock: MovableClock, clocked_http: httpx.AsyncClient
) -> None:
    from tests.e2e.test_feed_integrators import create_client, token_for

    clock.set_day("2026-05-02")
    admin = user("het-kopland", "tenant-admin")
    case = await depart_case(admin, await open_case(admin), departed_on="2026-02-01")
    case = await step(
        admin,
        "recordFollowUp",
        case,
        contactedOn="2026-05-01",
        reached=True,
        situation="AT_RISK",
        notes="Met the client at her aunt's house.",
        escalationNeeded=True,
    )
    case = await step(
        admin, "escalateFollowUp", case, escalatedOn="2026-05-02", action="OTHER", notes="Called."
    )
    await assign(admin, case, new_subject())
    integrator = GraphQLClient(
        clocked_http, await token_for(clocked_http, await create_client(admin, "EVENTS_READ"))
    )

    body = await integrator.execute(
        "query($case: ID!, $types: [String!]) { caseEvents(caseId: $case, eventTypes: $types) "
        "{ edges { node { eventType schemaVersion data personal } } } }",
        {
            "case": case["id"],
            "types": ["FollowUpRecorded", "FollowUpEscalated", "CaseworkerAssigned"],
        },
    )
    nodes = [e["node"] for e in body["data"]["caseEvents"]["edges"]]

    assert [(n["eventType"], n["schemaVersion"]) for n in nodes] == [
        ("FollowUpRecorded", 2),
        ("FollowUpEscalated", 1),
        ("CaseworkerAssigned", 1),
    ]
    assert all(n["personal"] is None for n in nodes)
    assert nodes[0]["data"]["escalation_needed"] is True
    assert nodes[1]["data"]["action"] == "OTHER"
    assert "aunt" not in str(body)
    assert "Called." not in str(body)


async def test_a_follow_up_stored_in_version_1_still_counts_and_reads_as_version_2(
    user: User, clock: MovableClock, admin_engine: AsyncEngine
) -> None:
    client = user("moviera")
    clock.set_day("2026-05-20")
    case = await depart_case(client, await open_case(client), departed_on="2026-02-01")
    case_id = from_global_id("ReturnCase", case["id"])
    async with admin_engine.connect() as conn:
        tenant_id = await conn.scalar(text("SELECT id FROM tenants WHERE slug = 'moviera'"))
    async with tenant_transaction(admin_engine, tenant_id) as conn:
        await conn.execute(text("SELECT events_writer_begin()"))  # as every event writer does
        await conn.execute(
            text(
                "INSERT INTO events (tenant_id, stream_id, stream_type, version, event_type, "
                "schema_version, payload, metadata, occurred_at) VALUES (:t, :s, 'ReturnCase', "
                ":v, 'FollowUpRecorded', 1, CAST(:p AS jsonb), CAST(:m AS jsonb), now())"
            ),
            {
                "t": tenant_id,
                "s": case_id,
                "v": case["version"] + 1,
                "p": json.dumps(
                    {
                        "case_id": str(case_id),
                        "contacted_on": "2026-05-03",
                        "reached": True,
                        "situation": "STABLE",
                        "months_after_departure": 3,
                    }
                ),
                "m": json.dumps(
                    {
                        "actor": "user-of-moviera",
                        "organisation": "moviera",
                        "role": "caseworker",
                        "request_id": "v1",
                        "correlation_id": "v1",
                    }
                ),
            },
        )
        # As the release that wrote it did: the read models follow in the same transaction.
        store = EventStore(EventRegistry(EVENT_TYPES))
        stream = await store.read_stream(conn, case_id)
        await project_case(conn, stream, stream[-1:])

    remaining = await due(client, "2026-09-02", case)
    feed = await client.execute(
        'query($case: ID!) { caseEvents(caseId: $case, eventTypes: ["FollowUpRecorded"]) '
        "{ edges { node { schemaVersion data } } } }",
        {"case": case["id"]},
    )
    (stored,) = [e["node"] for e in feed["data"]["caseEvents"]["edges"]]
    later = await step(
        client,
        "recordFollowUp",
        {**case, "version": case["version"] + 1},
        contactedOn="2026-05-19",
        reached=False,
    )

    assert remaining == [(6, "2026-08-01", False)]
    assert stored["schemaVersion"] == 2
    assert (stored["data"]["reached_parties"], stored["data"]["escalation_needed"]) == (
        ["CLIENT"],
        False,
    )
    assert later["version"] == case["version"] + 2


@pytest.mark.parametrize(
    "query", [MY_WORK, MY_CASES, '{ followUpsDue(before: "2027-01-01") { dueOn } }']
)
@pytest.mark.parametrize(
    ("org", "role"), [("comensha", "comensha-analyst"), ("moviera", "integrator")]
)
async def test_work_lists_are_for_a_shelters_case_workers_only(
    user: User, query: str, org: str, role: str
) -> None:
    body = await user(org, role).execute(query)

    assert codes(body) == ["FORBIDDEN"]
    assert body["data"] is None


SCHEDULE = """
query($id: ID!) {
  returnCase(id: $id) {
    followUpSchedule { monthsAfterDeparture dueOn windowOpensOn doneOn doneOnTime overdue }
  }
}
"""


async def test_a_case_shows_its_follow_up_schedule_done_or_to_do(
    user: User, clock: MovableClock
) -> None:
    client = user("het-kopland")
    clock.set_day("2026-01-06")
    case = await open_case(client)
    before_departure = await client.execute(SCHEDULE, {"id": case["id"]})
    clock.set_day("2026-05-21")  # what is recorded has happened by now
    case = await depart_case(client, case, departed_on="2026-01-31")
    await step(
        client, "recordFollowUp", case, contactedOn="2026-05-20", reached=True, situation="STABLE"
    )
    clock.set_day("2026-09-01")

    body = await client.execute(SCHEDULE, {"id": case["id"]})

    assert before_departure["data"]["returnCase"]["followUpSchedule"] == []
    assert body["data"]["returnCase"]["followUpSchedule"] == [
        {
            "monthsAfterDeparture": 3,
            "dueOn": "2026-04-30",
            "windowOpensOn": "2026-03-31",
            "doneOn": "2026-05-20",
            "doneOnTime": True,
            "overdue": False,
        },
        {
            "monthsAfterDeparture": 6,
            "dueOn": "2026-07-31",
            "windowOpensOn": "2026-07-01",
            "doneOn": None,
            "doneOnTime": False,
            "overdue": True,
        },
        {
            "monthsAfterDeparture": 12,
            "dueOn": "2027-01-31",
            "windowOpensOn": "2027-01-01",
            "doneOn": None,
            "doneOnTime": False,
            "overdue": False,
        },
    ]


measuring: contextvars.ContextVar[bool] = contextvars.ContextVar("measuring", default=False)
LIST_SCHEDULES = """
query($first: Int!) {
  returnCases(first: $first, filter: {phases: [DEPARTED]}) {
    edges { node { id followUpSchedule { dueOn doneOn } } }
  }
}
"""


async def test_follow_up_schedules_cost_the_same_statements_for_3_or_30_cases(
    user: User, clock: MovableClock, clocked_app: Starlette
) -> None:
    client = user("blijf-groep")
    clock.set_day("2026-03-01")
    for _ in range(30):
        await depart_case(client, await open_case(client), departed_on="2026-02-01")
    statements: list[str] = []

    def count(*args: Any) -> None:
        if measuring.get():  # this request only, not the service's background readers
            statements.append(args[2])

    sync_engine = clocked_app.state.deps.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", count)
    try:
        per_page = {}
        for first in (3, 30):
            statements.clear()
            token = measuring.set(True)
            try:
                body = await client.execute(LIST_SCHEDULES, {"first": first})
            finally:
                measuring.reset(token)
            nodes = [e["node"] for e in body["data"]["returnCases"]["edges"]]
            assert len(nodes) == first
            assert all(len(n["followUpSchedule"]) == 3 for n in nodes)
            per_page[first] = len(statements)
    finally:
        event.remove(sync_engine, "before_cursor_execute", count)

    assert per_page[3] == per_page[30]


async def test_my_work_lists_what_a_departure_still_needs_and_an_overdue_plan(
    user: User, clock: MovableClock
) -> None:
    subject = new_subject()
    admin = user("het-kopland", "tenant-admin")
    mine = user("het-kopland", subject=subject)
    clock.set_day("2026-01-06")
    case = await assign(admin, await open_case(admin), subject)
    case = await step(
        mine, "recordReturnConversation", case, heldOn="2026-01-05", wish="WANTS_TO_RETURN"
    )
    preparing = {code for code, *_ in await work(mine)}
    case = await step(mine, "assessRisk", case, assessedOn="2026-01-06", level="LOW")
    assessed = {code for code, *_ in await work(mine)}

    assert {
        "READINESS_RISK_ASSESSMENT_MISSING",
        "READINESS_TRAVEL_DOCUMENT_MISSING",
        "READINESS_ARRIVAL_NOT_ARRANGED",
    } <= preparing
    assert "READINESS_RISK_ASSESSMENT_MISSING" not in assessed
    assert "READINESS_TRAVEL_DOCUMENT_MISSING" in assessed

    other = user("het-kopland", subject=new_subject())
    departed = await open_case(admin)
    departed = await assign(admin, departed, subject)
    clock.set_day("2026-02-01")
    departed = await depart_case(other, departed, departed_on="2026-02-01")
    in_time = [w for w in await work(mine) if w[1] == departed["id"]]
    clock.set_day("2026-03-02")
    late = [w for w in await work(mine) if w[1] == departed["id"]]

    assert in_time == []
    assert late == [("REINTEGRATION_PLAN_OVERDUE", departed["id"], "2026-03-01", True)]
