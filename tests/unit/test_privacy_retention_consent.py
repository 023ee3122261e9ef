"""Retention's cut-off date, and counting consent state from the read model."""

from __future__ import annotations

import datetime as dt

import pytest

from service.privacy.consent import count_consents, has_active_consent
from service.privacy.retention import retention_cutoff


@pytest.mark.parametrize(
    ("today", "years", "cutoff"),
    [
        (dt.date(2026, 11, 29), 7, dt.date(2019, 11, 29)),
        (dt.date(2028, 2, 29), 7, dt.date(2021, 2, 28)),
        (dt.date(2028, 2, 29), 4, dt.date(2024, 2, 29)),
        (dt.date(2026, 1, 1), 1, dt.date(2025, 1, 1)),
    ],
)
def test_retention_cutoff(today: dt.date, years: int, cutoff: dt.date) -> None:
    assert retention_cutoff(today, years) == cutoff


CONSENTS = [
    {"organisation_id": "o1", "purpose": "REFERRAL", "given_on": "2026-01-01",
     "outside_eea": False, "withdrawn_on": None},
    {"organisation_id": "o2", "purpose": "REINTEGRATION_SUPPORT", "given_on": "2026-01-01",
     "outside_eea": True, "withdrawn_on": None},
    {"organisation_id": "o1", "purpose": "REINTEGRATION_SUPPORT", "given_on": "2026-01-01",
     "outside_eea": False, "withdrawn_on": "2026-02-01"},
]  # fmt: skip


def test_consents_are_counted_by_state_and_purpose() -> None:
    counts = count_consents(CONSENTS)
    assert (counts.active, counts.withdrawn, counts.active_outside_eea) == (2, 1, 1)
    assert counts.active_by_purpose == {"REFERRAL": 1, "REINTEGRATION_SUPPORT": 1}


def test_only_an_unwithdrawn_consent_for_that_organisation_and_purpose_is_active() -> None:
    assert has_active_consent(CONSENTS, "o1", "REFERRAL")
    assert not has_active_consent(CONSENTS, "o1", "REINTEGRATION_SUPPORT")
    assert not has_active_consent(CONSENTS, "o3", "REFERRAL")
