"""Retention: erase the personal data of cases closed longer ago than the retention period.

``safe-future retention run`` (daily, say) finds, per shelter, the cases closed before the
cut-off date (today minus ``SAFE_FUTURE_RETENTION_YEARS``, default 7) whose personal data is
not erased yet, and erases each through the ordinary command handler, as a system principal
with the tenant-admin role. A dry run lists the same cases and changes nothing; a second run
finds nothing left to do. A case that changed in between (reopened, say) is looked at again,
never erased on stale facts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.auth import Principal, Tenant
from service.db import tenant_transaction
from service.domain.vocabulary import ErasureReason
from service.errors import Conflict
from service.handlers.return_case import Dependencies
from service.privacy.erasure import ERASING_ROLE, erase_client_personal_data

RETENTION_SUBJECT = "safe-future:retention"
RETENTION_REASON = ErasureReason.RETENTION
_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class RetentionCandidate:
    tenant: str
    case_id: uuid.UUID
    closed_on: dt.date
    version: int


@dataclass
class RetentionResult:
    cutoff: dt.date
    candidates: list[RetentionCandidate]
    erased: list[RetentionCandidate] = field(default_factory=list)
    dry_run: bool = False


def retention_cutoff(today: dt.date, years: int) -> dt.date:
    """Cases closed before this date are past retention (29 February falls back a day)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


_CANDIDATES = text(
    "SELECT case_id, closed_on, version FROM return_cases "
    "WHERE closed_on < :cutoff AND NOT personal_data_erased "
    "AND (CAST(:case_id AS uuid) IS NULL OR case_id = :case_id) "
    "ORDER BY closed_on, case_id"
)


async def _candidates_of(
    conn: AsyncConnection, tenant: Tenant, cutoff: dt.date, case_id: uuid.UUID | None = None
) -> list[RetentionCandidate]:
    rows = await conn.execute(_CANDIDATES, {"cutoff": cutoff, "case_id": case_id})
    return [RetentionCandidate(tenant.slug, r.case_id, r.closed_on, r.version) for r in rows]


def _shelters(deps: Dependencies) -> list[Tenant]:
    return sorted((t for t in deps.tenants.values() if t.kind == "shelter"), key=lambda t: t.slug)


async def find_candidates(deps: Dependencies, cutoff: dt.date) -> list[RetentionCandidate]:
    """Every shelter's cases past retention whose personal data is not erased yet."""
    found: list[RetentionCandidate] = []
    for tenant in _shelters(deps):
        async with tenant_transaction(deps.engine, tenant.id) as conn:
            found.extend(await _candidates_of(conn, tenant, cutoff))
    return found


def retention_principal(tenant: Tenant) -> Principal:
    return Principal(RETENTION_SUBJECT, tenant, frozenset({ERASING_ROLE}))


async def _erase(
    deps: Dependencies, tenant: Tenant, candidate: RetentionCandidate, cutoff: dt.date
) -> bool:
    principal = retention_principal(tenant)
    current: RetentionCandidate | None = candidate
    for _ in range(_ATTEMPTS):
        if current is None:
            return False
        try:
            result = await erase_client_personal_data(
                deps,
                principal,
                current.case_id,
                expected_version=current.version,
                reason=RETENTION_REASON,
                idempotency_key=None,
                request_id=f"retention-{uuid.uuid4().hex}",
            )
        except Conflict:
            # The case moved on: erase only if it is still past retention.
            async with tenant_transaction(deps.engine, tenant.id) as conn:
                again = await _candidates_of(conn, tenant, cutoff, current.case_id)
            current = again[0] if again else None
            continue
        return result.version > current.version
    return False


async def run_retention(
    deps: Dependencies, *, today: dt.date, years: int, dry_run: bool
) -> RetentionResult:
    """Erase (or, with ``dry_run``, list) the cases past retention."""
    cutoff = retention_cutoff(today, years)
    candidates = await find_candidates(deps, cutoff)
    result = RetentionResult(cutoff, candidates, dry_run=dry_run)
    if dry_run:
        return result
    by_slug = {t.slug: t for t in _shelters(deps)}
    for candidate in candidates:
        if await _erase(deps, by_slug[candidate.tenant], candidate, cutoff):
            result.erased.append(candidate)
    return result
