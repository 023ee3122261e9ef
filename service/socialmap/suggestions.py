"""Suggestions from the shelters: corrections and additions to the social map, for the editors.

Any case worker, supervisor or tenant admin of a shelter may suggest a change to an
organisation, a new organisation, or a correction of one step of a referral mechanism, with a
reason. A suggestion is validated when it is made (the same rules as an editor's change), so
the editors' queue holds only suggestions that could be applied.

Suggestions are tenant-owned (``social_map_suggestions``, row-level security): a shelter sees
its own, never another's. CoMensha's editors read the queue and decide through a second policy
that holds only in a transaction where the service, after checking the editor role, sets
``app.social_map_editor``. Accepting applies the change as a versioned change of the shared map
that credits the suggestion (its id in the history row); rejecting needs a reason. Either way
the suggesting shelter sees the outcome.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.auth import Principal
from service.db import tenant_transaction
from service.errors import BadUserInput, Forbidden, NotFound
from service.socialmap import editing, mechanism_editing, mechanisms, model, repository
from service.socialmap.editing import InvalidOrganisation, editor
from service.socialmap.history import Actor
from service.socialmap.vocabulary import SuggestionKind, SuggestionStatus

__all__ = ["Suggestion", "accept", "mine", "queue", "reject", "suggest"]

MAX_REASON = 1000
MAX_QUEUE = 500
SUGGESTING_ROLES = frozenset({"caseworker", "tenant-admin", "supervisor"})


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: uuid.UUID
    shelter: str  # the suggesting shelter's slug
    kind: SuggestionKind
    organisation_id: uuid.UUID | None
    country: str | None
    step_key: str | None
    proposal: dict[str, Any]
    reason: str
    suggested_by: str
    suggested_at: dt.datetime
    status: SuggestionStatus
    decided_at: dt.datetime | None
    decision_reason: str | None
    applied_version: int | None


_SELECT = (
    "SELECT s.id, t.slug AS shelter, s.kind, s.organisation_id, s.country, s.step_key, "
    "s.proposal, s.reason, s.suggested_by, s.suggested_at, s.status, s.decided_at, "
    "s.decision_reason, s.applied_version FROM social_map_suggestions s "
    "JOIN tenants t ON t.id = s.tenant_id"
)


def _row(r: Any) -> Suggestion:
    return Suggestion(
        r.id, r.shelter, SuggestionKind(r.kind), r.organisation_id, r.country, r.step_key,
        r.proposal, r.reason, r.suggested_by, r.suggested_at, SuggestionStatus(r.status),
        r.decided_at, r.decision_reason, r.applied_version,
    )  # fmt: skip


def _suggester(principal: Principal) -> uuid.UUID:
    tenant_id = principal.tenant_id
    if (
        principal.organisation.kind != "shelter"
        or tenant_id is None
        or not SUGGESTING_ROLES & set(principal.roles)
    ):
        raise Forbidden("only users of a shelter suggest changes to the social map")
    return tenant_id


def _text(raw: str | None, label: str, field: str, *, required: bool) -> str | None:
    try:
        cleaned = model.text_value(raw, MAX_REASON, label)
    except model.InvalidValue as exc:
        raise BadUserInput(exc.reason, rule=exc.rule, field=field) from None
    if cleaned is None and required:
        raise BadUserInput(f"a {label} is required", rule="REQUIRED", field=field)
    return cleaned


def _json(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: model.to_json_value(v) for k, v in values.items()}


async def _checked_proposal(
    conn: AsyncConnection,
    kind: SuggestionKind,
    organisation_id: uuid.UUID | None,
    country: str | None,
    step_key: str | None,
    proposal: Mapping[str, Any],
    today: dt.date,
) -> dict[str, Any]:
    """The proposal in stored form, after the checks an editor's own change would get."""
    if kind is SuggestionKind.NEW_ORGANISATION:
        data, problems = model.validate(proposal, today)
        if data is None:
            raise InvalidOrganisation(problems)
        return model.to_json(data)
    if kind is SuggestionKind.ORGANISATION_CHANGE:
        if organisation_id is None:
            raise BadUserInput(
                "say which organisation to change", rule="REQUIRED", field="organisationId"
            )
        current = await repository.get(conn, organisation_id)
        if current is None:
            raise NotFound("organisation not found")
        if not current.active:
            raise BadUserInput(
                "a retired organisation cannot be changed",
                rule="ORGANISATION_RETIRED",
                field="organisationId",
            )
        data, problems = model.validate(model.merged(current.data, proposal), today)
        if data is None:
            raise InvalidOrganisation(problems)
        if not model.diff(current.data, data):
            raise BadUserInput(
                "the suggestion changes nothing", rule="NOTHING_CHANGED", field="organisation"
            )
        return _json({k: getattr(data, k) for k in proposal if k in model.FIELDS})
    if country is None or step_key is None:
        raise BadUserInput(
            "say which country's mechanism and which step to correct",
            rule="REQUIRED",
            field="stepKey" if country is not None else "country",
        )
    mechanism = await mechanisms.get(conn, country)
    if mechanism is None:
        raise NotFound("referral mechanism not found")
    if not mechanism.active:
        raise BadUserInput(
            "a retired mechanism cannot be changed", rule="MECHANISM_RETIRED", field="country"
        )
    fields = {k: v for k, v in proposal.items() if k in mechanism_editing.STEP_FIELDS}
    if not fields:
        raise BadUserInput("the suggestion changes nothing", rule="NOTHING_CHANGED", field="step")
    mechanism_editing.corrected(mechanism, step_key, fields, today)  # raises when invalid
    return fields


