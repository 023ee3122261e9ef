"""SQL of national referral mechanisms: one flowchart per country, versioned with its history.

``referral_mechanisms`` holds the current version of each country's mechanism (its graph as
``jsonb``); ``referral_mechanism_changes`` is the append-only history, one row per version with
who, when, why, the suggestion it credits (if any) and a snapshot of the mechanism after the
change. Both are shared data (no tenant, no row-level security); the caller owns the
transaction, so a change and its history row commit together.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from service.socialmap import flowchart
from service.socialmap.flowchart import Graph
from service.socialmap.history import Actor
from service.socialmap.vocabulary import ChangeKind

__all__ = [
    "CREATE_MECHANISM_IF_ABSENT",
    "Mechanism",
    "MechanismChange",
    "MechanismData",
    "changes",
    "create",
    "get",
    "mechanism_params",
    "write",
]


@dataclass(frozen=True, slots=True)
class MechanismData:
    """What an editor states about a country's mechanism."""

    title_en: str
    title_nl: str | None
    notes_en: str | None
    notes_nl: str | None
    graph: Graph
    last_verified_on: dt.date | None


@dataclass(frozen=True, slots=True)
class Mechanism:
    country: str
    version: int
    data: MechanismData
    retired_at: dt.datetime | None
    retired_reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def active(self) -> bool:
        return self.retired_at is None


@dataclass(frozen=True, slots=True)
class MechanismChange:
    country: str
    version: int
    change: ChangeKind
    actor: str
    actor_organisation: str
    changed_at: dt.datetime
    reason: str | None
    suggestion_id: uuid.UUID | None
    snapshot: dict[str, Any]


def data_json(data: MechanismData) -> dict[str, Any]:
    return {
        "title_en": data.title_en,
        "title_nl": data.title_nl,
        "notes_en": data.notes_en,
        "notes_nl": data.notes_nl,
        "graph": flowchart.to_json(data.graph),
        "last_verified_on": data.last_verified_on.isoformat() if data.last_verified_on else None,
    }


_COLUMNS = (
    "country, version, title_en, title_nl, notes_en, notes_nl, graph, last_verified_on, "
    "retired_at, retired_reason, created_at, updated_at"
)


