"""CoMensha's reports over HTTP, as an analyst would use them; and who may not.

Cases are opened through GraphQL with intake in 2022 (a year no other test uses); the running
app's background projection picks them up from the feed.
"""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.domain.return_case import EVENT_TYPES_BY_NAME
from service.reports import disclosure
from tests.conftest import TokenFactory
from tests.e2e.conftest import GraphQLClient, codes
from tests.e2e.test_lifecycle import open_case, step

YEAR = 2022
K = 11
CASELOAD = """
query($p: ReportPeriodInput!, $g: [ReportDimension!]!) {
  reports { caseload(period: $p, groupBy: $g) {
    period { kind label parts } groupBy unit threshold roundingBase
    cells { values count suppressed } totals { values count suppressed }
    grandTotal { value suppressed }
  } }
}
"""
INDICATORS = """
query($p: ReportPeriodInput!) {
  reports { safeFutureIndicators(period: $p, byShelter: true) {
    period { label } threshold percentileMinimumGroup
    overall { shelter intakeCases { value suppressed }
      returnDiscussedWithin14Days {
        count { value suppressed } population { value } share suppressed
      }
      departuresByMode { mode count { value suppressed } }
      daysIntakeToDeparture { median p90 suppressed } }
    shelters { shelter intakeCases { value suppressed } }
  } }
}
"""
# moviera: 12 in intake, 2 in orientation; het-kopland: 10 in intake, 3 preparing;
# blijf-groep: 2 in intake. 29 cases.
PLAN = {"moviera": (12, 2, "UNDECIDED"), "het-kopland": (10, 3, "WANTS_TO_RETURN"),
        "blijf-groep": (2, 0, "")}  # fmt: skip


@pytest.fixture(scope="module")
async def population(as_org: Any, admin_engine: AsyncEngine) -> int:
    async def one(org: str, index: int, talk: str | None) -> None:
        client = as_org(org)
        day = f"{YEAR}-03-{index % 28 + 1:02d}"
        case = (await open_case(client, intakeDate=day, pseudonym=f"Report Person {index}"))["case"]
        if talk:
            await step(client, "recordReturnConversation", case, heldOn=day, wish=talk)

    jobs = []
    for org, (plain, talked, wish) in PLAN.items():
        jobs += [one(org, i, None) for i in range(plain)]
        jobs += [one(org, 100 + i, wish) for i in range(talked)]
    await asyncio.gather(*jobs)
    for _ in range(300):  # the app's background projection follows the feed
        if await _caught_up(admin_engine):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the report projection did not catch up")
    return sum(p + t for p, t, _ in PLAN.values())


async def _caught_up(admin: AsyncEngine) -> bool:
    """Has every shelter's report checkpoint reached its last event?"""
    async with admin.connect() as conn:
        behind = await conn.scalar(
            text(
                "SELECT count(*) FROM tenants t LEFT JOIN report_checkpoints c "
                "ON c.tenant_id = t.id AND c.projection = 'report_cases' "
                "WHERE t.kind = 'shelter' AND EXISTS (SELECT 1 FROM events e "
                "WHERE e.tenant_id = t.id AND e.event_type = ANY(:types) "
                "AND (e.transaction_id::text::bigint, e.global_position) > "
                "(coalesce(c.transaction_id, 0), coalesce(c.global_position, 0)))"
            ),
            {"types": sorted(EVENT_TYPES_BY_NAME)},
        )
    return behind == 0


PHASES = {"INTAKE", "ORIENTATION", "PREPARATION", "DEPARTED", "FOLLOW_UP", "CLOSED"}


async def _caseload(analyst: GraphQLClient, group_by: list[str]) -> dict[str, Any]:
    body = await analyst.execute(CASELOAD, {"p": {"year": YEAR}, "g": group_by})
    assert "errors" not in body, body
    report: dict[str, Any] = body["data"]["reports"]["caseload"]
    return report


def _entries(report: dict[str, Any]) -> dict[disclosure.Key, int | None]:
    return {
        tuple(c["values"]): (None if c["suppressed"] else c["count"])
        for c in report["cells"] + report["totals"]
    }


