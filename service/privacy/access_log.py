"""The personal-data access log: who was shown which client's personal fields, and when.

One record per case per response that returned that client's personal fields, written in
one statement per response. The table is append-only (triggers refuse UPDATE, DELETE and
TRUNCATE) and tenant-scoped under row-level security. The service role cannot insert into it
directly: it calls ``record_personal_data_access``, which stamps the transaction's tenant, the
actor the transaction declared (``app.actor``), a fresh id and the database's clock, so no
record can be backdated, put in another tenant's log or given a chosen id. A record names
fields, never their values.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class AccessRecord:
    id: uuid.UUID
    accessed_at: dt.datetime
    actor: str
    organisation: str
    roles: tuple[str, ...]
    case_id: uuid.UUID
    fields: tuple[str, ...]
    request_id: str


# The actor is declared for the transaction first (the FROM item runs before the call).
_INSERT = text(
    "SELECT record_personal_data_access(:organisation, CAST(:roles AS text[]), :request_id, "
    "CAST(:cases AS uuid[]), CAST(:fields AS text[])) "
    "FROM (SELECT set_config('app.actor', :actor, true)) AS declared"
)


async def record_reads(
    conn: AsyncConnection,
    *,
    tenant_id: uuid.UUID,
    actor: str,
    organisation: str,
    roles: Iterable[str],
    request_id: str,
    reads: Mapping[uuid.UUID, Iterable[str]],
) -> int:
    """Append one record per case in ``reads`` (case id -> field names), in one statement."""
    entries = [(case_id, sorted(set(fields))) for case_id, fields in reads.items()]
    entries = [(case_id, fields) for case_id, fields in entries if fields]
    if not entries:
        return 0
    written = await conn.scalar(
        _INSERT,
        {
            "actor": actor,
            "organisation": organisation,
            "roles": sorted(roles),
            "request_id": request_id,
            "cases": [case_id for case_id, _ in entries],
            "fields": [",".join(fields) for _, fields in entries],
        },
    )
    if written != len(entries):
        raise RuntimeError("the access log did not record every read")
    return len(entries)


async def list_records(
    conn: AsyncConnection,
    *,
    case_id: uuid.UUID | None,
    actor: str | None,
    limit: int,
    after: tuple[dt.datetime, uuid.UUID] | None,
) -> list[AccessRecord]:
    """A page of the transaction's tenant's records, newest first, keyset-paginated."""
    where = ["true"]
    params: dict[str, Any] = {"limit": limit}
    if case_id is not None:
        where.append("case_id = :case_id")
        params["case_id"] = case_id
    if actor is not None:
        where.append("actor = :actor")
        params["actor"] = actor
    if after is not None:
        where.append("(accessed_at, id) < (:after_at, :after_id)")
        params["after_at"], params["after_id"] = after
    # Assembled from the constant conditions above, never from input.
    sql = (
        "SELECT id, accessed_at, actor, organisation, roles, case_id, fields, request_id "  # noqa: S608
        f"FROM personal_data_access_log WHERE {' AND '.join(where)} "
        "ORDER BY accessed_at DESC, id DESC LIMIT :limit"
    )
    return [
        AccessRecord(
            id=r.id,
            accessed_at=r.accessed_at,
            actor=r.actor,
            organisation=r.organisation,
            roles=tuple(r.roles),
            case_id=r.case_id,
            fields=tuple(r.fields),
            request_id=r.request_id,
        )
        for r in await conn.execute(text(sql), params)
    ]
