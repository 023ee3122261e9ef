"""A return case in the field and value names of HTCDS 2.0 (pure: no I/O).

``record`` turns one row of the case read model (plus its partner organisations and, when the
caller may see them, the client's personal fields) into a mapping keyed by HTCDS field names.
Only facts that map are filled; ``docs/htcds.md`` lists every HTCDS field and where it comes
from here, or why it is not recorded. Multi-select values are lists (``;``-joined in CSV).

Without personal fields the record is pseudonymous: no name, no date of birth. The case is
identified by ``caseId``, the service's own global id (not an HTCDS field: HTCDS leaves the
record key to the system that holds the case).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

__all__ = ["CSV_COLUMNS", "FIELDS", "PERSONAL_FIELDS", "csv_header", "csv_rows", "record"]

GENDER: Mapping[str, str] = MappingProxyType(
    {"FEMALE": "Feminine", "MALE": "Masculine", "OTHER": "NonConforming",
     "UNKNOWN": "NonSpecifiedUnknown"}
)  # fmt: skip
EXPLOITATION: Mapping[str, str] = MappingProxyType(
    {
        "SEXUAL_EXPLOITATION": "SexualExploitation",
        "FORCED_LABOUR": "ForcedLabour",
        "FORCED_CRIMINAL_ACTIVITY": "Other",  # HTCDS has no value for forced criminality
        "FORCED_BEGGING": "ForcedBegging",
        "SERVITUDE": "Servitude",
        "FORCED_MARRIAGE": "ForcedMarriage",
        "ORGAN_REMOVAL": "OrganRemoval",
        "OTHER": "Other",
    }
)
# Referral purpose here -> HTCDS reason for an outgoing referral.
REFERRAL_REASON: Mapping[str, str] = MappingProxyType(
    {
        "REFERRAL": "AdditionalServicesRequired",
        "REINTEGRATION_SUPPORT": "MigrationOrChangeOfLocation",
        "FOLLOW_UP_MONITORING": "MigrationOrChangeOfLocation",
        "TRANSFER": "MigrationOrChangeOfLocation",
    }
)
# The map's kinds that have exactly one HTCDS organisation type.
ORG_TYPE: Mapping[str, str] = MappingProxyType({"NGO": "NGO"})

PERSONAL_FIELDS = ("prs_FirstName", "prs_Birthdate")
FIELDS = (
    "prs_Gender", "prs_Citizenship", "prs_PrimaryLanguage", "prs_SecondaryLanguage",
    "vic_TypeOfExploitation", "cas_Status", "cas_ReasonForCaseClosure",
    "cas_IncomingReferralDate", "cas_ReferredOrganisation", "cas_OutgoingReferralDate",
    "cas_ReasonForOutgoingReferral",
)  # fmt: skip
ORG_FIELDS = (
    "org_Name", "org_Type", "org_ShippingCountry", "org_ShippingCity", "org_ShippingState",
    "org_ShippingLatitude", "org_ShippingLongitude",
)  # fmt: skip
CSV_COLUMNS = ("caseId", *PERSONAL_FIELDS, *FIELDS)


def _status(row: Mapping[str, Any]) -> str:
    phase = row["phase"]
    if phase == "CLOSED":
        return "ClosedReferred" if row.get("closing_reason") == "TRANSFERRED" else "Closed"
    return "FollowUp" if phase == "FOLLOW_UP" else "Active"


def organisation(org: Mapping[str, Any]) -> dict[str, Any]:
    """A partner organisation of the social map in HTCDS ``org_`` fields."""
    return {
        "org_Name": org["name"],
        "org_Type": ORG_TYPE.get(org["kind"]),
        "org_ShippingCountry": org["country"],
        "org_ShippingCity": org.get("city"),
        "org_ShippingState": org.get("region"),
        "org_ShippingLatitude": org.get("latitude"),
        "org_ShippingLongitude": org.get("longitude"),
    }


def _iso(value: Any) -> str | None:
    return None if value is None else str(value)[:10]


def record(
    case_id: str,
    row: Mapping[str, Any],
    partners: Mapping[str, Mapping[str, Any]],
    personal: Mapping[str, Any] | None,
    *,
    with_personal: bool,
) -> dict[str, Any]:
    """One case as HTCDS fields; ``partners`` by organisation id (as text).

    With ``with_personal`` the personal fields are present (``None`` once erased or never
    given); without it they are absent altogether.
    """
    languages: Sequence[str] = row.get("languages") or ()
    referrals = sorted(row.get("referrals") or (), key=lambda r: r["contacted_on"])
    latest = referrals[-1] if referrals else None
    latest_org = partners.get(latest["organisation_id"]) if latest else None
    out: dict[str, Any] = {"caseId": case_id}
    if with_personal:
        found = personal or {}
        out["prs_FirstName"] = found.get("full_name")
        out["prs_Birthdate"] = found.get("date_of_birth")
    out.update(
        {
            "prs_Gender": GENDER.get(row.get("gender") or ""),
            "prs_Citizenship": [row["nationality"]] if row.get("nationality") else [],
            "prs_PrimaryLanguage": languages[0] if languages else None,
            "prs_SecondaryLanguage": languages[1] if len(languages) > 1 else None,
            "vic_TypeOfExploitation": sorted(
                {EXPLOITATION[f] for f in row.get("exploitation_forms") or ()}
            ),
            "cas_Status": _status(row),
            "cas_ReasonForCaseClosure": row.get("closing_reason"),
            "cas_IncomingReferralDate": _iso(row.get("intake_date")),
            "cas_ReferredOrganisation": latest_org["name"] if latest_org else None,
            "cas_OutgoingReferralDate": latest["contacted_on"] if latest else None,
            "cas_ReasonForOutgoingReferral": (
                REFERRAL_REASON.get(latest["purpose"]) if latest else None
            ),
            "referrals": [
                {
                    "cas_ReferredOrganisation": (partners.get(r["organisation_id"]) or {}).get(
                        "name"
                    ),
                    "cas_OutgoingReferralDate": r["contacted_on"],
                    "cas_ReasonForOutgoingReferral": REFERRAL_REASON.get(r["purpose"]),
                }
                for r in referrals
            ],
            "organisations": [
                organisation(partners[i]) for i in sorted(partners) if partners[i] is not None
            ],
        }
    )
    return out


def _columns(with_personal: bool) -> tuple[str, ...]:
    return CSV_COLUMNS if with_personal else ("caseId", *FIELDS)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return _safe(";".join(value))
    return "" if value is None else _safe(str(value))


def csv_header(with_personal: bool) -> str:
    return csv_rows([{c: c for c in _columns(with_personal)}], with_personal)


def csv_rows(records: Sequence[Mapping[str, Any]], with_personal: bool) -> str:
    """CSV lines (CRLF) of ``records``, one per record, in the export's columns."""
    columns = _columns(with_personal)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([_cell(rec.get(c)) for c in columns] for rec in records)
    return buffer.getvalue()


def _safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