async def test_an_analyst_gets_a_protected_caseload_by_shelter_and_phase(
    as_org: Any, population: int
) -> None:
    report = await _caseload(as_org("comensha", "comensha-analyst"), ["SHELTER", "PHASE"])
    assert report["period"] == {"kind": "YEAR", "label": "2022", "parts": ["2022"]}
    assert (report["unit"], report["threshold"], report["roundingBase"]) == ("CASES", K, K)
    entries = _entries(report)
    shelters = {key[0] for key in entries if key[0] is not None}
    assert len(shelters) == 6  # every shelter, whether or not it had cases
    # Every combination is listed, the empty ones suppressed like small ones.
    assert {key for key in entries if None not in key} == {(s, p) for s in shelters for p in PHASES}
    assert entries[(None, None)] == 33  # 29 cases, rounded to base 11
    assert entries[("moviera", None)] == 11  # 14 cases
    assert entries[("blijf-groep", "INTAKE")] is None  # 2 cases: suppressed
    assert entries[("moviera", "ORIENTATION")] is None
    assert entries[("het-kopland", "PREPARATION")] is None
    assert entries[("jade-zorggroep", "INTAKE")] is None  # none
    # 13 cases, withheld: the other shelters' 2 cases alone would be bounded by the total.
    assert entries[("het-kopland", None)] is None
    for value in entries.values():
        assert value is None or (value >= K and value % K == 0)
    for members in disclosure.lines_of(entries, 2).values():
        assert sum(entries[m] is None for m in members) != 1
    assert all(c["count"] is None for c in report["cells"] if c["suppressed"])


async def test_indicators_per_shelter(as_org: Any, population: int) -> None:
    analyst = as_org("comensha", "comensha-analyst")
    await _caseload(analyst, [])
    body = await analyst.execute(INDICATORS, {"p": {"year": YEAR}})
    assert "errors" not in body, body
    indicators = body["data"]["reports"]["safeFutureIndicators"]
    assert indicators["overall"]["intakeCases"] == {"value": 33, "suppressed": False}
    assert indicators["percentileMinimumGroup"] == 3 * K
    # Nobody departed: no percentile, and no count of departures to show either.
    assert indicators["overall"]["daysIntakeToDeparture"] == {
        "median": None,
        "p90": None,
        "suppressed": True,
    }
    by = {s["shelter"]: s for s in indicators["shelters"]}
    assert len(by) == 6
    assert by["blijf-groep"]["intakeCases"] == {"value": None, "suppressed": True}
    assert by["jade-zorggroep"]["intakeCases"] == {"value": None, "suppressed": True}
    assert by["moviera"]["intakeCases"] == {"value": 11, "suppressed": False}
    modes = indicators["overall"]["departuresByMode"]
    assert [m["mode"] for m in modes] == ["INDEPENDENT", "ASSISTED", "FORCED"]


