"""Changing the social map: create, update and retire organisations.

Only CoMensha's social-map editors change the map: the ``social-map-editor`` role of an
organisation of kind ``coordination``; everyone else gets ``FORBIDDEN``. Each change runs in
one transaction that writes the organisation and its history entry together, or nothing:

* input is validated by ``model.validate`` (every field; the first problem is the error, all of
  them are listed in ``extensions.problems``);
* updates and retirements carry the version they were decided on: a stale one is
  ``CONFLICT`` naming the current version;
* an idempotency key makes a repeat answer with the first result (``replayed``) and write
  nothing; the same key for a different request is ``IDEMPOTENCY_KEY_REUSED``;
* an update that changes nothing writes nothing and keeps the version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.auth import Principal
from service.errors import BadUserInput, Conflict, Forbidden, NotFound, ServiceError
from service.socialmap import history, model, repository
from service.socialmap.history import Actor
from service.socialmap.model import Organisation, OrganisationData, Problem

__all__ = [
    "EDITOR_ROLE",
    "EditResult",
    "InvalidOrganisation",
    "confirm",
    "create",
    "editor",
    "retire",
    "update",
]

EDITOR_ROLE = "social-map-editor"
MAX_REASON = 1000


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


class InvalidOrganisation(BadUserInput):
    """Input that breaks a rule of the social map; every problem is listed."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        first = problems[0]
        # BadUserInput's own constructor takes no further extensions: go one level up.
        ServiceError.__init__(
            self,
            first.reason,
            rule=first.rule,
            field=camel(first.field),
            problems=[
                {"field": camel(p.field), "rule": p.rule, "reason": p.reason} for p in problems
            ],
        )
        self.rule = first.rule


def editor(principal: Principal, request_id: str | None) -> Actor:
    """The principal as an editor of the social map, or ``Forbidden``."""
    if EDITOR_ROLE not in principal.roles or principal.organisation.kind != "coordination":
        raise Forbidden("only CoMensha's social-map editors change the social map")
    return Actor(principal.subject, principal.organisation.slug, request_id)


@dataclass(frozen=True, slots=True)
class EditResult:
    organisation: Organisation
    version: int
    replayed: bool


