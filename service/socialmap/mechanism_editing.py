"""Changing national referral mechanisms: create, revise, retire and confirm (editors only).

Like organisations, only CoMensha's social-map editors change mechanisms (``editing.editor``).
Every change carries the version it was decided on (a stale one is ``CONFLICT`` naming the
current version), writes the mechanism and its history row in one transaction, and is
validated whole: the flowchart (``flowchart.validate``), the texts, and every organisation a
step links to must exist on the map.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.auth import Principal
from service.errors import BadUserInput, Conflict, NotFound, ServiceError
from service.socialmap import flowchart, mechanisms, model, repository
from service.socialmap.editing import MAX_REASON, camel, editor
from service.socialmap.history import Actor
from service.socialmap.mechanisms import Mechanism, MechanismData
from service.socialmap.model import InvalidValue, Problem
from service.socialmap.vocabulary import ChangeKind

__all__ = ["InvalidMechanism", "confirm", "correct_step", "create", "retire", "update"]

MAX_TITLE = 300
MAX_NOTES = 4000
STEP_FIELDS = (
    "title_en", "title_nl", "description_en", "description_nl", "responsible_body",
    "typical_duration", "legal_basis",
)  # fmt: skip


class InvalidMechanism(BadUserInput):
    """A mechanism that breaks a rule; every problem is listed."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        first = problems[0]
        ServiceError.__init__(
            self,
            first.reason,
            rule=first.rule,
            field=first.field,
            problems=[{"field": p.field, "rule": p.rule, "reason": p.reason} for p in problems],
        )
        self.rule = first.rule


def _verified(raw: Any, today: dt.date) -> dt.date | None:
    if raw is None:
        return None
    if not isinstance(raw, dt.date) or isinstance(raw, dt.datetime):
        raise InvalidValue("INVALID_DATE", "last verified must be a date")
    if raw > today:
        raise InvalidValue("DATE_IN_FUTURE", "last verified cannot be in the future")
    return raw


def validate(raw: Mapping[str, Any], today: dt.date) -> MechanismData:
    """The mechanism ``raw`` describes, or ``InvalidMechanism`` with every problem."""
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    checks: dict[str, Callable[[Any], Any]] = {
        "title_en": lambda v: model.text_value(v, MAX_TITLE, "title"),
        "title_nl": lambda v: model.text_value(v, MAX_TITLE, "Dutch title"),
        "notes_en": lambda v: model.text_value(v, MAX_NOTES, "notes"),
        "notes_nl": lambda v: model.text_value(v, MAX_NOTES, "Dutch notes"),
        "last_verified_on": lambda v: _verified(v, today),
    }
    for name, check in checks.items():
        try:
            values[name] = check(raw.get(name))
        except InvalidValue as exc:
            problems.append(Problem(camel(name), exc.rule, exc.reason))
    if not problems and values["title_en"] is None:
        problems.append(Problem("titleEn", "REQUIRED", "a mechanism needs a title"))
    graph, graph_problems = flowchart.validate(raw.get("graph") or {}, today)
    problems.extend(graph_problems)
    if problems or graph is None:
        raise InvalidMechanism(problems)
    return MechanismData(graph=graph, **values)


async def _check_links(conn: AsyncConnection, data: MechanismData) -> None:
    wanted = {
        s.responsible_organisation_id
        for s in data.graph.steps
        if s.responsible_organisation_id is not None
    }
    if not wanted:
        return
    found = await repository.get_many(conn, wanted)
    missing = [
        Problem(
            f"steps.{i}",
            "UNKNOWN_ORGANISATION",
            "a step's responsible organisation must be an active organisation of the map",
        )
        for i, s in enumerate(data.graph.steps)
        if s.responsible_organisation_id is not None
        and (
            s.responsible_organisation_id not in found
            or not found[s.responsible_organisation_id].active
        )
    ]
    if missing:
        raise InvalidMechanism(missing)


async def _current(conn: AsyncConnection, country: str, expected: int) -> Mechanism:
    current = await mechanisms.get(conn, country, for_update=True)
    if current is None:
        raise NotFound("referral mechanism not found")
    if current.version != expected:
        raise Conflict(
            f"the mechanism is at version {current.version}, not {expected}",
            current_version=current.version,
        )
    if not current.active:
        raise BadUserInput(
            "a retired mechanism cannot be changed", rule="MECHANISM_RETIRED", field="country"
        )
    return current


def _reason(raw: str | None, *, required: bool) -> str | None:
    try:
        cleaned = model.text_value(raw, MAX_REASON, "reason")
    except InvalidValue as exc:
        raise BadUserInput(exc.reason, rule=exc.rule, field="reason") from None
    if cleaned is None and required:
        raise BadUserInput("this change needs a reason", rule="REQUIRED", field="reason")
    return cleaned


