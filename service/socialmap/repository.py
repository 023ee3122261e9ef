"""SQL of the social map's organisations (history and mechanisms have their own modules).

The tables are shared by every tenant (no ``tenant_id``, no row-level security): any
connection of the service may read them. Every function takes an open connection; the caller
owns the transaction, so an organisation's change and its history entry commit together.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.types import Text

from service.db import driver
from service.socialmap import history, model
from service.socialmap.history import Actor
from service.socialmap.model import Organisation, OrganisationData
from service.socialmap.search import search_text
from service.socialmap.vocabulary import ChangeKind, OrganisationKind, ReturnSupportLevel, Service

# One column per field of ``OrganisationData``, of the same name.
_DATA_COLUMNS = model.FIELDS
_COLUMNS = (
    "id", "version", *_DATA_COLUMNS, "demo", "retired_at", "retired_reason", "created_at",
    "updated_at", "name_key",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM organisations"  # noqa: S608 (constant columns)

_TEXT_ARRAY = ARRAY(Text)


def _organisation(row: Any) -> Organisation:
    """An organisation from a row of ``_COLUMNS`` (SQLAlchemy's or the driver's)."""
    r = getattr(row, "_mapping", row)
    return Organisation(
        id=r["id"],
        version=r["version"],
        data=model.from_json({c: r[c] for c in _DATA_COLUMNS}),
        demo=r["demo"],
        retired_at=r["retired_at"],
        retired_reason=r["retired_reason"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        name_key=r["name_key"],
    )


def data_params(data: OrganisationData) -> dict[str, Any]:
    """The columns that hold ``data``, plus the derived name key and search text."""
    values = model.to_json(data)
    values["last_verified_on"] = data.last_verified_on
    values["name_key"] = model.name_key(data.name)
    values["search_text"] = search_text(
        data.name,
        data.city,
        data.region,
        data.country,
        extra=[n for n in (data.name_nl, data.local_name) if n],
    )
    return values


def _typed(statement: TextClause) -> TextClause:
    return statement.bindparams(
        bindparam("services", type_=_TEXT_ARRAY),
        bindparam("target_groups", type_=_TEXT_ARRAY),
        bindparam("languages", type_=_TEXT_ARRAY),
        bindparam("contact_channels", type_=JSONB),
    )


_INSERT_COLUMNS = ("id", *_DATA_COLUMNS, "name_key", "search_text", "demo")
_INSERT_VALUES = ", ".join(":" + c for c in _INSERT_COLUMNS)

# An organisation and its CREATED entry in one statement. With ``ON CONFLICT DO NOTHING`` (the
# seed) an organisation that exists already, by id or by name and country, is left alone and
# gets no history entry.
_CREATE_SQL = f"""
WITH created AS (
    INSERT INTO organisations ({", ".join(_INSERT_COLUMNS)}, version, created_at, updated_at)
    VALUES ({_INSERT_VALUES}, 1, now(), now())
    {{conflict}}
    RETURNING id, version
)
INSERT INTO organisation_changes (organisation_id, version, change, actor, actor_organisation,
                                  diff, request_id, idempotency_key, fingerprint, suggestion_id)
SELECT id, version, 'CREATED', :actor, :actor_organisation, :diff, :request_id,
       :idempotency_key, :fingerprint, :suggestion_id
