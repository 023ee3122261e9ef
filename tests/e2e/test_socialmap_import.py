"""Bulk import through GraphQL: every bad row by line, nothing written, re-import a no-op."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.socialmap import importer
from tests.e2e.conftest import GraphQLClient, codes
from tests.e2e.socialmap_support import EDITOR, IMPORT, ORGANISATIONS, map_counts, unique


@pytest.fixture
def editor(as_org: Any) -> GraphQLClient:
    client: GraphQLClient = as_org(*EDITOR)
    return client


async def run_import(
    client: GraphQLClient, fmt: str, content: str, dry_run: bool = False
) -> dict[str, Any]:
    return await client.execute(
        IMPORT, {"input": {"format": fmt, "content": content, "dryRun": dry_run}}
    )


async def test_a_file_with_bad_rows_is_refused_with_every_line_and_writes_nothing(
    editor: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    good = unique("Good Row")
    content = (
        "name,kind,country,city,services,languages,email,website\n"
        f"{good},NGO,NG,Lagos,RETURN_COUNSELLING,en,info@good.example.org,https://good.example.org\n"
        f"{unique('Bad Country')},NGO,XX,,,,,\n"
        f'"{unique("Bad")}\nTwo Lines",NGO,NG,,TELEPATHY,klingon,,\n'
        f"{unique('Bad Contact')},NGO,NG,,,,not-an-email,ftp://files.example.org\n"
        ",NGO,NG,,,,,\n"
        f"{good.upper()},SHELTER,NG,,,,,\n"
    )
    before = await map_counts(admin_engine)

    body = await run_import(editor, "CSV", content)

    assert codes(body) == ["BAD_USER_INPUT"]
    extensions = body["errors"][0]["extensions"]
    assert extensions["rule"] == "INVALID_ROWS"
    problems = [(e["line"], e["column"], e["rule"]) for e in extensions["rowErrors"]]
    assert problems == [
        (3, "country", "INVALID_COUNTRY_CODE"),
        (4, "services", "UNKNOWN_SERVICE"),
        (4, "languages", "INVALID_LANGUAGE_CODE"),
        (6, "email", "INVALID_EMAIL"),
        (6, "website", "INVALID_URL"),
        (7, "name", "REQUIRED"),
        (8, "name", "DUPLICATE_ROW"),
    ]
    assert all(e["reason"] for e in extensions["rowErrors"])
    # Reasons never repeat what the file said (it may hold contact details).
    assert "not-an-email" not in json.dumps(body)
    assert await map_counts(admin_engine) == before


async def test_json_rows_are_reported_by_the_line_they_start_on(editor: GraphQLClient) -> None:
    good, bad, extra = unique("Json Good"), unique("Json Bad"), unique("Json Extra")
    content = (
        "[\n"  # line 1
        f'  {{"name": "{good}", "kind": "NGO", "country": "RO", "languages": ["ro"]}},\n'
        "  {\n"  # line 3: the object below starts here
        f'    "name": "{bad}",\n'
        '    "kind": "CHARITY",\n'
        '    "country": "RO"\n'
        "  },\n"
        '  "not an object",\n'  # line 8
        f'  {{"name": "{extra}", "kind": "NGO", "country": "RO", "colour": "red"}}\n'
        "]\n"
    )
    body = await run_import(editor, "JSON", content)
    errors = body["errors"][0]["extensions"]["rowErrors"]
    assert [(e["line"], e["column"], e["rule"]) for e in errors] == [
        (3, "kind", "UNKNOWN_KIND"),
        (8, None, "NOT_AN_OBJECT"),
        (9, None, "UNKNOWN_COLUMN"),
    ]


async def test_malformed_json_is_reported_at_its_line(editor: GraphQLClient) -> None:
    content = '[\n  {"name": "A", "kind": "NGO", "country": "NG"},\n  {"name": \n]'
    body = await run_import(editor, "JSON", content)
    errors = body["errors"][0]["extensions"]["rowErrors"]
    assert [(e["line"], e["rule"]) for e in errors] == [(4, "MALFORMED_JSON")]


async def test_import_creates_then_reimport_changes_nothing_then_changes_update(
    editor: GraphQLClient, as_org: Any, admin_engine: AsyncEngine
) -> None:
    first, second = unique("Import Alpha"), unique("Import Beta")
    content = (
        "name,kind,country,city,services,target_groups,languages,phone\n"
        f"{first},NGO,BG,Plovdiv,RETURN_COUNSELLING;LEGAL_AID,WOMEN,bg;en,+359 32 000 000\n"
        f"{second},SHELTER,BG,Varna,SHELTER,ALL,bg,\n"
    )
    before = await map_counts(admin_engine)
    dry = await run_import(editor, "CSV", content, dry_run=True)
    assert dry["data"]["importOrganisations"] == {
        "dryRun": True,
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "skippedRetired": 0,
    }
    assert await map_counts(admin_engine) == before  # the dry run wrote nothing

    done = await run_import(editor, "CSV", content)
    assert done["data"]["importOrganisations"]["created"] == 2
    after_first = await map_counts(admin_engine)
    assert after_first[0] == before[0] + 2

    again = await run_import(editor, "CSV", content)
    assert again["data"]["importOrganisations"] == {
        "dryRun": False,
        "rows": 2,
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "skippedRetired": 0,
    }
    assert await map_counts(admin_engine) == after_first

    # Same rows in another order of list items: still unchanged. A changed city: an update.
    changed = content.replace("RETURN_COUNSELLING;LEGAL_AID", "LEGAL_AID;RETURN_COUNSELLING")
    changed = changed.replace("Varna", "Burgas")
    result = await run_import(editor, "CSV", changed)
    assert (
        result["data"]["importOrganisations"]["updated"],
        result["data"]["importOrganisations"]["unchanged"],
    ) == (1, 1)
    body = await as_org("moviera").execute(ORGANISATIONS, {"filter": {"text": second}, "first": 5})
    node = body["data"]["organisations"]["edges"][0]["node"]
    assert (node["city"], node["version"]) == ("Burgas", 2)


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        ("", "EMPTY_IMPORT"),
        ("name,kind,country\n", "EMPTY_IMPORT"),
        ("[]", "EMPTY_IMPORT"),
        ("x" * (importer.MAX_BYTES + 1), "IMPORT_TOO_LARGE"),
        ("a\u0000b", "NUL_CHARACTER"),
    ],
)
async def test_empty_huge_or_binary_files_are_refused(
    editor: GraphQLClient, content: str, rule: str
) -> None:
    fmt = "JSON" if content.startswith("[") else "CSV"
    body = await run_import(editor, fmt, content)
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["rule"] == rule


async def test_too_many_rows_are_refused(editor: GraphQLClient) -> None:
    rows = "".join(f"Org {i},NGO,NG\n" for i in range(importer.MAX_ROWS + 1))
    body = await run_import(editor, "CSV", "name,kind,country\n" + rows)
    assert body["errors"][0]["extensions"]["rule"] == "IMPORT_TOO_MANY_ROWS"


async def test_an_htcds_file_imports_organisations_with_their_coordinates(
    editor: GraphQLClient, admin_engine: AsyncEngine
) -> None:
    name = unique("HTCDS Reception")
    content = (
        "org_Name,org_Type,org_ShippingCountry,org_ShippingCity,org_ShippingLatitude,"
        "org_ShippingLongitude\n"
        f"{name},NGO,Bulgaria,Sofia,42.6977,23.3219\n"
    )
    done = await run_import(editor, "HTCDS_CSV", content)
    assert done["data"]["importOrganisations"]["created"] == 1
    body = await editor.execute(ORGANISATIONS, {"filter": {"text": name}})
    node = body["data"]["organisations"]["edges"][0]["node"]
    assert (node["country"], node["city"], node["kind"]) == ("BG", "Sofia", "NGO")
    located = await editor.execute(
        "query($f: OrganisationFilter) { organisations(filter: $f) { edges { node { name "
        "latitude longitude } } } }",
        {"f": {"text": name}},
    )
    assert located["data"]["organisations"]["edges"][0]["node"]["latitude"] == 42.6977

    before = await map_counts(admin_engine)
    bad = await run_import(editor, "HTCDS_CSV", content + f"{unique('X')},Charity,NG,,,\n")
    assert codes(bad) == ["BAD_USER_INPUT"]
    row_errors = bad["errors"][0]["extensions"]["rowErrors"]
    assert [(e["line"], e["column"], e["rule"]) for e in row_errors] == [
        (3, "org_Type", "UNKNOWN_HTCDS_TYPE")
    ]
    assert await map_counts(admin_engine) == before


async def test_an_htcds_import_changes_only_the_fields_htcds_carries(
    editor: GraphQLClient,
) -> None:
    name = unique("Known shelter")
    created = await editor.execute(
        "mutation($i: CreateOrganisationInput!) { createOrganisation(input: $i) { version } }",
        {"i": {"name": name, "kind": "SHELTER", "country": "RO", "city": "Iasi",
               "languages": ["ro", "en"], "services": ["SHELTER"]}},
    )  # fmt: skip
    assert "errors" not in created, created
    content = (
        "org_Name,org_Type,org_ShippingCountry,org_ShippingCity,org_Phone\n"
        f"{name},,RO,Bacau,+40 234 000 000\n"
    )
    done = await run_import(editor, "HTCDS_CSV", content)
    assert done["data"]["importOrganisations"]["updated"] == 1
    body = await editor.execute(ORGANISATIONS, {"filter": {"text": name}})
    node = body["data"]["organisations"]["edges"][0]["node"]
    assert (node["kind"], node["city"], node["languages"]) == ("SHELTER", "Bacau", ["en", "ro"])
    assert node["services"] == ["SHELTER"]
    assert [c["value"] for c in node["contactChannels"]] == ["+40 234 000 000"]
    again = await run_import(editor, "HTCDS_CSV", content)
    assert again["data"]["importOrganisations"]["unchanged"] == 1
