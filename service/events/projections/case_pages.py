"""A page of ``return_cases`` as one statement whose result is the response's JSON.

The shape of what is asked (``Shape``: response keys in order, each a leaf, a nested
selection or a constant type name) is turned once into one ``SELECT`` that reads only the
needed columns, builds nested partner organisations and timelines in correlated subqueries
and returns the JSON text, values already in their output form: enum names (the stored
codes are the names), dates as ISO days, global IDs and cursors encoded as
``service.schema.ids`` encodes them (base64url of ``Type:uuid`` and ``c:day:uuid``, no
padding). It runs in the caller's tenant transaction, so row-level security applies.

The vocabulary of leaves and nested selections is the read model's, not GraphQL's: the
schema side maps its fields onto it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.events.projections.return_cases import CaseFilter, page_conditions


@dataclass(frozen=True, slots=True)
class Typename:
    """A constant string (a GraphQL ``__typename``)."""

    name: str


@dataclass(frozen=True, slots=True)
class Leaf:
    """One value of the level it belongs to (see ``LEAVES``)."""

    what: str


@dataclass(frozen=True, slots=True)
class Nested:
    """A nested object or list (see ``NESTED``), with its own selection."""

    what: str
    shape: Shape


Item = Typename | Leaf | Nested
Shape = tuple[tuple[str, Item], ...]


def _b64(expression: str) -> str:
    """base64url without padding or line breaks, as ``service.schema.ids._b64``."""
    return (
        f"rtrim(translate(encode(convert_to({expression}, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')"
    )


def _day(column: str) -> str:
    return f"to_char({column}, 'YYYY-MM-DD')"


def _instant(column: str) -> str:
    """A ``timestamptz`` as Python's ``isoformat()`` of the driver's UTC datetime: seconds,
    microseconds only when there are any, ``+00:00``."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') "
        f"|| CASE WHEN extract(microseconds FROM {utc})::bigint % 1000000 = 0 THEN '' "
        f"ELSE to_char({utc}, '.US') END || '+00:00' END"
    )


_CURSOR = _b64("'c:' || " + _day("c.intake_date") + " || ':' || c.case_id::text")

# Leaves by level: the SQL expression of each, over the alias of its level.
LEAVES: dict[str, dict[str, str]] = {
    "case": {
        "id": _b64("'ReturnCase:' || c.case_id::text"),
        "version": "c.version",
        "phase": "c.phase",
        "pseudonym": "c.pseudonym",
        "gender": "c.gender",
        "birth_year": "c.birth_year",
        "nationality": "c.nationality",
        "country_of_origin": "c.country_of_origin",
        "languages": "to_json(c.languages)",
        "exploitation_forms": "to_json(c.exploitation_forms)",
        "intake_date": _day("c.intake_date"),
        "wish": "c.wish",
        "residence_status": "c.residence_status",
        "proceedings_stage": "c.proceedings_stage",
        "departure_obligation": "c.departure_obligation",
        "departure_deadline": _day("c.departure_deadline"),
        "risk_level": "c.risk_level",
        "planned_departure_on": _day("c.planned_departure_on"),
        "departed_on": _day("c.departed_on"),
        "departure_mode": "c.departure_mode",
        "destination_country": "c.destination_country",
        "closing_reason": "c.closing_reason",
        "closed_on": _day("c.closed_on"),
        "transferred_to": "c.transferred_to",
        "follow_up_count": "c.follow_up_count",
        "caseworker": "c.caseworker",
        "personal_data_erased": "c.personal_data_erased",
        "opened_at": _instant("c.opened_at"),
        "updated_at": _instant("c.updated_at"),
        "partner_organisation_ids": (
            "(SELECT coalesce(json_agg("
            + _b64("'Organisation:' || u.oid::text")
            + " ORDER BY u.i), '[]'::json) "
            "FROM unnest(c.partner_organisation_ids) WITH ORDINALITY AS u(oid, i))"
        ),
    },
    "edge": {"cursor": _CURSOR},
    "page_info": {},  # built from the page as a whole (see _page_info)
    "organisation": {
        "id": _b64("'Organisation:' || o.id::text"),
        "version": "o.version",
        "name": "o.name",
        "country": "o.country",
        "city": "o.city",
        "region": "o.region",
        "demo": "o.demo",
    },
    "timeline_entry": {
        "version": "t.version",
        "event_type": "t.event_type",
        "occurred_at": _instant("t.occurred_at"),
        "actor": "t.actor",
        "actor_role": "t.actor_role",
        "summary": "t.summary",
    },
}
# Nested selections by level, and the level they lead to.
NESTED: dict[str, dict[str, str]] = {
    "connection": {"edges": "edge", "page_info": "page_info"},
    "edge": {"node": "case"},
    "case": {"partner_organisations": "organisation", "timeline": "timeline_entry"},
}
# The columns of ``return_cases`` a case leaf reads.
_CASE_COLUMNS = {
    "id": (),
    "intake_date": (),
    "partner_organisation_ids": ("partner_organisation_ids",),
}


# A PostgreSQL function takes at most 100 arguments: json_build_object 50 keys.
MAX_KEYS = 50