FROM created
RETURNING organisation_id
"""  # noqa: S608 (constant columns)


def _create_statement(conflict: str) -> TextClause:
    return _typed(text(_CREATE_SQL.format(conflict=conflict))).bindparams(
        bindparam("diff", type_=JSONB)
    )


CREATE = _create_statement("")
CREATE_IF_ABSENT = _create_statement("ON CONFLICT DO NOTHING")


def create_params(
    org_id: uuid.UUID,
    data: OrganisationData,
    actor: Actor,
    *,
    demo: bool = False,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
    suggestion_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "suggestion_id": suggestion_id,
        "id": org_id,
        **data_params(data),
        "demo": demo,
        "actor": actor.subject,
        "actor_organisation": actor.organisation,
        "diff": model.diff(None, data),
        "request_id": actor.request_id,
        "idempotency_key": idempotency_key,
        "fingerprint": fingerprint,
    }


async def create(conn: AsyncConnection, params: dict[str, Any]) -> None:
    await conn.execute(CREATE, params)


_UPDATE = _typed(
    text(
        "UPDATE organisations SET "  # noqa: S608 (constant columns)
        + ", ".join(f"{c} = :{c}" for c in (*_DATA_COLUMNS, "name_key", "search_text"))
        + ", version = version + 1, updated_at = now() "
        "WHERE id = :id AND version = :expected_version AND retired_at IS NULL "
        "RETURNING version"
    )
)

_RETIRE = text(
    "UPDATE organisations SET retired_at = now(), retired_reason = :reason, "
    "version = version + 1, updated_at = now() "
    "WHERE id = :id AND version = :expected_version AND retired_at IS NULL RETURNING version"
)


async def update(
    conn: AsyncConnection,
    org_id: uuid.UUID,
    expected_version: int,
    data: OrganisationData,
    changes: dict[str, Any],
    actor: Actor,
    *,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
    suggestion_id: uuid.UUID | None = None,
) -> int | None:
    """Write ``data`` over an active organisation at ``expected_version``; its new version.

    ``None`` when the organisation is not at that version (or is retired): nothing written.
    """
    row = (
        await conn.execute(
            _UPDATE, {"id": org_id, "expected_version": expected_version, **data_params(data)}
        )
    ).first()
    if row is None:
        return None
    version = int(row[0])
    await history.record(
        conn, org_id, version, ChangeKind.UPDATED, changes, actor, None, idempotency_key,
        fingerprint, suggestion_id,
    )  # fmt: skip
    return version


_CONFIRM = text(
    "UPDATE organisations SET last_verified_on = :today, version = version + 1, "
    "updated_at = now() WHERE id = :id AND version = :expected_version AND retired_at IS NULL "
    "RETURNING version"
)


async def confirm(
    conn: AsyncConnection,
    current: Organisation,
    today: dt.date,
    actor: Actor,
) -> int | None:
    """Mark an active organisation as checked on ``today``; its new version, else ``None``."""
    row = (
        await conn.execute(
            _CONFIRM, {"id": current.id, "expected_version": current.version, "today": today}
        )
    ).first()
    if row is None:
        return None
    version = int(row[0])
    before = current.data.last_verified_on
    changes = {
        "last_verified_on": {
            "from": before.isoformat() if before else None,
            "to": today.isoformat(),
        }
    }
    await history.record(
        conn, current.id, version, ChangeKind.CONFIRMED, changes, actor, None, None, None
    )
    return version


async def retire(
    conn: AsyncConnection,
    org_id: uuid.UUID,
    expected_version: int,
    reason: str,
    actor: Actor,
    *,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
) -> int | None:
    """Retire an active organisation at ``expected_version``; its new version, else ``None``."""
    row = (
        await conn.execute(
            _RETIRE, {"id": org_id, "expected_version": expected_version, "reason": reason}
        )
    ).first()
    if row is None:
        return None
    version = int(row[0])
    changes = {"active": {"from": True, "to": False}}
    await history.record(
        conn, org_id, version, ChangeKind.RETIRED, changes, actor, reason, idempotency_key,
        fingerprint,
    )  # fmt: skip
    return version


# --- reading --------------------------------------------------------------------------------


async def get(
    conn: AsyncConnection, org_id: uuid.UUID, *, for_update: bool = False
) -> Organisation | None:
    """One organisation, retired or not (a command's check of the map reads it on the driver
    connection: ``service.db.driver``)."""
    row = await (await driver(conn)).fetchrow(_GET_FOR_UPDATE if for_update else _GET, org_id)
    return None if row is None else _organisation(row)


_GET = f"{_SELECT} WHERE id = $1"
_GET_FOR_UPDATE = f"{_GET} FOR UPDATE"
_GET_MANY = f"{_SELECT} WHERE id = ANY($1::uuid[])"


async def get_many(
    conn: AsyncConnection, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Organisation]:
    """Organisations by id, retired ones included, in one statement (for a DataLoader)."""
    rows = await (await driver(conn)).fetch(_GET_MANY, list(dict.fromkeys(ids)))
    return {o.id: o for o in map(_organisation, rows)}


async def find_by_keys(
    conn: AsyncConnection, keys: Iterable[tuple[str, str]], *, for_update: bool = False
) -> dict[tuple[str, str], Organisation]:
    """Organisations by (country, normalised name), retired ones included."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    lock = " FOR UPDATE" if for_update else ""
    rows = await conn.execute(
        text(
            f"{_SELECT} WHERE (country, name_key) IN "  # noqa: S608 (constant columns)
            "(SELECT * FROM unnest(CAST(:countries AS text[]), CAST(:names AS text[])))"
            f" ORDER BY id{lock}"
        ),
        {"countries": [k[0] for k in wanted], "names": [k[1] for k in wanted]},
    )
    return {(o.data.country, o.name_key): o for o in map(_organisation, rows)}


