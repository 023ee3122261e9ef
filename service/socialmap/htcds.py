"""Organisations in the Human Trafficking Case Data Standard (HTCDS 2.0, led by IOM).

HTCDS names an organisation's fields with the prefix ``org_`` (``org_Name``,
``org_ShippingCountry``, ``org_ShippingLatitude``, ...). ``translate`` turns a row in those
names into a row in the social map's own import columns, so an HTCDS file goes through the very
same validation as any import; problems are reported under the HTCDS column they came from.

Mapping (documented in ``docs/htcds.md``): name, city, state (region), country (ISO code or an
English or Dutch country name), latitude and longitude map one to one; street and postal code
become the postal address; phone the phone channel; ``org_Type`` maps to the map's kinds and,
where the type says what the organisation offers, a service (a health service offers medical
care, a legal service legal aid). An empty ``org_Type`` is the kind OTHER.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from service.domain.codes import is_country
from service.socialmap.countries import COUNTRY_NAMES
from service.socialmap.search import normalise
from service.socialmap.vocabulary import OrganisationKind, Service

__all__ = [
    "COLUMNS", "FIELD_COLUMN", "PARTIAL", "REQUIRED", "TYPES", "TranslationError", "translate",
]  # fmt: skip

# Marks a translated row as stating only some fields (a matching organisation keeps the others);
# its value names the fields filled with a default rather than stated.
PARTIAL = "__htcds__"

# HTCDS 2.0 organisation fields (the standard's spelling), each with the import column it fills.
COLUMNS: Mapping[str, str | None] = MappingProxyType(
    {
        "org_Name": "name",
        "org_ShippingCity": "city",
        "org_ShippingCountry": "country",
        "org_ShippingState": "region",
        "org_ShippingStreet": None,  # with the postal code: the postal address
        "org_ShippingPostalCode": None,
        "org_ShippingLongitude": "longitude",
        "org_ShippingLatitude": "latitude",
        "org_Phone": "phone",
        "org_Type": "kind",
    }
)
REQUIRED = ("org_Name", "org_ShippingCountry")
# An import column (or model field) back to the HTCDS column it came from, for error reports.
FIELD_COLUMN: Mapping[str, str] = MappingProxyType(
    {
        **{ours: theirs for theirs, ours in COLUMNS.items() if ours is not None},
        "address": "org_ShippingStreet",
        "services": "org_Type",
        "contact_channels": "org_Phone",
    }
)

# HTCDS 2.0 value names of ``org_Type``: the map's kind, and a service where the type says one.
TYPES: Mapping[str, tuple[OrganisationKind, Service | None]] = MappingProxyType(
    {
        "NGO": (OrganisationKind.NGO, None),
        "LawEnforcement": (OrganisationKind.GOVERNMENT, None),
        "HealthServiceOrganisation": (OrganisationKind.OTHER, Service.MEDICAL_CARE),
        "CentralGovernmentOrganisation": (OrganisationKind.GOVERNMENT, None),
        "LocalGovernmentOrganisation": (OrganisationKind.GOVERNMENT, None),
        "ImmigrationService": (OrganisationKind.GOVERNMENT, None),
        "LegalService": (OrganisationKind.OTHER, Service.LEGAL_AID),
        "CorporateBusiness": (OrganisationKind.OTHER, None),
        "SchoolOrCollege": (OrganisationKind.OTHER, Service.EDUCATION_AND_VOCATIONAL_TRAINING),
    }
)

_BY_LOWER = {name.lower(): name for name in COLUMNS}
_COUNTRY_BY_NAME = {
    normalise(name): code for code, names in COUNTRY_NAMES.items() for name in names.all()
}


class TranslationError(Exception):
    """One HTCDS cell that has no meaning here: its column, a rule code and a sentence."""

    def __init__(self, column: str, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.rule = rule
        self.reason = reason


def canonical(column: str) -> str | None:
    """The standard's spelling of an HTCDS organisation column, matched without case."""
    return _BY_LOWER.get(column.strip().lower())


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _country(value: Any) -> Any:
    text = _text(value)
    if text is None:
        return value  # left to the import's own "required" rule
    if len(text) == 2 and is_country(text.upper()):
        return text.upper()
    code = _COUNTRY_BY_NAME.get(normalise(text))
    if code is None:
        raise TranslationError(
            "org_ShippingCountry",
            "INVALID_COUNTRY",
            "org_ShippingCountry must be an ISO 3166-1 alpha-2 code or a known country name",
        )
    return code


def translate(row: Mapping[str, Any]) -> tuple[dict[str, Any], list[TranslationError]]:
    """An HTCDS row (keys in the standard's spelling) as import columns, and what failed."""
    out: dict[str, Any] = {PARTIAL: ()}
    errors: list[TranslationError] = []
    for theirs, ours in COLUMNS.items():
        if ours is not None and ours not in ("kind", "country"):
            out[ours] = row.get(theirs)
    try:
        out["country"] = _country(row.get("org_ShippingCountry"))
    except TranslationError as exc:
        errors.append(exc)
    kind_name = _text(row.get("org_Type"))
    if kind_name is None:
        out["kind"] = OrganisationKind.OTHER.value
        out[PARTIAL] = ("kind",)
    elif kind_name not in TYPES:
        errors.append(
            TranslationError(
                "org_Type",
                "UNKNOWN_HTCDS_TYPE",
                "org_Type must be one of " + ", ".join(TYPES),
            )
        )
    else:
        kind, service = TYPES[kind_name]
        out["kind"] = kind.value
        if service is not None:
            out["services"] = service.value
    street = _text(row.get("org_ShippingStreet"))
    postal = _text(row.get("org_ShippingPostalCode"))
    if street or postal:
        out["address"] = ", ".join(p for p in (street, postal) if p)
    return out, errors