async def suggest(
    engine: AsyncEngine,
    principal: Principal,
    kind: SuggestionKind,
    *,
    organisation_id: uuid.UUID | None,
    country: str | None,
    step_key: str | None,
    proposal: Mapping[str, Any],
    reason: str,
    today: dt.date,
) -> Suggestion:
    tenant_id = _suggester(principal)
    why = _text(reason, "reason", "reason", required=True)
    async with tenant_transaction(engine, tenant_id) as conn:
        stored = await _checked_proposal(
            conn, kind, organisation_id, country, step_key, proposal, today
        )
        suggestion_id = uuid.uuid4()
        await conn.execute(
            text(
                "INSERT INTO social_map_suggestions (tenant_id, id, kind, organisation_id, "
                "country, step_key, proposal, reason, suggested_by) VALUES (:t, :id, :kind, "
                ":org, :country, :step, :proposal, :reason, :by)"
            ).bindparams(bindparam("proposal", type_=JSONB)),
            {
                "t": tenant_id,
                "id": suggestion_id,
                "kind": kind.value,
                "org": organisation_id,
                "country": country,
                "step": step_key,
                "proposal": stored,
                "reason": why,
                "by": principal.subject,
            },
        )
        return await _get(conn, suggestion_id)


async def _get(conn: AsyncConnection, suggestion_id: uuid.UUID) -> Suggestion:
    row = (await conn.execute(text(f"{_SELECT} WHERE s.id = :id"), {"id": suggestion_id})).first()
    if row is None:
        raise NotFound("suggestion not found")
    return _row(row)


async def mine(engine: AsyncEngine, principal: Principal) -> list[Suggestion]:
    """The suggestions of the caller's shelter, newest first (row-level security)."""
    tenant_id = _suggester(principal)
    async with tenant_transaction(engine, tenant_id) as conn:
        rows = await conn.execute(
            text(f"{_SELECT} ORDER BY s.suggested_at DESC, s.id LIMIT :n"),
            {"n": MAX_QUEUE},
        )
        return [_row(r) for r in rows]


@asynccontextmanager
async def _editor_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.begin() as conn:
        await conn.execute(text("SELECT set_config('app.social_map_editor', 'on', true)"))
        yield conn


async def queue(
    engine: AsyncEngine, principal: Principal, status: SuggestionStatus | None
) -> list[Suggestion]:
    """Every shelter's suggestions for the editors: oldest pending first."""
    editor(principal, None)
    async with _editor_transaction(engine) as conn:
        rows = await conn.execute(
            text(
                f"{_SELECT} WHERE (CAST(:status AS text) IS NULL OR s.status = :status) "
                "ORDER BY s.status <> 'PENDING', s.suggested_at, s.id LIMIT :n"
            ),
            {"status": status.value if status else None, "n": MAX_QUEUE},
        )
        return [_row(r) for r in rows]