@dataclass(frozen=True, slots=True)
class OrganisationFilter:
    """Every given criterion must hold."""

    country: str | None = None
    services: tuple[Service, ...] = ()  # offers every one of them
    languages: tuple[str, ...] = ()  # speaks at least one of them
    kind: OrganisationKind | None = None
    tsquery: str | None = None
    include_retired: bool = False
    near: Near | None = None  # within the radius, nearest first
    stale_before: dt.date | None = None  # only entries verified before (or never): stale ones


@dataclass(frozen=True, slots=True)
class Near:
    latitude: float
    longitude: float
    radius_km: float


EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)
# Great-circle distance (haversine) from the query point; NULL without coordinates.
_DISTANCE = (
    "(2 * :earth * asin(sqrt(least(1.0, power(sin(radians(latitude - :near_lat) / 2), 2) "
    "+ cos(radians(:near_lat)) * cos(radians(latitude)) "
    "* power(sin(radians(longitude - :near_lon) / 2), 2)))))"
)


def _where(flt: OrganisationFilter, params: dict[str, Any]) -> list[str]:
    where = ["true"]
    if not flt.include_retired:
        where.append("retired_at IS NULL")
    if flt.country is not None:
        where.append("country = :country")
        params["country"] = flt.country
    if flt.services:
        where.append("services @> CAST(:services AS text[])")
        params["services"] = [s.value for s in flt.services]
    if flt.languages:
        where.append("languages && CAST(:languages AS text[])")
        params["languages"] = list(flt.languages)
    if flt.kind is not None:
        where.append("kind = :kind")
        params["kind"] = flt.kind.value
    if flt.tsquery is not None:
        where.append("to_tsvector('simple', search_text) @@ to_tsquery('simple', :tsquery)")
        params["tsquery"] = flt.tsquery
    if flt.stale_before is not None:
        where.append("(last_verified_on IS NULL OR last_verified_on < :stale_before)")
        params["stale_before"] = flt.stale_before
    if flt.near is not None:
        where.append(f"latitude IS NOT NULL AND {_DISTANCE} <= :radius")
        params.update(
            earth=EARTH_RADIUS_KM,
            near_lat=flt.near.latitude,
            near_lon=flt.near.longitude,
            radius=flt.near.radius_km,
        )
    return where


async def list_page(
    conn: AsyncConnection,
    flt: OrganisationFilter,
    limit: int,
    after: tuple[str | float, uuid.UUID] | None,
) -> list[tuple[Organisation, float | None]]:
    """A page of organisations with their distance from ``flt.near`` (else ``None``).

    Ordered by normalised name, keyset-paginated on (name, id); with ``near``, nearest first,
    keyset-paginated on (distance, id).
    """
    params: dict[str, Any] = {"limit": limit}
    where = _where(flt, params)
    order, distance = "name_key, id", "NULL::float8"
    if flt.near is not None:
        order, distance = f"{_DISTANCE}, id", _DISTANCE
    if after is not None:
        where.append(f"({order}) > (:after_key, :after_id)")
        params["after_key"], params["after_id"] = after
    sql = (
        f"SELECT {', '.join(_COLUMNS)}, {distance} AS distance_km FROM organisations "  # noqa: S608
        f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT :limit"
    )
    return [(_organisation(r), r.distance_km) for r in await conn.execute(text(sql), params)]


