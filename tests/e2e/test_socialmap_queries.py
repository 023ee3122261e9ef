"""Reading the social map over HTTP: the same map for everyone, search, filters, paging."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.socialmap import seed
from tests.e2e.conftest import GraphQLClient, codes
from tests.e2e.socialmap_support import (
    ORGANISATION,
    ORGANISATIONS,
    load_demo,
    seeded,
)


@pytest.fixture(scope="module", autouse=True)
async def demo(admin_engine: AsyncEngine) -> None:
    await load_demo(admin_engine)


async def names(client: GraphQLClient, **flt: Any) -> list[str]:
    body = await client.execute(ORGANISATIONS, {"filter": flt, "first": 50})
    assert "errors" not in body, body
    return [e["node"]["name"] for e in body["data"]["organisations"]["edges"]]


MAP_QUERY = """
{
  countries { code names { en nl } activeOrganisations hasReferralMechanism }
  organisations(first: 50, filter: {country: "NL"}) {
    edges { node { id name kind city region services returnSupport demo history { change } } }
  }
  referralMechanism(country: "BE") { title start steps { position title responsibleBody } }
  returnSupportOrganisations { name returnSupport }
}
"""


async def test_every_tenant_and_role_reads_the_same_map(as_org: Any) -> None:
    readers = [
        as_org("moviera", "caseworker"),
        as_org("blijf-groep", "tenant-admin"),
        as_org("comensha", "comensha-analyst"),
        as_org("comensha", "social-map-editor"),
        as_org("het-kopland", "integrator"),
    ]
    answers = [await r.execute(MAP_QUERY) for r in readers]

    assert "errors" not in answers[0], answers[0]
    assert all(a == answers[0] for a in answers[1:])
    data = answers[0]["data"]
    assert {"HVO Querido", "CoMensha", "Dienst Terugkeer en Vertrek", "IOM Netherlands"} <= {
        e["node"]["name"] for e in data["organisations"]["edges"]
    }
    assert [s["position"] for s in data["referralMechanism"]["steps"]] == [1, 2, 3, 4]


async def test_the_real_seed_holds_certain_facts_only(as_org: Any) -> None:
    body = await as_org("moviera").execute(ORGANISATION, {"id": seeded("jade-zorggroep")})
    jade = body["data"]["organisation"]
    assert (jade["name"], jade["kind"], jade["country"], jade["city"]) == (
        "Jade Zorggroep",
        "SHELTER",
        "NL",
        None,
    )
    assert (jade["contactChannels"], jade["demo"], jade["active"]) == ([], False, True)
    body = await as_org("moviera").execute(ORGANISATION, {"id": seeded("iom-nl")})
    iom = body["data"]["organisation"]
    assert (iom["kind"], iom["city"], iom["returnSupport"]) == (
        "INTERNATIONAL_ORGANISATION",
        "The Hague",
        "HANDS_ON_GUIDANCE",
    )
    assert [h["change"] for h in iom["history"]] == ["CREATED"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Sao Tome", "Associação São Tomé Solidária (demo)"),
        ("sao tomé", "Associação São Tomé Solidária (demo)"),
        ("roemenie", "Casa Speranței Iași (demo)"),
        ("ROEMENIË", "Centrul de Reintegrare București (demo)"),
        ("romania", "Casa Speranței Iași (demo)"),
        ("casa sperantei", "Casa Speranței Iași (demo)"),
        ("ha noi", "Trung tâm Hỗ trợ Hồi hương Hà Nội (demo)"),
        ("bucuresti", "Centrul de Reintegrare București (demo)"),
        ("nederland", "CoMensha"),
        ("oekraine", "Kyiv Family Tracing Service (demo)"),
        ("dienst terug", "Dienst Terugkeer en Vertrek"),
    ],
)
async def test_text_search_ignores_case_and_accents(as_org: Any, query: str, expected: str) -> None:
    assert expected in await names(as_org("moviera"), text=query)


async def test_text_search_needs_every_word(as_org: Any) -> None:
    found = await names(as_org("moviera"), text="lagos legal")
    assert found == ["Lagos Legal Aid Clinic (demo)"]
    assert await names(as_org("moviera"), text="lagos shelter zzz") == []


async def test_filters_combine_country_services_languages_and_kind(as_org: Any) -> None:
    client = as_org("humanitas-pmw")

    async def demo_names(**flt: Any) -> list[str]:
        # Other tests add organisations of their own: look at the demo set only.
        return await names(client, text="demo", **flt)

    assert set(await demo_names(country="ng")) == {
        "Benin City Women's Shelter (demo)",
        "Lagos Legal Aid Clinic (demo)",
        "Lagos Return and Reintegration Network (demo)",
    }
    assert await demo_names(country="NG", services=["RETURN_COUNSELLING"]) == [
        "Lagos Return and Reintegration Network (demo)"
    ]
    # Every service asked for must be offered.
    assert await demo_names(country="NG", services=["SHELTER", "LEGAL_AID"]) == []
    # At least one of the languages asked for must be spoken.
    assert await demo_names(country="UA", languages=["de", "uk"]) == [
        "Kyiv Family Tracing Service (demo)"
    ]
    assert await demo_names(country="UA", languages=["de"]) == []
    assert await demo_names(country="NG", kind="SHELTER") == ["Benin City Women's Shelter (demo)"]


async def test_pages_follow_the_cursor_without_gaps_or_repeats(as_org: Any) -> None:
    client = as_org("moviera")
    everything = await names(client, text="demo")  # other tests add organisations of their own
    seen: list[str] = []
    after = None
    while True:
        body = await client.execute(
            ORGANISATIONS, {"filter": {"text": "demo"}, "first": 4, "after": after}
        )
        page = body["data"]["organisations"]
        seen += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == everything
    assert len(seen) == len(seed.DEMO_ORGANISATIONS)


async def test_countries_count_active_organisations(as_org: Any) -> None:
    body = await as_org("moviera").execute(MAP_QUERY)
    countries = {c["code"]: c for c in body["data"]["countries"]}
    assert countries["ST"]["names"] == {"en": "São Tomé and Príncipe", "nl": "Sao Tomé en Principe"}
    assert countries["ST"]["activeOrganisations"] >= 1
    assert countries["HU"] == {
        "code": "HU",
        "names": {"en": "Hungary", "nl": "Hongarije"},
        "activeOrganisations": 0,
        "hasReferralMechanism": True,
    }
    body = await as_org("moviera").execute(
        ORGANISATIONS, {"filter": {"country": "RO"}, "first": 50}
    )
    assert countries["RO"]["activeOrganisations"] == len(body["data"]["organisations"]["edges"])


async def test_referral_mechanisms_of_the_four_countries(as_org: Any) -> None:
    client = as_org("het-kopland")
    for country in ("NL", "BE", "HU", "LU"):
        body = await client.execute(
            "query($c: String!) { referralMechanism(country: $c) "
            "{ country titleNl steps { position responsibleBody description descriptionNl "
            "source { document consultedOn } } } }",
            {"c": country},
        )
        mechanism = body["data"]["referralMechanism"]
        assert mechanism["country"] == country
        assert mechanism["titleNl"]
        steps = mechanism["steps"]
        assert all(s["source"]["document"] and s["source"]["consultedOn"] for s in steps)
        assert all(s["descriptionNl"] for s in steps)
        assert [s["position"] for s in steps] == list(range(1, len(steps) + 1))
        assert all(s["responsibleBody"] and s["description"] for s in steps)
    body = await client.execute('{ referralMechanism(country: "NG") { title } }')
    assert body["data"]["referralMechanism"] is None


async def test_return_support_organisations_by_kind(as_org: Any) -> None:
    client = as_org("moviera")
    body = await client.execute(
        "{ guidance: returnSupportOrganisations(kind: HANDS_ON_GUIDANCE) { name country } "
        "information: returnSupportOrganisations(kind: GENERAL_INFORMATION) { name } }"
    )
    data = body["data"]
    assert {o["name"] for o in data["guidance"]} >= {
        "Dienst Terugkeer en Vertrek",
        "IOM Netherlands",
    }
    assert all(o["country"] == "NL" for o in data["guidance"])
    assert "Terugkeer Informatiepunt (demo)" in {o["name"] for o in data["information"]}


def _forged(value: Any) -> str:
    raw = value if isinstance(value, str) else json.dumps(value)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"filter": {"country": "XX"}}, "country"),
        ({"filter": {"country": "Netherlands"}}, "country"),
        ({"filter": {"languages": ["dutch"]}}, "languages"),
        ({"filter": {"text": "x" * 201}}, "text"),
        ({"filter": {"text": "a\u0000b"}}, "text"),
        ({"first": 0}, "first"),
        ({"first": 51}, "first"),
        ({"after": "not-a-cursor"}, "after"),
        ({"after": _forged(["o", "a\u0000b", str(uuid.uuid4())])}, "after"),
        ({"after": _forged(["o", "x", "not-a-uuid"])}, "after"),
        ({"after": _forged("[" * 5000 + "]" * 5000)}, "after"),
    ],
)
async def test_bad_query_input_is_bad_user_input(
    as_org: Any, variables: dict[str, Any], field: str
) -> None:
    body = await as_org("moviera").execute(ORGANISATIONS, variables)
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == field


async def test_unknown_or_mistyped_organisation_ids(as_org: Any) -> None:
    client = as_org("moviera")
    unknown = seeded("no-such-organisation")
    body = await client.execute(ORGANISATION, {"id": unknown})
    assert codes(body) == ["NOT_FOUND"]
    body = await client.execute(ORGANISATION, {"id": "nonsense"})
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_a_blank_text_is_no_filter_but_punctuation_alone_is_refused(as_org: Any) -> None:
    client = as_org("moviera")
    assert await names(client, text="   ") == await names(client)
    body = await client.execute(
        "query Orgs($text: String) { organisations(first: 5, filter: {text: $text}) "
        "{ edges { node { id } } } }",
        {"text": " -- "},
    )
    assert codes(body) == ["BAD_USER_INPUT"]
