"""Coordinates, distance search, the GeoJSON map, and how fresh an entry is."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import httpx

from tests.e2e.conftest import codes
from tests.e2e.socialmap_support import EDITOR, create, unique
from tests.e2e.test_socialmap_referrals import open_case, step

NEAR = """
query($f: OrganisationFilter, $after: String, $first: Int) {
  organisations(filter: $f, first: $first, after: $after) {
    edges { cursor node { name distanceKm latitude longitude } }
    pageInfo { hasNextPage endCursor }
  }
}"""

# Three places in Malawi (MW): Lilongwe, Blantyre (about 240 km away), Mzuzu (about 280 km).
LILONGWE = (-13.9626, 33.7741)
BLANTYRE = (-15.7861, 35.0058)
MZUZU = (-11.4656, 34.0207)


async def located(editor: Any, label: str, point: tuple[float, float], **extra: Any) -> str:
    name = unique(label)
    await create(editor, name=name, country="MW", latitude=point[0], longitude=point[1], **extra)
    return name


async def test_organisations_near_a_point_come_nearest_first_within_the_radius(
    as_org: Any,
) -> None:
    editor = as_org(*EDITOR)
    names = {
        key: await located(editor, key, point)
        for key, point in (("Lilongwe", LILONGWE), ("Blantyre", BLANTYRE), ("Mzuzu", MZUZU))
    }
    client = as_org("moviera")
    ours = set(names.values())
    near = {"latitude": LILONGWE[0], "longitude": LILONGWE[1], "radiusKm": 260}
    body = await client.execute(NEAR, {"f": {"country": "MW", "near": near}})
    nodes = [e["node"] for e in body["data"]["organisations"]["edges"] if e["node"]["name"] in ours]
    assert [n["name"] for n in nodes] == [names["Lilongwe"], names["Blantyre"]]
    assert nodes[0]["distanceKm"] == 0
    assert 220 < nodes[1]["distanceKm"] < 250

    wide = {**near, "radiusKm": 1000}
    seen: list[str] = []
    after = None
    while True:  # page by one: every page continues exactly where the last one stopped
        body = await client.execute(
            NEAR, {"f": {"country": "MW", "near": wide}, "first": 1, "after": after}
        )
        page = body["data"]["organisations"]
        seen.extend(e["node"]["name"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen))
    assert [n for n in seen if n in ours] == [names[k] for k in ("Lilongwe", "Blantyre", "Mzuzu")]


async def test_a_bad_point_or_radius_is_refused_with_the_rule(as_org: Any) -> None:
    client = as_org("moviera")
    for near, rule in (
        ({"latitude": 91, "longitude": 0, "radiusKm": 5}, "COORDINATE_OUT_OF_RANGE"),
        ({"latitude": 0, "longitude": 181, "radiusKm": 5}, "COORDINATE_OUT_OF_RANGE"),
        ({"latitude": 0, "longitude": 0, "radiusKm": 0}, "INVALID_RADIUS"),
    ):
        body = await client.execute(NEAR, {"f": {"near": near}})
        assert codes(body) == ["BAD_USER_INPUT"]
        assert body["errors"][0]["extensions"]["rule"] == rule


def assert_rfc7946(collection: dict[str, Any]) -> None:
    assert collection["type"] == "FeatureCollection"
    assert isinstance(collection["features"], list)
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["properties"], dict)
        geometry = feature["geometry"]
        assert geometry["type"] == "Point"
        longitude, latitude = geometry["coordinates"]
        assert all(isinstance(c, float | int) and math.isfinite(c) for c in (longitude, latitude))
        assert -180 <= longitude <= 180
        assert -90 <= latitude <= 90


async def test_the_map_is_served_as_geojson_with_longitude_first(
    as_org: Any, http: httpx.AsyncClient, make_token: Any
) -> None:
    name = await located(as_org(*EDITOR), "Zomba", (-15.3850, 35.3188), services=["SHELTER"])
    headers = {"Authorization": f"Bearer {make_token('moviera')}"}
    response = await http.get("/socialmap.geojson?country=MW", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert_rfc7946(collection)
    feature = next(f for f in collection["features"] if f["properties"]["name"] == name)
    assert feature["geometry"]["coordinates"] == [35.3188, -15.385]
    assert feature["properties"]["services"] == ["SHELTER"]
    assert feature["properties"]["stale"] is True
    assert all(f["properties"]["country"] == "MW" for f in collection["features"])

    shelters = (
        await http.get("/socialmap.geojson?country=MW&service=SHELTER", headers=headers)
    ).json()
    assert [f["properties"]["name"] for f in shelters["features"]] == [name]


async def test_the_geojson_map_needs_a_token_and_valid_filters(
    http: httpx.AsyncClient, make_token: Any
) -> None:
    response = await http.get("/socialmap.geojson")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    headers = {"Authorization": f"Bearer {make_token('moviera')}"}
    for query in ("country=XX", "service=NOPE", "text=%21%21", "stale=maybe", "language=zz"):
        bad = await http.get(f"/socialmap.geojson?{query}", headers=headers)
        assert bad.status_code == 400, query
        assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_confirming_an_organisation_makes_it_fresh_and_records_it(as_org: Any) -> None:
    editor = as_org(*EDITOR)
    created = await create(editor, name=unique("Old entry"), lastVerifiedOn="2020-01-01")
    org = created["organisation"]
    body = await editor.execute(
        "mutation($i: ConfirmOrganisationInput!) { confirmOrganisation(input: $i) { version "
        "organisation { lastVerifiedOn stale history { change } } } }",
        {"i": {"id": org["id"], "expectedVersion": 1}},
    )
    confirmed = body["data"]["confirmOrganisation"]
    assert confirmed["version"] == 2
    assert confirmed["organisation"]["stale"] is False
    assert confirmed["organisation"]["lastVerifiedOn"] == dt.datetime.now(dt.UTC).date().isoformat()
    assert [h["change"] for h in confirmed["organisation"]["history"]] == ["CREATED", "CONFIRMED"]
    refused = await as_org("moviera", "tenant-admin").execute(
        "mutation($i: ConfirmOrganisationInput!) { confirmOrganisation(input: $i) { version } }",
        {"i": {"id": org["id"], "expectedVersion": 2}},
    )
    assert codes(refused) == ["FORBIDDEN"]


async def test_stale_entries_are_listed_for_editors_only(as_org: Any) -> None:
    editor = as_org(*EDITOR)
    name = unique("Never checked")
    await create(editor, name=name)
    query = "{ staleSocialMapEntries { organisations { name stale } mechanisms { country } } }"
    body = await editor.execute(query)
    stale = body["data"]["staleSocialMapEntries"]["organisations"]
    assert name in [o["name"] for o in stale]
    assert all(o["stale"] for o in stale)
    assert codes(await as_org("moviera").execute(query)) == ["FORBIDDEN"]


async def test_a_stale_partner_ranks_after_a_fresh_one(as_org: Any) -> None:
    editor = as_org(*EDITOR)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    both = ["RETURN_COUNSELLING", "RECEPTION_ON_ARRIVAL"]
    stale = unique("Stale but complete")
    fresh = unique("Fresh")
    await create(editor, name=stale, country="LS", services=both, lastVerifiedOn="2019-05-01")
    await create(
        editor, name=fresh, country="LS", services=["RECEPTION_ON_ARRIVAL"], lastVerifiedOn=today
    )
    client = as_org("het-kopland")
    case = await open_case(client, "LS")
    case = await step(
        client, "recordReturnConversation", case, heldOn="2026-03-03", wish="WANTS_TO_RETURN"
    )
    body = await client.execute(
        "query($id: ID!) { returnCase(id: $id) { suggestedPartners { name stale } } }",
        {"id": case["id"]},
    )
    found = body["data"]["returnCase"]["suggestedPartners"]
    assert [o["name"] for o in found] == [fresh, stale]
    assert [o["stale"] for o in found] == [False, True]
