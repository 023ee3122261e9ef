"""Read model ``return_cases``: one row per case, a fold of the case's events.

The row is a pure function of the stream (``case_row``), so the inline projection (run in the
append's transaction) and a rebuild from the log produce the same row by construction.

The ``personal`` column holds the client's name, date of birth and notes sealed with the
client's key (``seal_personal``), never plaintext; resolvers decrypt it when they serve it.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db import driver
from service.domain.errors import InvalidEventSequence
from service.domain.return_case import carries_personal_data, phase_of
from service.domain.vocabulary import ReturnWish
from service.events.sealing import READ_MODEL_PURPOSE, PersonalCipher, is_sealed
from service.events.store import Rider
from service.events.types import RecordedEvent

_PROFILE = (
    "pseudonym",
    "gender",
    "birth_year",
    "nationality",
    "country_of_origin",
    "languages",
    "exploitation_forms",
)
_PERSONAL = ("full_name", "date_of_birth", "notes")


def _value(v: Any) -> Any:
    if isinstance(v, enum.Enum):  # its value as stored (``.value`` is a slower property)
        return v._value_
    if isinstance(v, tuple):
        return [_value(x) for x in v]
    if hasattr(v, "value") and not isinstance(v, dt.date | uuid.UUID):
        return v.value
    return v


_OPENINGS = ("ReturnCaseOpened", "ReturnCaseReceivedByTransfer")
# The events that set the row's ``personal`` part; no other event's personal values reach it.
SETS_PERSONAL = frozenset({*_OPENINGS, "ClientProfileUpdated", "ClientPersonalDataErased"})


def case_row(events: Sequence[RecordedEvent]) -> dict[str, Any]:
    """The read-model row of one case from its whole stream; the phase is the decider's.

    One pass over the stream: the facts that set the phase are kept in this loop's own
    accumulators and the phase comes from the domain's rule (``phase_of``), instead of a
    fold of the domain state (a copy of the state per event). The property tests check that
    the phase equals ``fold(...).phase`` for every generated history.
    """
    first = events[0]
    if first.event_type not in _OPENINGS:
        raise InvalidEventSequence("The first event of a return case must open it.")
    conversations = 0
    row: dict[str, Any] = {
        "tenant_id": first.tenant_id,
        "case_id": first.stream_id,
        "opened_at": first.recorded_at,
        "wish": None,
        "residence_status": None,
        "proceedings_stage": None,
        "departure_obligation": False,
        "departure_deadline": None,
        "risk_level": None,
        "planned_departure_on": None,
        "departed_on": None,
        "departure_mode": None,
        "destination_country": None,
        "closing_reason": None,
        "closed_on": None,
        "transferred_to": None,
        "follow_up_count": 0,
        "caseworker": None,
        "partner_organisation_ids": [],
        "referrals": [],
        "consents": [],
        "personal": None,
        "personal_data_erased": False,
    }
    for recorded in events:
        e = recorded.event
        kind = recorded.event_type
        if kind in ("ReturnCaseOpened", "ClientProfileUpdated"):
            if kind == "ReturnCaseOpened":
                row["intake_date"] = e.intake_date
            for name in _PROFILE:
                row[name] = _value(getattr(e, name))
            personal = {n: _value(getattr(e, n)) for n in _PERSONAL if getattr(e, n) is not None}
            row["personal"] = {
                k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in personal.items()
            } or None
        elif kind == "ReturnCaseReceivedByTransfer":
            row["intake_date"] = e.intake_date
            for name in _PROFILE:
                row[name] = _value(getattr(e, name))
            personal = {
                n: _value(getattr(e, n)) for n in ("full_name", "date_of_birth")
                if getattr(e, n) is not None
            }  # fmt: skip
            row["personal"] = {
                k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in personal.items()
            } or None
            row["wish"] = _value(e.latest_wish)
            conversations = e.return_conversations
            row["residence_status"] = _value(e.residence_status)
            row["departure_obligation"] = e.departure_obligation
            row["risk_level"] = _value(e.risk_level)
        elif kind == "ReturnConversationRecorded":
            row["wish"] = _value(e.wish)
            conversations += 1
        elif kind == "LegalPositionRecorded":
            row["residence_status"] = _value(e.residence_status)
            row["proceedings_stage"] = _value(e.proceedings_stage)
            row["departure_obligation"] = e.departure_obligation
            row["departure_deadline"] = e.departure_deadline
        elif kind == "RiskAssessed":
            row["risk_level"] = _value(e.level)
        elif kind == "PartnerOrganisationContacted":
            if e.organisation_id not in row["partner_organisation_ids"]:
                row["partner_organisation_ids"].append(e.organisation_id)
            row["referrals"].append(
                {
                    "id": str(e.referral_id),
                    "organisation_id": str(e.organisation_id),
                    "purpose": _value(e.purpose),
                    "contacted_on": e.contacted_on.isoformat(),
                    "shares_personal_data": e.shares_personal_data,
                    "status": "REQUESTED",
                    "status_on": e.contacted_on.isoformat(),
                }
            )
        elif kind == "ReferralStatusChanged":
            for referral in row["referrals"]:
                if referral["id"] == str(e.referral_id):
                    referral["status"] = _value(e.status)
                    referral["status_on"] = e.changed_on.isoformat()
        elif kind == "ConsentGiven":
            row["consents"].append(
                {
                    "organisation_id": str(e.organisation_id),
                    "purpose": _value(e.purpose),
                    "given_on": e.given_on.isoformat(),
                    "outside_eea": e.outside_eea,
                    "withdrawn_on": None,
                }
            )
        elif kind == "ConsentWithdrawn":
            for consent in row["consents"]:
                if (
                    consent["organisation_id"] == str(e.organisation_id)
                    and consent["purpose"] == _value(e.purpose)
                    and consent["withdrawn_on"] is None
                ):
                    consent["withdrawn_on"] = e.withdrawn_on.isoformat()
        elif kind == "DeparturePlanned":
            row["planned_departure_on"] = e.planned_on
        elif kind == "DepartureRecorded":
            row["departed_on"] = e.departed_on
            row["departure_mode"] = _value(e.mode)
            row["destination_country"] = e.destination_country
        elif kind == "FollowUpRecorded":
            row["follow_up_count"] += 1
        elif kind == "CaseworkerAssigned":
            row["caseworker"] = e.caseworker
        elif kind == "ReturnCaseTransferred":
            row["closing_reason"] = "TRANSFERRED"
            row["closed_on"] = e.transferred_on
            row["transferred_to"] = e.to_organisation
        elif kind == "ReturnCaseClosed":
            row["closing_reason"] = _value(e.reason)
            row["closed_on"] = e.closed_on
        elif kind == "ReturnCaseReopened":
            row["closing_reason"] = None
            row["closed_on"] = None
            row["transferred_to"] = None
        elif kind == "ClientPersonalDataErased":
            row["personal"] = None
            row["personal_data_erased"] = True
            continue
        # As the domain's fold: an event that carries personal data again (a profile with a
        # name, a conversation's note) clears the erasure, so a later erasure is not a no-op.
        if row["personal_data_erased"] and carries_personal_data(e):
            row["personal_data_erased"] = False
    last = events[-1]
    row["version"] = last.version
    row["updated_at"] = last.recorded_at
    row["phase"] = phase_of(
        closed=row["closed_on"] is not None,
        follow_ups=row["follow_up_count"],
        departed=row["departed_on"] is not None,
        latest_wish=ReturnWish(row["wish"]) if row["wish"] is not None else None,
        departure_obligation=row["departure_obligation"],
        return_conversations=conversations,
    ).value
    return row


_COLUMNS = (
    "tenant_id", "case_id", "version", "phase", *_PROFILE, "intake_date", "wish",
    "residence_status", "proceedings_stage", "departure_obligation", "departure_deadline",
    "risk_level", "planned_departure_on", "departed_on", "departure_mode", "destination_country",
    "closing_reason", "closed_on", "transferred_to", "follow_up_count",
    "partner_organisation_ids", "referrals", "consents", "personal", "personal_data_erased",
    "opened_at", "updated_at", "caseworker",
)  # fmt: skip
COLUMNS = _COLUMNS  # the table's columns in the order of the upsert (for bulk writers)


def upsert_statement(suffix: str = "") -> Any:
    """The upsert into ``return_cases`` (or a rebuild copy named with ``suffix``).

    Assembled from the constant column list above, never from input.
    """
    return text(
        f"INSERT INTO return_cases{suffix} ({', '.join(_COLUMNS)}) "  # noqa: S608
        f"VALUES ({', '.join(':' + c for c in _COLUMNS)}) "
        "ON CONFLICT (tenant_id, case_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[2:] if c != "opened_at")
    ).bindparams(
        bindparam("personal", type_=JSONB),
        bindparam("referrals", type_=JSONB),
        bindparam("consents", type_=JSONB),
        bindparam("partner_organisation_ids", type_=ARRAY(UUID(as_uuid=True))),
    )


_UPSERT = upsert_statement()


async def upsert(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(_UPSERT, row)


_JSON = frozenset({"referrals", "consents", "personal"})
_N = len(_COLUMNS)
# The row's upsert and, in the same statement, its new timeline entries (from arrays): one
# round trip for both read models. The timeline's reference to the row is checked at the end of
# the statement, when the row exists.
_TIMELINE_TYPES = (
    ("tenant_id", "uuid"), ("case_id", "uuid"), ("version", "int"), ("global_position", "bigint"),
    ("event_type", "text"), ("occurred_at", "timestamptz"), ("recorded_at", "timestamptz"),
    ("actor", "text"), ("actor_role", "text"), ("summary", "text"), ("organisation_id", "uuid"),
)  # fmt: skip
_UPSERT_RETURNING = (
    "WITH entries AS (INSERT INTO case_timeline ("  # noqa: S608
    + ", ".join(c for c, _ in _TIMELINE_TYPES)
    + ") SELECT * FROM unnest("
    + ", ".join(f"${_N + i}::{t}[]" for i, (_, t) in enumerate(_TIMELINE_TYPES, start=1))
    + f")) INSERT INTO return_cases ({', '.join(_COLUMNS)}) VALUES ("  # noqa: S608
    + ", ".join(f"${i}" for i in range(1, _N + 1))
    + ") ON CONFLICT (tenant_id, case_id) DO UPDATE SET "
    + ", ".join(
        f"{c} = excluded.{c}"
        if c != "personal"
        else f"{c} = CASE WHEN ${_N + len(_TIMELINE_TYPES) + 1}::boolean "
        f"THEN return_cases.{c} ELSE excluded.{c} END"
        for c in _COLUMNS[2:]
        if c != "opened_at"
    )
    + f" RETURNING {', '.join(_COLUMNS)}"
)
_PERSONAL_AT = _COLUMNS.index("personal")


def _row_values(row: dict[str, Any], *, keep_personal: bool) -> list[Any]:
    """The row's values in ``_COLUMNS`` order as the upserts send them: JSON columns encoded,
    and with ``keep_personal`` no ``personal`` part (the stored one is kept)."""
    values = [json.dumps(row[c]) if c in _JSON and row[c] is not None else row[c] for c in _COLUMNS]
    if keep_personal:
        values[_PERSONAL_AT] = None
    return values


async def upsert_returning(
    conn: AsyncConnection,
    row: dict[str, Any],
    entries: Sequence[dict[str, Any]] = (),
    *,
    keep_personal: bool = False,
) -> dict[str, Any]:
    """Write ``row`` (as ``upsert``) and the timeline ``entries`` (``timeline.entry``), and
    return the row as stored, in one round trip on the driver connection (the command
    path's hot statement).

    With ``keep_personal`` an existing row keeps its stored ``personal`` part and
    ``row["personal"]`` is not read (a case's row exists from its opening event on, which
    sets that part)."""
    values = _row_values(row, keep_personal=keep_personal)
    columns = [[e[c] for e in entries] for c, _ in _TIMELINE_TYPES]
    stored = await (await driver(conn)).fetchrow(
        _UPSERT_RETURNING, *values, *columns, keep_personal
    )
    assert stored is not None  # an upsert always returns its row
    return dict(zip(_COLUMNS, stored, strict=True))


# The row's upsert and its new timeline entries as writes riding on the append of their events
# (``EventStore.append`` with ``riding``): one round trip for the events and both read models.
# What the database stamps on the events (position, time) is read from the append's ``ins``;
# the row keeps its stored ``personal`` part (the events that set it do not ride:
# ``inline.rides``).
_RIDING_TIMELINE = tuple(
    (c, t) for c, t in _TIMELINE_TYPES if c not in ("global_position", "recorded_at")
)
_RIDING_RETURNS = ("opened_at", "personal")


@functools.lru_cache(maxsize=4)
def _riding_ctes(first: int) -> str:
    """The riding writes' expressions, their parameters numbered from ``$first``: the row's
    columns (``_COLUMNS``), then the timeline's arrays (``_RIDING_TIMELINE``)."""
    row = {c: f"${first + i}" for i, c in enumerate(_COLUMNS)}
    # The last event's time. When nothing was inserted the row is not written (the update's
    # condition below; the row exists from the case's opening on), and its own value stands in
    # only to satisfy the column's NOT NULL, checked before the conflict is.
    last = "(SELECT ins.recorded_at FROM ins ORDER BY ins.version DESC LIMIT 1)"
    row["updated_at"] = f"coalesce({last}, {row['updated_at']})"
    arrays = first + len(_COLUMNS)
    names = ", ".join(c for c, _ in _RIDING_TIMELINE)
    return (
        ", riding_timeline AS (INSERT INTO case_timeline ("  # noqa: S608 (constants)
        + ", ".join(c for c, _ in _TIMELINE_TYPES)
        + ") SELECT "
        + ", ".join(
            f"ins.{c}" if c in ("global_position", "recorded_at") else f"t.{c}"
            for c, _ in _TIMELINE_TYPES
        )
        + " FROM unnest("
        + ", ".join(f"${arrays + i}::{t}[]" for i, (_, t) in enumerate(_RIDING_TIMELINE))
        + f") AS t({names}) JOIN ins ON ins.version = t.version)"
        + f", riding_case AS (INSERT INTO return_cases ({', '.join(_COLUMNS)}) VALUES ("  # noqa: S608
        + ", ".join(row[c] for c in _COLUMNS)
        + ") ON CONFLICT (tenant_id, case_id) DO UPDATE SET "
        + ", ".join(
            f"{c} = excluded.{c}" for c in _COLUMNS[2:] if c not in ("opened_at", "personal")
        )
        + " WHERE EXISTS (SELECT FROM ins)"  # nothing inserted (a conflict): nothing written
        + f" RETURNING {', '.join(_RIDING_RETURNS)})"
    )


def riding_upsert(
    row: dict[str, Any],
    entries: Sequence[dict[str, Any]],
    returned: Callable[[tuple[Any, ...]], object],
) -> Rider:
    """``upsert_returning`` with ``keep_personal``, as writes riding on the append of the
    events ``entries`` (``timeline.entry``) describe; ``row["updated_at"]`` and the entries'
    positions and times are the append's stamps. ``returned`` gets the rider's row:
    ``opened_at`` and ``personal`` as stored (``stored_after_riding``)."""
    values = _row_values(row, keep_personal=True)
    columns = [[e[c] for e in entries] for c, _ in _RIDING_TIMELINE]
    return Rider(_riding_ctes, (*values, *columns), "riding_case", _RIDING_RETURNS, returned)


def stored_after_riding(
    row: dict[str, Any], recorded: Sequence[RecordedEvent], returned: Sequence[Any]
) -> dict[str, Any]:
    """The row as ``riding_upsert`` stored it, as ``upsert_returning`` returns one: the last
    recorded event's time, and what the upsert kept (``opened_at``, ``personal``)."""
    opened_at, personal = returned
    return {
        **row,
        "opened_at": opened_at,
        "personal": personal,
        "updated_at": recorded[-1].recorded_at,
    }


async def seal_personal(
    conn: AsyncConnection, cipher: PersonalCipher | None, row: dict[str, Any]
) -> dict[str, Any]:
    """``row`` with its personal fields sealed with the client's key (the same key as the
    events'); without a cipher the row is returned as it is."""
    personal = row["personal"]
    if cipher is None or personal is None or is_sealed(personal):
        return row
    (sealed,) = await cipher.seal_many(
        conn, row["tenant_id"], row["case_id"], [(READ_MODEL_PURPOSE, personal)]
    )
    return {**row, "personal": sealed}


async def seal_personal_rows(
    conn: AsyncConnection, cipher: PersonalCipher, rows: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``seal_personal`` for the rows of many cases of one tenant: their keys in one query."""
    todo = {
        row["case_id"]: [(READ_MODEL_PURPOSE, row["personal"])]
        for row in rows
        if row["personal"] is not None and not is_sealed(row["personal"])
    }
    if not todo:
        return list(rows)
    sealed = await cipher.seal_streams(conn, rows[0]["tenant_id"], todo)
    return [
        {**row, "personal": sealed[row["case_id"]][0]} if row["case_id"] in todo else row
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class CaseFilter:
    phases: tuple[str, ...] = ()
    countries_of_origin: tuple[str, ...] = ()
    intake_from: dt.date | None = None
    intake_to: dt.date | None = None


_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM return_cases"  # noqa: S608


async def get_case(conn: AsyncConnection, case_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(text(f"{_SELECT} WHERE case_id = :c"), {"c": case_id})).first()
    return None if row is None else dict(row._mapping)


def page_conditions(
    flt: CaseFilter, after: tuple[dt.date, uuid.UUID] | None
) -> tuple[list[str], dict[str, Any]]:
    """The conditions of a page of ``return_cases`` (filter and keyset) and their parameters."""
    where = ["true"]
    params: dict[str, Any] = {}
    if flt.phases:
        where.append("phase = ANY(:phases)")
        params["phases"] = list(flt.phases)
    if flt.countries_of_origin:
        where.append("country_of_origin = ANY(:countries)")
        params["countries"] = list(flt.countries_of_origin)
    if flt.intake_from is not None:
        where.append("intake_date >= :intake_from")
        params["intake_from"] = flt.intake_from
    if flt.intake_to is not None:
        where.append("intake_date <= :intake_to")
        params["intake_to"] = flt.intake_to
    if after is not None:
        where.append("(intake_date, case_id) < (:after_date, :after_id)")
        params["after_date"], params["after_id"] = after
    return where, params


async def list_cases(
    conn: AsyncConnection,
    flt: CaseFilter,
    limit: int,
    after: tuple[dt.date, uuid.UUID] | None,
) -> list[dict[str, Any]]:
    """A page of cases, newest intake first, keyset-paginated on (intake_date, case_id)."""
    where, params = page_conditions(flt, after)
    params["limit"] = limit
    sql = (
        f"{_SELECT} WHERE {' AND '.join(where)} "
        "ORDER BY intake_date DESC, case_id DESC LIMIT :limit"
    )
    return [dict(r._mapping) for r in await conn.execute(text(sql), params)]


async def list_departed_open(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Cases with a departure that are not closed, oldest departure first."""
    sql = (
        f"{_SELECT} WHERE departed_on IS NOT NULL AND closed_on IS NULL "
        "ORDER BY departed_on, case_id"
    )
    return [dict(r._mapping) for r in await conn.execute(text(sql))]


async def list_assigned_open(conn: AsyncConnection, caseworker: str) -> list[dict[str, Any]]:
    """Open cases assigned to ``caseworker`` (a token subject), newest intake first."""
    sql = (
        f"{_SELECT} WHERE caseworker = :caseworker AND closed_on IS NULL "
        "ORDER BY intake_date DESC, case_id DESC"
    )
    return [dict(r._mapping) for r in await conn.execute(text(sql), {"caseworker": caseworker})]