async def test_the_caseload_exports_as_csv_that_opens_as_csv(
    as_org: Any, http: httpx.AsyncClient, make_token: TokenFactory, population: int
) -> None:
    analyst = as_org("comensha", "comensha-analyst")
    report = await _caseload(analyst, ["SHELTER", "PHASE"])
    token = make_token("comensha", "comensha-analyst")
    response = await http.get(
        "/reports/caseload.csv",
        params={"year": str(YEAR), "groupBy": "SHELTER,PHASE"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["period", "shelter", "phase", "cases"]
    exported = {
        (shelter if shelter != "ALL" else None, phase if phase != "ALL" else None): count
        for _, shelter, phase, count in rows[1:]
    }
    expected = {k: "suppressed" if v is None else str(v) for k, v in _entries(report).items()}
    assert exported == expected
    assert "Report Person" not in response.text
    assert "Ada" not in response.text
    as_json = await http.get(
        "/reports/caseload.json",
        params=[("year", str(YEAR)), ("groupBy", "SHELTER"), ("groupBy", "PHASE")],
        headers={"Authorization": f"Bearer {token}"},
    )
    data = as_json.json()
    assert (data["cells"], data["totals"]) == (report["cells"], report["totals"])


async def test_the_indicators_export_as_csv(
    http: httpx.AsyncClient, make_token: TokenFactory, population: int
) -> None:
    response = await http.get(
        "/reports/indicators.csv",
        params={"year": str(YEAR), "byShelter": "true"},
        headers={"Authorization": f"Bearer {make_token('comensha', 'comensha-analyst')}"},
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["shelter"] for r in rows][-1] == "ALL"
    assert len(rows) == 7
    assert rows[-1]["intake_cases"] == "33"
    assert rows[-1]["median_days_intake_to_departure"] == "suppressed"
    as_json = await http.get(
        "/reports/indicators.json",
        params={"fromMonth": f"{YEAR}-02", "toMonth": f"{YEAR}-04"},
        headers={"Authorization": f"Bearer {make_token('comensha', 'comensha-analyst')}"},
    )
    data = as_json.json()
    assert data["percentileMinimumGroup"] == 3 * K
    assert data["period"]["label"] == f"{YEAR}-02..{YEAR}-04"
    assert data["overall"]["intakeCases"] == {"value": 33, "suppressed": False}  # March
    for row in rows:
        for column, value in row.items():
            if column not in ("period", "shelter") and value not in ("", "suppressed"):
                float(value)


@pytest.mark.parametrize(
    ("org", "roles"),
    [
        ("moviera", ("caseworker",)),
        ("moviera", ("tenant-admin",)),
        ("moviera", ("comensha-analyst",)),  # a shelter never reads across tenants
        ("comensha", ("social-map-editor",)),
    ],
)
async def test_only_a_comensha_analyst_gets_reports(
    as_org: Any, http: httpx.AsyncClient, make_token: TokenFactory, org: str, roles: tuple[str]
) -> None:
    body = await as_org(org, *roles).execute(CASELOAD, {"p": {"year": YEAR}, "g": []})
    assert codes(body) == ["FORBIDDEN"]
    assert body["data"] is None
    response = await http.get(
        "/reports/caseload.csv",
        params={"year": str(YEAR)},
        headers={"Authorization": f"Bearer {make_token(org, *roles)}"},
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "query",
    [
        "{ returnCases(first: 5) { edges { node { id } } } }",
        '{ returnCase(id: "UmV0dXJuQ2FzZTowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA") '
        "{ id } }",
        "{ caseEvents(first: 5) { edges { cursor } } }",
        "{ integratorClients { clientId } }",
        'mutation { openReturnCase(input: {intakeDate: "2022-01-01", pseudonym: "x", '
        'gender: FEMALE, nationality: "RO", countryOfOrigin: "RO", languages: ["ro"], '
        "exploitationForms: []}) { version } }",
    ],
)
async def test_an_analyst_gets_nothing_case_level(as_org: Any, query: str) -> None:
    body = await as_org("comensha", "comensha-analyst").execute(query)
    assert codes(body) == ["FORBIDDEN"], body


async def test_report_exports_need_a_valid_token_and_valid_input(
    http: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    response = await http.get("/reports/caseload.csv", params={"year": str(YEAR)})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    auth = {"Authorization": f"Bearer {make_token('comensha', 'comensha-analyst')}"}
    for params in (
        {"year": "20x5"},
        {"year": str(YEAR), "month": f"{YEAR}-01"},
        {"fromMonth": f"{YEAR}-05", "toMonth": f"{YEAR}-01"},
        {"year": str(YEAR), "groupBy": "SHELTER,PHASE,GENDER,AGE_GROUP"},
        {"year": str(YEAR), "groupBy": "PSEUDONYM"},
        {"year": str(YEAR), "groupBy": "SHELTER,SHELTER"},
    ):
        response = await http.get("/reports/caseload.json", params=params, headers=auth)
        assert response.status_code == 400, params
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    response = await http.get("/reports/caseload.xml", params={"year": "2022"}, headers=auth)
    assert response.status_code == 404


async def test_graphql_refuses_bad_groupings_and_periods(as_org: Any) -> None:
    analyst = as_org("comensha", "comensha-analyst")
    for period, group_by in (
        ({"year": YEAR}, ["SHELTER", "PHASE", "GENDER", "AGE_GROUP"]),
        ({"year": YEAR}, ["PHASE", "PHASE"]),
        ({"year": YEAR, "quarter": f"{YEAR}-Q1"}, []),
        ({"fromMonth": f"{YEAR}-01"}, []),
        ({"month": "March"}, []),
    ):
        body = await analyst.execute(CASELOAD, {"p": period, "g": group_by})
        assert codes(body) == ["BAD_USER_INPUT"], (period, group_by)