async def _pending(conn: AsyncConnection, suggestion_id: uuid.UUID) -> Suggestion:
    row = (
        await conn.execute(
            text(f"{_SELECT} WHERE s.id = :id FOR UPDATE OF s"),
            {"id": suggestion_id},
        )
    ).first()
    if row is None:
        raise NotFound("suggestion not found")
    found = _row(row)
    if found.status is not SuggestionStatus.PENDING:
        raise BadUserInput(
            f"the suggestion was {found.status.value.lower()} already",
            rule="SUGGESTION_DECIDED",
            field="id",
        )
    return found


async def _decide(
    conn: AsyncConnection,
    suggestion_id: uuid.UUID,
    status: SuggestionStatus,
    actor: Actor,
    reason: str | None,
    applied_version: int | None,
) -> Suggestion:
    await conn.execute(
        text(
            "UPDATE social_map_suggestions SET status = :status, decided_by = :by, "
            "decided_by_organisation = :org, decided_at = now(), decision_reason = :reason, "
            "applied_version = :version WHERE id = :id AND status = 'PENDING'"
        ),
        {
            "status": status.value,
            "by": actor.subject,
            "org": actor.organisation,
            "reason": reason,
            "version": applied_version,
            "id": suggestion_id,
        },
    )
    return await _get(conn, suggestion_id)


async def _apply(conn: AsyncConnection, found: Suggestion, actor: Actor, today: dt.date) -> int:
    """Apply an accepted suggestion to the shared map; the version it made."""
    if found.kind is SuggestionKind.NEW_ORGANISATION:
        data, problems = model.validate(found.proposal, today)
        if data is None:
            raise InvalidOrganisation(problems)
        await editing.ensure_unique(conn, data, None)
        org_id = uuid.uuid4()
        await repository.create(
            conn, repository.create_params(org_id, data, actor, suggestion_id=found.id)
        )
        return 1
    if found.kind is SuggestionKind.ORGANISATION_CHANGE:
        assert found.organisation_id is not None
        current = await repository.get(conn, found.organisation_id, for_update=True)
        if current is None or not current.active:
            raise BadUserInput(
                "the organisation was retired meanwhile: reject the suggestion",
                rule="ORGANISATION_RETIRED",
                field="id",
            )
        data, problems = model.validate(model.merged(current.data, found.proposal), today)
        if data is None:
            raise InvalidOrganisation(problems)
        changed = model.diff(current.data, data)
        if not changed:
            raise BadUserInput(
                "the organisation already says this: reject the suggestion",
                rule="NOTHING_CHANGED",
                field="id",
            )
        await editing.ensure_unique(conn, data, current.id)
        version = await repository.update(
            conn, current.id, current.version, data, changed, actor, suggestion_id=found.id
        )
        assert version is not None  # under the row lock
        return version
    assert found.country is not None
    assert found.step_key is not None
    written = await mechanism_editing.correct_step(
        conn, actor, found.country, found.step_key, found.proposal,
        suggestion_id=found.id, today=today,
    )  # fmt: skip
    return written.version


async def accept(
    engine: AsyncEngine,
    principal: Principal,
    suggestion_id: uuid.UUID,
    *,
    request_id: str | None,
    today: dt.date,
) -> Suggestion:
    actor = editor(principal, request_id)
    async with _editor_transaction(engine) as conn:
        found = await _pending(conn, suggestion_id)
        version = await _apply(conn, found, actor, today)
        return await _decide(conn, suggestion_id, SuggestionStatus.ACCEPTED, actor, None, version)


async def reject(
    engine: AsyncEngine,
    principal: Principal,
    suggestion_id: uuid.UUID,
    reason: str,
    *,
    request_id: str | None,
) -> Suggestion:
    actor = editor(principal, request_id)
    why = _text(reason, "reason", "reason", required=True)
    async with _editor_transaction(engine) as conn:
        await _pending(conn, suggestion_id)
        return await _decide(conn, suggestion_id, SuggestionStatus.REJECTED, actor, why, None)