class UnsupportedShape(ValueError):
    """The shape names a leaf or nested selection this module cannot build."""


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class _Builder:
    def __init__(self) -> None:
        self.columns: set[str] = {"case_id", "intake_date", "tenant_id"}

    def object(self, level: str, shape: Shape) -> str:
        if len(shape) > MAX_KEYS:
            raise UnsupportedShape(f"{len(shape)} keys in one object")
        parts: list[str] = []
        for key, item in shape:
            parts.append(_literal(key))
            parts.append(self.item(level, item))
        return f"json_build_object({', '.join(parts)})"

    def item(self, level: str, item: Item) -> str:
        if isinstance(item, Typename):
            return _literal(item.name) + "::text"
        if isinstance(item, Leaf):
            if level == "page_info":
                return self.page_info(item.what)
            expression = LEAVES.get(level, {}).get(item.what)
            if expression is None:
                raise UnsupportedShape(f"{level}.{item.what}")
            if level == "case":
                self.columns.update(_CASE_COLUMNS.get(item.what, (item.what,)))
            return expression
        nested = NESTED.get(level, {}).get(item.what)
        if nested is None:
            raise UnsupportedShape(f"{level}.{item.what}")
        if item.what == "edges":
            return (
                f"(SELECT coalesce(json_agg({self.object('edge', item.shape)} ORDER BY c.n), "  # noqa: S608 (constant SQL; keys quoted)
                "'[]'::json) FROM page c WHERE c.n <= :first)"
            )
        if item.what == "page_info":
            return self.object("page_info", item.shape)
        if item.what == "node":
            return self.object("case", item.shape)
        if item.what == "partner_organisations":
            self.columns.add("partner_organisation_ids")
            # Retired organisations included; an id without an organisation is left out.
            return (
                f"(SELECT coalesce(json_agg({self.object('organisation', item.shape)} "  # noqa: S608 (constant SQL; keys quoted)
                "ORDER BY u.i), '[]'::json) "
                "FROM unnest(c.partner_organisation_ids) WITH ORDINALITY AS u(oid, i) "
                "JOIN organisations o ON o.id = u.oid)"
            )
        # timeline
        return (
            f"(SELECT coalesce(json_agg({self.object('timeline_entry', item.shape)} "  # noqa: S608 (constant SQL; keys quoted)
            "ORDER BY t.version), '[]'::json) FROM case_timeline t "
            "WHERE t.tenant_id = c.tenant_id AND t.case_id = c.case_id)"
        )

    @staticmethod
    def page_info(what: str) -> str:
        if what == "has_next_page":
            return "((SELECT count(*) FROM page) > :first)"
        if what == "end_cursor":
            return (
                f"(SELECT {_CURSOR} FROM page c "  # noqa: S608 (constant SQL)
                "WHERE c.n <= :first ORDER BY c.n DESC LIMIT 1)"
            )
        raise UnsupportedShape(f"page_info.{what}")


@dataclass(frozen=True, slots=True)
class PageStatement:
    """What the statement reads (``page``: a page of cases; ``case``: one case), the columns
    it reads and its body (the response's JSON)."""

    kind: str
    columns: tuple[str, ...]
    body: str


@lru_cache(maxsize=256)
def compile_page(root: Shape) -> PageStatement:
    """The statement for ``root``: keys at the top level, among them exactly one
    ``Nested("page", ...)`` with the connection's selection or ``Nested("case", ...)`` with
    one case's. Raises ``UnsupportedShape``."""
    builder = _Builder()
    parts: list[str] = []
    kinds: list[str] = []
    if len(root) > MAX_KEYS:
        raise UnsupportedShape(f"{len(root)} keys in one object")
    for key, item in root:
        parts.append(_literal(key))
        if isinstance(item, Nested) and item.what == "page":
            kinds.append("page")
            parts.append(builder.object("connection", item.shape))
        elif isinstance(item, Nested) and item.what == "case":
            kinds.append("case")
            parts.append(builder.object("case", item.shape))
        elif isinstance(item, Typename):
            parts.append(builder.item("root", item))
        else:
            raise UnsupportedShape(f"root.{getattr(item, 'what', item)}")
    if len(kinds) != 1:
        raise UnsupportedShape("one page or case per statement")
    return PageStatement(
        kinds[0],
        tuple(sorted(builder.columns)),
        f"SELECT json_build_object({', '.join(parts)})::text",
    )


@lru_cache(maxsize=1024)
def _statement(sql: str) -> TextClause:
    """The statement object of a page's SQL (parsing its parameters once)."""
    return text(sql)


async def page_json(
    conn: AsyncConnection,
    statement: PageStatement,
    flt: CaseFilter,
    first: int,
    after: tuple[dt.date, uuid.UUID] | None,
) -> str:
    """The JSON text of the response's ``data``, in one statement."""
    where, params = page_conditions(flt, after)
    params["first"] = first
    params["limit"] = first + 1
    sql = (
        "WITH page AS (SELECT s.*, row_number() OVER "  # noqa: S608 (constant SQL; keys quoted)
        "(ORDER BY s.intake_date DESC, s.case_id DESC) AS n FROM "
        f"(SELECT {', '.join(statement.columns)} FROM return_cases "
        f"WHERE {' AND '.join(where)} ORDER BY intake_date DESC, case_id DESC "
        f"LIMIT :limit) s) {statement.body}"
    )
    result = await conn.execute(_statement(sql), params)
    value: Any = result.scalar_one()
    assert isinstance(value, str)
    return value


async def case_json(
    conn: AsyncConnection, statement: PageStatement, case_id: uuid.UUID
) -> str | None:
    """The JSON text of the response's ``data`` for one case, in one statement; ``None`` when
    the case is not there (or not the tenant's)."""
    sql = (
        f"{statement.body} FROM (SELECT {', '.join(statement.columns)} "  # noqa: S608 (constant SQL)
        "FROM return_cases WHERE case_id = :case_id) c"
    )
    result = await conn.execute(_statement(sql), {"case_id": case_id})
    value: Any = result.scalar_one_or_none()
    assert value is None or isinstance(value, str)
    return value
