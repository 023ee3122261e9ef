"""Consent state, for whoever needs to count it (reports) or show it.

Consent is given and withdrawn per partner organisation and purpose as events
(``ConsentGiven`` / ``ConsentWithdrawn``); the decider refuses to share personal data with a
partner without an active consent for that organisation and purpose (rule
``CONSENT_REQUIRED``). The read model ``return_cases.consents`` lists every consent of a case
as ``{organisation_id, purpose, given_on, outside_eea, withdrawn_on}``; the helpers here read
that list. Consent records hold no personal data: they may be counted across tenants.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

ConsentJson = Mapping[str, Any]


def is_active(consent: ConsentJson) -> bool:
    return consent.get("withdrawn_on") is None


def active_consents(consents: Iterable[ConsentJson]) -> list[ConsentJson]:
    return [c for c in consents if is_active(c)]


def has_active_consent(consents: Iterable[ConsentJson], organisation_id: str, purpose: str) -> bool:
    return any(
        c["organisation_id"] == organisation_id and c["purpose"] == purpose
        for c in active_consents(consents)
    )


@dataclass(frozen=True, slots=True)
class ConsentCounts:
    """Counts over consents: active and withdrawn, active ones by purpose and outside the EEA."""

    active: int
    withdrawn: int
    active_by_purpose: Mapping[str, int]
    active_outside_eea: int


def count_consents(consents: Iterable[ConsentJson]) -> ConsentCounts:
    listed = list(consents)
    active = active_consents(listed)
    return ConsentCounts(
        active=len(active),
        withdrawn=len(listed) - len(active),
        active_by_purpose=dict(Counter(str(c["purpose"]) for c in active)),
        active_outside_eea=sum(1 for c in active if c.get("outside_eea")),
    )


async def tenant_consent_counts(conn: AsyncConnection) -> ConsentCounts:
    """The counts over every case of the transaction's tenant, in one statement."""
    rows = await conn.execute(
        text("SELECT c FROM return_cases, jsonb_array_elements(consents) AS c")
    )
    return count_consents(r[0] for r in rows)
