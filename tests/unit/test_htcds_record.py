"""One case as an HTCDS record: every mapped value, and nothing personal without the flag."""

from __future__ import annotations

import csv
import datetime as dt
import io

from service.exports import htcds

ROW = {
    "phase": "CLOSED",
    "closing_reason": "TRANSFERRED",
    "gender": "FEMALE",
    "nationality": "NG",
    "languages": ["en", "yo"],
    "exploitation_forms": ["FORCED_CRIMINAL_ACTIVITY", "SEXUAL_EXPLOITATION", "OTHER"],
    "intake_date": dt.date(2026, 1, 5),
    "referrals": [
        {"organisation_id": "b", "purpose": "REINTEGRATION_SUPPORT", "contacted_on": "2026-03-01"},
        {"organisation_id": "a", "purpose": "REFERRAL", "contacted_on": "2026-02-01"},
    ],
}
PARTNERS = {
    "a": {"name": "=cmd|' /C calc'!A0", "kind": "NGO", "country": "NG", "city": "Lagos"},
    "b": {"name": "IOM Nigeria", "kind": "INTERNATIONAL_ORGANISATION", "country": "NG"},
}


def test_a_case_maps_to_the_standards_values() -> None:
    rec = htcds.record("c1", ROW, PARTNERS, None, with_personal=False)
    assert rec["prs_Gender"] == "Feminine"
    assert rec["prs_Citizenship"] == ["NG"]
    assert (rec["prs_PrimaryLanguage"], rec["prs_SecondaryLanguage"]) == ("en", "yo")
    assert rec["vic_TypeOfExploitation"] == ["Other", "SexualExploitation"]
    assert rec["cas_Status"] == "ClosedReferred"
    assert rec["cas_IncomingReferralDate"] == "2026-01-05"
    assert rec["cas_ReferredOrganisation"] == "IOM Nigeria"  # the latest referral
    assert rec["cas_ReasonForOutgoingReferral"] == "MigrationOrChangeOfLocation"
    assert [r["cas_OutgoingReferralDate"] for r in rec["referrals"]] == ["2026-02-01", "2026-03-01"]
    assert [o["org_Type"] for o in rec["organisations"]] == ["NGO", None]
    assert "prs_FirstName" not in rec


def test_personal_fields_appear_only_with_the_flag() -> None:
    personal = {"full_name": "A Name", "date_of_birth": "2001-02-03", "notes": "kept out"}
    rec = htcds.record("c1", ROW, PARTNERS, personal, with_personal=True)
    assert (rec["prs_FirstName"], rec["prs_Birthdate"]) == ("A Name", "2001-02-03")
    assert "kept out" not in str(rec)
    erased = htcds.record("c1", ROW, PARTNERS, None, with_personal=True)
    assert (erased["prs_FirstName"], erased["prs_Birthdate"]) == (None, None)


def test_a_csv_cell_never_starts_a_formula() -> None:
    rows = [{**ROW, "referrals": [ROW["referrals"][1]]}]
    rec = htcds.record("c1", rows[0], PARTNERS, None, with_personal=False)
    text = htcds.csv_header(False) + htcds.csv_rows([rec], False)
    (parsed,) = list(csv.DictReader(io.StringIO(text)))
    assert parsed["cas_ReferredOrganisation"].startswith("'=")
    assert parsed["vic_TypeOfExploitation"] == "Other;SexualExploitation"