async def stale(conn: AsyncConnection, fresh_from: dt.date, limit: int = 500) -> list[Organisation]:
    """Active organisations verified before ``fresh_from`` (or never), oldest first."""
    rows = await conn.execute(
        text(
            f"{_SELECT} WHERE retired_at IS NULL AND (last_verified_on IS NULL "
            "OR last_verified_on < :fresh_from) "
            "ORDER BY last_verified_on NULLS FIRST, name_key, id LIMIT :limit"
        ),
        {"fresh_from": fresh_from, "limit": limit},
    )
    return [_organisation(r) for r in rows]


MAX_MAP_FEATURES = 20_000


async def located(conn: AsyncConnection, flt: OrganisationFilter) -> list[Organisation]:
    """Every organisation with coordinates that passes ``flt`` (for the GeoJSON map)."""
    params: dict[str, Any] = {"limit": MAX_MAP_FEATURES}
    where = [*_where(flt, params), "latitude IS NOT NULL"]
    sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY name_key, id LIMIT :limit"
    return [_organisation(r) for r in await conn.execute(text(sql), params)]


async def return_support_organisations(
    conn: AsyncConnection, level: ReturnSupportLevel | None
) -> list[Organisation]:
    """Active Dutch organisations that support return, at ``level`` or any."""
    rows = await conn.execute(
        text(
            f"{_SELECT} WHERE retired_at IS NULL AND country = 'NL' "
            "AND return_support IS NOT NULL "
            "AND (CAST(:level AS text) IS NULL OR return_support = :level) "
            "ORDER BY return_support, name_key, id"
        ),
        {"level": level.value if level is not None else None},
    )
    return [_organisation(r) for r in rows]


async def suggestions(
    conn: AsyncConnection,
    countries: Sequence[str],
    services: Sequence[Service],
    limit: int,
    fresh_from: dt.date,
) -> dict[str, list[Organisation]]:
    """Per country, up to ``limit`` active organisations offering any of ``services``.

    Fresh ones (verified on or after ``fresh_from``) come before stale ones; then those
    offering more of the services, then by name. One statement for any number of countries
    (for a DataLoader).
    """
    rows = await conn.execute(
        text(
            f"""
            SELECT {", ".join(_COLUMNS)} FROM (
                SELECT o.*, row_number() OVER (
                    PARTITION BY o.country
                    ORDER BY coalesce(o.last_verified_on >= :fresh_from, false) DESC,
                    cardinality(ARRAY(
                        SELECT unnest(o.services) INTERSECT
                        SELECT unnest(CAST(:services AS text[]))
                    )) DESC, o.name_key, o.id
                ) AS rank
                FROM organisations o
                WHERE o.retired_at IS NULL AND o.country = ANY(CAST(:countries AS text[]))
                  AND o.services && CAST(:services AS text[])
            ) ranked
            WHERE rank <= :limit
            ORDER BY country, rank
            """  # noqa: S608 (constant columns)
        ),
        {
            "countries": list(countries),
            "services": [s.value for s in services],
            "limit": limit,
            "fresh_from": fresh_from,
        },
    )
    out: dict[str, list[Organisation]] = {c: [] for c in countries}
    for row in rows:
        org = _organisation(row)
        out[org.data.country].append(org)
    return out


@dataclass(frozen=True, slots=True)
class CountrySummary:
    code: str
    active_organisations: int
    has_referral_mechanism: bool


async def countries(conn: AsyncConnection) -> list[CountrySummary]:
    """Every country with an organisation or a referral mechanism, with its active count."""
    rows = await conn.execute(
        text(
            """
            SELECT code, coalesce(o.active, 0) AS active, m.country IS NOT NULL AS mechanism
            FROM (SELECT country AS code FROM organisations
                  UNION SELECT country FROM referral_mechanisms) codes
            LEFT JOIN (SELECT country, count(*) FILTER (WHERE retired_at IS NULL) AS active
                       FROM organisations GROUP BY country) o ON o.country = codes.code
            LEFT JOIN referral_mechanisms m ON m.country = codes.code
            ORDER BY code
            """
        )
    )
    return [CountrySummary(r.code, int(r.active), bool(r.mechanism)) for r in rows]
