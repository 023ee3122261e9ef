"""The append-only history of organisations, and idempotency receipts kept in it.

Every change of an organisation (created, updated, retired) is one row of
``organisation_changes``: who, when, the new version and a diff per field. A trigger rejects
``UPDATE``, ``DELETE`` and ``TRUNCATE`` on that table for every role, the owner included.
A change made with an idempotency key keeps the key and a fingerprint of the request, so a
repeat is recognised and answered with the first result.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncConnection

from service.socialmap.vocabulary import ChangeKind


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: a subject of an organisation, in a request (or a command line)."""

    subject: str
    organisation: str
    request_id: str | None = None


_RECORD = text(
    "INSERT INTO organisation_changes (organisation_id, version, change, actor, "
    "actor_organisation, diff, reason, request_id, idempotency_key, fingerprint, suggestion_id) "
    "VALUES (:organisation_id, :version, :change, :actor, :actor_organisation, :diff, :reason, "
    ":request_id, :idempotency_key, :fingerprint, :suggestion_id)"
).bindparams(bindparam("diff", type_=JSONB))


async def record(
    conn: AsyncConnection,
    org_id: uuid.UUID,
    version: int,
    change: ChangeKind,
    changes: dict[str, Any],
    actor: Actor,
    reason: str | None,
    idempotency_key: str | None,
    fingerprint: str | None,
    suggestion_id: uuid.UUID | None = None,
) -> None:
    await conn.execute(
        _RECORD,
        {
            "organisation_id": org_id,
            "version": version,
            "change": change.value,
            "actor": actor.subject,
            "actor_organisation": actor.organisation,
            "diff": changes,
            "reason": reason,
            "request_id": actor.request_id,
            "idempotency_key": idempotency_key,
            "fingerprint": fingerprint,
            "suggestion_id": suggestion_id,
        },
    )


@dataclass(frozen=True, slots=True)
class Change:
    organisation_id: uuid.UUID
    version: int
    change: ChangeKind
    actor: str
    actor_organisation: str
    changed_at: dt.datetime
    diff: dict[str, Any]
    reason: str | None
    suggestion_id: uuid.UUID | None = None


_HISTORY = text(
    "SELECT organisation_id, version, change, actor, actor_organisation, changed_at, diff, "
    "reason, suggestion_id FROM organisation_changes WHERE organisation_id = ANY(:ids) "
    "ORDER BY organisation_id, version"
).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))


async def history(conn: AsyncConnection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Change]]:
    """The changes of several organisations, oldest first, in one statement."""
    out: dict[uuid.UUID, list[Change]] = {i: [] for i in ids}
    for r in await conn.execute(_HISTORY, {"ids": list(dict.fromkeys(ids))}):
        out[r.organisation_id].append(
            Change(
                r.organisation_id,
                r.version,
                ChangeKind(r.change),
                r.actor,
                r.actor_organisation,
                r.changed_at,
                r.diff,
                r.reason,
                r.suggestion_id,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Receipt:
    organisation_id: uuid.UUID
    version: int
    fingerprint: str | None


async def find_receipt(conn: AsyncConnection, actor_organisation: str, key: str) -> Receipt | None:
    """The change an earlier request with this idempotency key made, if any."""
    row = (
        await conn.execute(
            text(
                "SELECT organisation_id, version, fingerprint FROM organisation_changes "
                "WHERE actor_organisation = :o AND idempotency_key = :k"
            ),
            {"o": actor_organisation, "k": key},
        )
    ).first()
    return None if row is None else Receipt(row[0], row[1], row[2])
