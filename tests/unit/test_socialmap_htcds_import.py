"""Organisations in HTCDS 2.0 fields: translated, validated like any import, errors by line."""

from __future__ import annotations

import datetime as dt
import json

from service.socialmap import htcds, importer
from service.socialmap.vocabulary import ImportFormat, OrganisationKind, Service

TODAY = dt.date(2026, 12, 4)

# The organisation fields and the org_Type value names of the standard (HTCDS Field Standards
# 2.0, UNMigration/HTCDS): every name this service reads must be one of these.
STANDARD_ORG_FIELDS = {
    "org_Name", "org_ShippingCity", "org_ShippingCountry", "org_ShippingState",
    "org_ShippingStreet", "org_ShippingPostalCode", "org_ShippingLongitude",
    "org_ShippingLatitude", "org_Phone", "org_Type",
}  # fmt: skip
STANDARD_ORG_TYPES = {
    "NGO", "LawEnforcement", "HealthServiceOrganisation", "CentralGovernmentOrganisation",
    "LocalGovernmentOrganisation", "ImmigrationService", "LegalService", "CorporateBusiness",
    "SchoolOrCollege",
}  # fmt: skip


def test_every_htcds_name_read_here_is_a_name_of_the_standard() -> None:
    assert set(htcds.COLUMNS) <= STANDARD_ORG_FIELDS
    assert set(htcds.TYPES) == STANDARD_ORG_TYPES


def checked(fmt: ImportFormat, content: str) -> tuple[list[importer.ValidRow], list[tuple]]:
    rows, errors = importer.parse(fmt, content)
    valid, row_errors = importer.check(rows, TODAY, fmt)
    return valid, [(e.line, e.column, e.rule) for e in importer.merged(errors, row_errors)]


def test_an_htcds_csv_becomes_organisations_with_coordinates() -> None:
    content = (
        "org_Name,ORG_TYPE,org_ShippingCountry,org_ShippingCity,org_ShippingStreet,"
        "org_ShippingPostalCode,org_ShippingLatitude,org_ShippingLongitude,org_Phone\n"
        "Legal Aid Lagos,LegalService,Nigeria,Lagos,1 Marina Road,101001,6.4541,3.3947,"
        "+234 1 000 0000\n"
        "Kyiv Helpline,NGO,UA,Kyiv,,,50.4501,30.5234,\n"
    )
    valid, errors = checked(ImportFormat.HTCDS_CSV, content)
    assert errors == []
    lagos, kyiv = (v.data for v in valid)
    assert (lagos.name, lagos.country) == ("Legal Aid Lagos", "NG")
    assert lagos.kind is OrganisationKind.OTHER
    assert lagos.services == (Service.LEGAL_AID,)
    assert (lagos.latitude, lagos.longitude) == (6.4541, 3.3947)
    channels = [c.value for c in lagos.contact_channels]
    assert channels == ["+234 1 000 0000", "1 Marina Road, 101001"]
    assert (kyiv.kind, kyiv.country, kyiv.latitude) == (OrganisationKind.NGO, "UA", 50.4501)


def test_htcds_problems_are_reported_by_line_under_the_htcds_column() -> None:
    content = json.dumps(
        [
            {"org_Name": "A", "org_ShippingCountry": "Atlantis", "org_Type": "NGO"},
            {"org_Name": "B", "org_ShippingCountry": "NG", "org_Type": "Charity"},
            {"org_Name": "C", "org_ShippingCountry": "NG", "org_ShippingLatitude": 95,
             "org_ShippingLongitude": 3},
            {"org_Name": "D", "org_ShippingCountry": "NG", "org_Email": "d@example.org"},
        ],
        indent=1,
    )  # fmt: skip
    valid, errors = checked(ImportFormat.HTCDS_JSON, content)
    assert [v.line for v in valid] == [18]  # the file is still refused: an unknown column
    assert sorted(errors) == sorted(
        [
            (2, "org_ShippingCountry", "INVALID_COUNTRY"),
            (7, "org_Type", "UNKNOWN_HTCDS_TYPE"),
            (12, "org_ShippingLatitude", "COORDINATE_OUT_OF_RANGE"),
            (18, None, "UNKNOWN_COLUMN"),
        ]
    )


def test_an_htcds_csv_without_the_required_columns_is_refused() -> None:
    _, errors = checked(ImportFormat.HTCDS_CSV, "org_Name,org_Type\nA,NGO\n")
    assert (1, "org_ShippingCountry", "MISSING_COLUMN") in errors