def _mechanism(row: Any) -> Mechanism:
    return Mechanism(
        country=row.country,
        version=row.version,
        data=MechanismData(
            title_en=row.title_en,
            title_nl=row.title_nl,
            notes_en=row.notes_en,
            notes_nl=row.notes_nl,
            graph=flowchart.from_json(row.graph),
            last_verified_on=row.last_verified_on,
        ),
        retired_at=row.retired_at,
        retired_reason=row.retired_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def get(conn: AsyncConnection, country: str, *, for_update: bool = False) -> Mechanism | None:
    lock = " FOR UPDATE" if for_update else ""
    row = (
        await conn.execute(
            text(f"SELECT {_COLUMNS} FROM referral_mechanisms WHERE country = :c{lock}"),  # noqa: S608
            {"c": country},
        )
    ).first()
    return None if row is None else _mechanism(row)


async def all_mechanisms(conn: AsyncConnection) -> list[Mechanism]:
    rows = await conn.execute(
        text(f"SELECT {_COLUMNS} FROM referral_mechanisms ORDER BY country")  # noqa: S608
    )
    return [_mechanism(r) for r in rows]


# A mechanism and its first history row in one statement; with ``ON CONFLICT DO NOTHING`` (the
# seed) a country that has a mechanism already keeps it and gets no history row.
_CREATE_SQL = """
WITH created AS (
    INSERT INTO referral_mechanisms (country, version, title_en, title_nl, notes_en, notes_nl,
                                     graph, last_verified_on, created_at, updated_at)
    VALUES (:country, 1, :title_en, :title_nl, :notes_en, :notes_nl, :graph,
            :last_verified_on, now(), now())
    {conflict}
    RETURNING country, version
)
INSERT INTO referral_mechanism_changes (country, version, change, actor, actor_organisation,
                                        reason, suggestion_id, request_id, snapshot)
SELECT country, version, 'CREATED', :actor, :actor_organisation, :reason, :suggestion_id,
       :request_id, :snapshot
FROM created
RETURNING country
"""


def _create_statement(conflict: str) -> Any:
    return text(_CREATE_SQL.format(conflict=conflict)).bindparams(
        bindparam("graph", type_=JSONB), bindparam("snapshot", type_=JSONB)
    )


CREATE = _create_statement("")
CREATE_MECHANISM_IF_ABSENT = _create_statement("ON CONFLICT (country) DO NOTHING")


def mechanism_params(
    country: str,
    data: MechanismData,
    actor: Actor,
    *,
    reason: str | None = None,
    suggestion_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    as_json = data_json(data)
    return {
        "country": country,
        "title_en": data.title_en,
        "title_nl": data.title_nl,
        "notes_en": data.notes_en,
        "notes_nl": data.notes_nl,
        "graph": as_json["graph"],
        "last_verified_on": data.last_verified_on,
        "actor": actor.subject,
        "actor_organisation": actor.organisation,
        "reason": reason,
        "suggestion_id": suggestion_id,
        "request_id": actor.request_id,
        "snapshot": as_json,
    }


async def create(conn: AsyncConnection, country: str, data: MechanismData, actor: Actor) -> None:
    await conn.execute(CREATE, mechanism_params(country, data, actor))


_WRITE = text(
    """
    UPDATE referral_mechanisms SET version = version + 1, title_en = :title_en,
        title_nl = :title_nl, notes_en = :notes_en, notes_nl = :notes_nl, graph = :graph,
        last_verified_on = :last_verified_on, updated_at = now(),
        retired_at = CASE WHEN :retire THEN now() ELSE retired_at END,
        retired_reason = CASE WHEN :retire THEN :reason ELSE retired_reason END
    WHERE country = :country AND version = :expected_version AND retired_at IS NULL
    RETURNING version
    """
).bindparams(bindparam("graph", type_=JSONB))

_RECORD = text(
    "INSERT INTO referral_mechanism_changes (country, version, change, actor, "
    "actor_organisation, reason, suggestion_id, request_id, snapshot) VALUES (:country, "
    ":version, :change, :actor, :actor_organisation, :reason, :suggestion_id, :request_id, "
    ":snapshot)"
).bindparams(bindparam("snapshot", type_=JSONB))


async def write(
    conn: AsyncConnection,
    country: str,
    expected_version: int,
    data: MechanismData,
    change: ChangeKind,
    actor: Actor,
    *,
    reason: str | None = None,
    suggestion_id: uuid.UUID | None = None,
) -> int | None:
    """Write a new version of an active mechanism; its version, or ``None`` when stale."""
    params = mechanism_params(country, data, actor, reason=reason, suggestion_id=suggestion_id)
    row = (
        await conn.execute(
            _WRITE,
            {
                **params,
                "expected_version": expected_version,
                "retire": change is ChangeKind.RETIRED,
            },
        )
    ).first()
    if row is None:
        return None
    version = int(row[0])
    await conn.execute(_RECORD, {**params, "version": version, "change": change.value})
    return version


async def changes(conn: AsyncConnection, country: str) -> list[MechanismChange]:
    """Every version of a country's mechanism, oldest first."""
    rows = await conn.execute(
        text(
            "SELECT country, version, change, actor, actor_organisation, changed_at, reason, "
            "suggestion_id, snapshot FROM referral_mechanism_changes WHERE country = :c "
            "ORDER BY version"
        ),
        {"c": country},
    )
    return [
        MechanismChange(
            r.country,
            r.version,
            ChangeKind(r.change),
            r.actor,
            r.actor_organisation,
            r.changed_at,
            r.reason,
            r.suggestion_id,
            r.snapshot,
        )
        for r in rows
    ]