async def create(
    engine: AsyncEngine,
    principal: Principal,
    country: str,
    raw: Mapping[str, Any],
    *,
    request_id: str | None,
    today: dt.date,
) -> Mechanism:
    actor = editor(principal, request_id)
    data = validate(raw, today)
    try:
        async with engine.begin() as conn:
            await _check_links(conn, data)
            if await mechanisms.get(conn, country) is not None:
                raise _exists()
            await mechanisms.create(conn, country, data, actor)
            created = await mechanisms.get(conn, country)
    except IntegrityError as exc:  # a concurrent create of the same country won
        raise _exists() from exc
    assert created is not None
    return created


def _exists() -> BadUserInput:
    return BadUserInput(
        "this country has a referral mechanism already (it may be retired): revise it instead",
        rule="DUPLICATE_MECHANISM",
        field="country",
    )


async def _write(
    engine: AsyncEngine | None,
    actor: Actor,
    country: str,
    expected_version: int,
    change: ChangeKind,
    make: Any,
    *,
    reason: str | None = None,
    suggestion_id: uuid.UUID | None = None,
    conn: AsyncConnection | None = None,
) -> Mechanism:
    async def work(c: AsyncConnection) -> Mechanism:
        current = await _current(c, country, expected_version)
        data: MechanismData = make(current)
        await _check_links(c, data)
        version = await mechanisms.write(
            c, country, expected_version, data, change, actor,
            reason=reason, suggestion_id=suggestion_id,
        )  # fmt: skip
        if version is None:  # cannot happen under the row lock taken above
            raise Conflict("the mechanism changed meanwhile", current_version=current.version)
        written = await mechanisms.get(c, country)
        assert written is not None
        return written

    if conn is not None:
        return await work(conn)
    assert engine is not None
    async with engine.begin() as own:
        return await work(own)


async def update(
    engine: AsyncEngine,
    principal: Principal,
    country: str,
    expected_version: int,
    changes: Mapping[str, Any],
    reason: str | None,
    *,
    request_id: str | None,
    today: dt.date,
) -> Mechanism:
    """Revise a mechanism: the given fields replace the current ones (a graph as a whole)."""
    actor = editor(principal, request_id)
    why = _reason(reason, required=False)

    def make(current: Mechanism) -> MechanismData:
        raw: dict[str, Any] = {
            **{f.name: getattr(current.data, f.name) for f in dataclasses.fields(MechanismData)},
            "graph": flowchart.to_json(current.data.graph),
        }
        raw.update(changes)
        return validate(raw, today)

    return await _write(engine, actor, country, expected_version, ChangeKind.UPDATED, make,
                        reason=why)  # fmt: skip


async def retire(
    engine: AsyncEngine,
    principal: Principal,
    country: str,
    expected_version: int,
    reason: str,
    *,
    request_id: str | None,
) -> Mechanism:
    actor = editor(principal, request_id)
    why = _reason(reason, required=True)
    return await _write(
        engine, actor, country, expected_version, ChangeKind.RETIRED, lambda m: m.data,
        reason=why,
    )  # fmt: skip


async def confirm(
    engine: AsyncEngine,
    principal: Principal,
    country: str,
    expected_version: int,
    *,
    request_id: str | None,
    today: dt.date,
) -> Mechanism:
    """Record that an editor checked the mechanism today; nothing else changes."""
    actor = editor(principal, request_id)
    return await _write(
        engine, actor, country, expected_version, ChangeKind.CONFIRMED,
        lambda m: dataclasses.replace(m.data, last_verified_on=today),
    )  # fmt: skip


def corrected(
    current: Mechanism, step_key: str, fields: Mapping[str, Any], today: dt.date
) -> MechanismData:
    """``current`` with one step's texts replaced by ``fields`` (keys in ``STEP_FIELDS``)."""
    graph = flowchart.to_json(current.data.graph)
    step = next((s for s in graph["steps"] if s["key"] == step_key), None)
    if step is None:
        raise BadUserInput(
            "the mechanism has no step with this key", rule="UNKNOWN_STEP", field="stepKey"
        )
    step.update({k: v for k, v in fields.items() if k in STEP_FIELDS})
    raw = {
        **{f.name: getattr(current.data, f.name) for f in dataclasses.fields(MechanismData)},
        "graph": graph,
    }
    return validate(raw, today)


async def correct_step(
    conn: AsyncConnection,
    actor: Actor,
    country: str,
    step_key: str,
    fields: Mapping[str, Any],
    *,
    suggestion_id: uuid.UUID,
    today: dt.date,
) -> Mechanism:
    """Apply a suggested correction of one step as a new version crediting the suggestion."""
    current = await mechanisms.get(conn, country, for_update=True)
    if current is None or not current.active:
        raise BadUserInput(
            "the mechanism this suggestion corrects is retired or gone",
            rule="MECHANISM_RETIRED",
            field="country",
        )
    return await _write(
        None, actor, country, current.version, ChangeKind.UPDATED,
        lambda m: corrected(m, step_key, fields, today),
        reason="suggested correction", suggestion_id=suggestion_id, conn=conn,
    )  # fmt: skip