def _fingerprint(*parts: Any) -> str:
    canonical = json.dumps(parts, default=str, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_key(key: str | None) -> None:
    if key is None:
        return
    if not 1 <= len(key) <= 200:
        raise BadUserInput("idempotencyKey must be 1 to 200 characters", field="idempotencyKey")
    if "\x00" in key or model.has_surrogate(key):
        raise BadUserInput("idempotencyKey must be plain text", field="idempotencyKey")


async def _replayed(
    conn: AsyncConnection, actor: Actor, key: str | None, fingerprint: str
) -> EditResult | None:
    if key is None:
        return None
    receipt = await history.find_receipt(conn, actor.organisation, key)
    if receipt is None:
        return None
    if receipt.fingerprint != fingerprint:
        raise BadUserInput(
            "this idempotencyKey was already used for a different request",
            rule="IDEMPOTENCY_KEY_REUSED",
            field="idempotencyKey",
        )
    organisation = await repository.get(conn, receipt.organisation_id)
    assert organisation is not None  # organisations are never deleted
    return EditResult(organisation, receipt.version, replayed=True)


def _duplicate() -> BadUserInput:
    return BadUserInput(
        "an organisation with this name exists already in this country (it may be retired)",
        rule="DUPLICATE_ORGANISATION",
        field="name",
    )


async def ensure_unique(
    conn: AsyncConnection, data: OrganisationData, own_id: uuid.UUID | None
) -> None:
    key = (data.country, model.name_key(data.name))
    found = (await repository.find_by_keys(conn, [key])).get(key)
    if found is not None and found.id != own_id:
        raise _duplicate()


async def _once(
    engine: AsyncEngine,
    actor: Actor,
    key: str | None,
    fingerprint: str,
    work: Callable[[AsyncConnection], Awaitable[EditResult]],
) -> EditResult:
    """Run ``work`` in a transaction; after losing a race, answer as the winner made us."""
    try:
        async with engine.begin() as conn:
            replay = await _replayed(conn, actor, key, fingerprint)
            if replay is not None:
                return replay
            return await work(conn)
    except IntegrityError as exc:
        # A concurrent request committed first. With the same idempotency key, answer as it
        # did; otherwise the only unique key left to break is name and country.
        async with engine.begin() as conn:
            replay = await _replayed(conn, actor, key, fingerprint)
        if replay is not None:
            return replay
        raise _duplicate() from exc


async def create(
    engine: AsyncEngine,
    principal: Principal,
    raw: Mapping[str, Any],
    *,
    request_id: str | None,
    idempotency_key: str | None,
    today: dt.date,
) -> EditResult:
    """A new organisation at version 1, with a CREATED entry in its history."""
    actor = editor(principal, request_id)
    _check_key(idempotency_key)
    data, problems = model.validate(raw, today)
    if data is None:
        raise InvalidOrganisation(problems)
    fingerprint = _fingerprint("create", model.to_json(data))
    valid = data

    async def work(conn: AsyncConnection) -> EditResult:
        await ensure_unique(conn, valid, None)
        org_id = uuid.uuid4()
        params = repository.create_params(
            org_id, valid, actor, idempotency_key=idempotency_key, fingerprint=fingerprint
        )
        await repository.create(conn, params)
        organisation = await repository.get(conn, org_id)
        assert organisation is not None
        return EditResult(organisation, organisation.version, replayed=False)

    return await _once(engine, actor, idempotency_key, fingerprint, work)


async def _current(conn: AsyncConnection, org_id: uuid.UUID, expected: int) -> Organisation:
    current = await repository.get(conn, org_id, for_update=True)
    if current is None:
        raise NotFound("organisation not found")
    if current.version != expected:
        raise Conflict(
            f"the organisation is at version {current.version}, not {expected}",
            current_version=current.version,
        )
    if not current.active:
        raise BadUserInput(
            "a retired organisation cannot be changed", rule="ORGANISATION_RETIRED", field="id"
        )
    return current


async def update(
    engine: AsyncEngine,
    principal: Principal,
    org_id: uuid.UUID,
    expected_version: int,
    changes: Mapping[str, Any],
    *,
    request_id: str | None,
    idempotency_key: str | None,
    today: dt.date,
) -> EditResult:
    """Change the given fields (``changes``, keyed as ``model.FIELDS``); the rest stays."""
    actor = editor(principal, request_id)
    _check_key(idempotency_key)
    unknown = set(changes) - set(model.FIELDS)
    if unknown:
        raise BadUserInput("unknown fields", field=camel(sorted(unknown)[0]))
    fingerprint = _fingerprint(
        "update",
        str(org_id),
        expected_version,
        {k: model.to_json_value(v) for k, v in changes.items()},
    )

    async def work(conn: AsyncConnection) -> EditResult:
        current = await _current(conn, org_id, expected_version)
        data, problems = model.validate(model.merged(current.data, changes), today)
        if data is None:
            raise InvalidOrganisation(problems)
        changed = model.diff(current.data, data)
        if not changed:
            return EditResult(current, current.version, replayed=False)
        await ensure_unique(conn, data, org_id)
        version = await repository.update(
            conn, org_id, expected_version, data, changed, actor,
            idempotency_key=idempotency_key, fingerprint=fingerprint,
        )  # fmt: skip
        if version is None:  # cannot happen under the row lock taken above
            raise Conflict("the organisation changed meanwhile", current_version=current.version)
        organisation = await repository.get(conn, org_id)
        assert organisation is not None
        return EditResult(organisation, version, replayed=False)

    return await _once(engine, actor, idempotency_key, fingerprint, work)


async def retire(
    engine: AsyncEngine,
    principal: Principal,
    org_id: uuid.UUID,
    expected_version: int,
    reason: str,
    *,
    request_id: str | None,
    idempotency_key: str | None,
) -> EditResult:
    """Retire an organisation: it stays readable (cases keep pointing to it) but inactive."""
    actor = editor(principal, request_id)
    _check_key(idempotency_key)
    try:
        cleaned = model.text_value(reason, MAX_REASON, "reason")
    except model.InvalidValue as exc:
        raise BadUserInput(exc.reason, rule=exc.rule, field="reason") from None
    if cleaned is None:
        raise BadUserInput(
            "retiring an organisation needs a reason", rule="REQUIRED", field="reason"
        )
    fingerprint = _fingerprint("retire", str(org_id), expected_version, cleaned)

    async def work(conn: AsyncConnection) -> EditResult:
        current = await _current(conn, org_id, expected_version)
        version = await repository.retire(
            conn, org_id, expected_version, cleaned, actor,
            idempotency_key=idempotency_key, fingerprint=fingerprint,
        )  # fmt: skip
        if version is None:  # cannot happen under the row lock taken above
            raise Conflict("the organisation changed meanwhile", current_version=current.version)
        organisation = await repository.get(conn, org_id)
        assert organisation is not None
        return EditResult(organisation, version, replayed=False)

    return await _once(engine, actor, idempotency_key, fingerprint, work)


async def confirm(
    engine: AsyncEngine,
    principal: Principal,
    org_id: uuid.UUID,
    expected_version: int,
    *,
    request_id: str | None,
    today: dt.date,
) -> EditResult:
    """Record that an editor checked an organisation today and found it right.

    Only ``last_verified_on`` changes (to today); the history shows a CONFIRMED entry.
    """
    actor = editor(principal, request_id)
    async with engine.begin() as conn:
        current = await _current(conn, org_id, expected_version)
        version = await repository.confirm(conn, current, today, actor)
        if version is None:  # cannot happen under the row lock taken above
            raise Conflict("the organisation changed meanwhile", current_version=current.version)
        organisation = await repository.get(conn, org_id)
        assert organisation is not None
        return EditResult(organisation, version, replayed=False)
