"""Command handling for return cases: load the stream, decide, append, project, in one transaction.

``handle`` is the only way a return case changes. It runs in one tenant transaction:

1. an idempotency key that was seen before returns the first result and appends nothing;
2. checks that need more than the case's events (``PRE_CHECKS``: the social map) run;
3. the stream is read and folded into the current state;
4. ``expected_version`` must equal the stream's version (else ``Conflict``);
5. ``decide`` turns the command into events or refuses it (``BadUserInput`` naming the rule);
6. the events are appended and the inline projections updated (in the append's statement,
   unless an event sets the case's personal part: ``inline.rides``);
7. the idempotency receipt is stored.

Any failure rolls the whole transaction back: a refused command leaves no trace.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.auth import Principal, Tenant
from service.db import after_commit, tenant_transaction
from service.domain import return_case as rc
from service.domain.errors import CaseAlreadyExists, CaseNotFound, NotReady, RuleViolation
from service.errors import BadUserInput, Conflict, Forbidden, NotFound
from service.events.projections.inline import RidingCase, project_case, rides
from service.events.store import ConcurrencyConflict, DuplicateReceipt, EventStore, Receipt
from service.events.types import Metadata, RecordedEvent
from service.socialmap import repository as socialmap_repository
from service.socialmap.model import Organisation
from service.transfers import offers as transfer_offers
from service.work.repository import StateCache

STREAM_TYPE = "ReturnCase"
# Attempts of a command whose connection was lost (a whole pool may be terminated at once).
CONNECTION_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Dependencies:
    """Everything a handler needs, wired once in ``service.app``."""

    engine: AsyncEngine
    store: EventStore
    tenants: Mapping[str, Tenant]
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    readiness_policy: rc.ReadinessPolicy = rc.DEFAULT_POLICY
    # Folded case states by (tenant, case, version) for commands and the work lists: one per
    # app, never per module, so nothing outlives the app that made it.
    state_cache: StateCache = field(default_factory=StateCache)


@dataclass(frozen=True, slots=True)
class CommandResult:
    case_id: uuid.UUID
    version: int
    replayed: bool
    # The case's read-model row as the command's transaction stored it (personal fields
    # sealed), when the command appended events; otherwise read it from the read model.
    row: dict[str, Any] | None = None


# Fields the server fills in rather than the caller: not part of what a command asks.
SERVER_FILLED = frozenset(
    {"organisation_country", "erased_on", "written_by", "approved_by", "emergency_authorised"}
)
# Roles that may approve a safety plan and record an emergency departure.
OVERSIGHT_ROLES = frozenset({"tenant-admin", "supervisor"})

# Command fields holding personal data: the names events keep in their personal part. An
# erasure's reason is a code, not personal (see ``ClientPersonalDataErased``).
# A departure's emergency reason becomes the emergency event's personal ``reason``.
PERSONAL_FIELDS: frozenset[str] = frozenset({"emergency_reason"}).union(
    *(e.personal_fields for e in rc.EVENT_TYPES)
)
# The erasure's note is left out of its fingerprint altogether: the client's key, which would
# key its HMAC, is destroyed by that very command, and an unkeyed digest of personal text
# must not outlive it. A retry with another note replays the first erasure.
_ERASURE_UNFINGERPRINTED = frozenset({"note"})
FINGERPRINT_PURPOSE = "idempotency fingerprint"


def _fingerprint_parts(command: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The command's non-personal fields and its personal values, as a fingerprint sees them."""
    opening = isinstance(command, rc.OpenReturnCase)
    personal_names = (
        frozenset() if isinstance(command, rc.EraseClientPersonalData) else PERSONAL_FIELDS
    )
    public: dict[str, Any] = {}
    personal: dict[str, Any] = {}
    for f in dataclasses.fields(command):
        if (opening and f.name == "case_id") or f.name in SERVER_FILLED:
            continue
        if f.name in _ERASURE_UNFINGERPRINTED and isinstance(command, rc.EraseClientPersonalData):
            continue
        value = getattr(command, f.name)
        if f.name not in personal_names:
            public[f.name] = value
        elif value not in (None, ""):
            personal[f.name] = value
    return public, personal


def fingerprint(command: Any, secret: bytes | None = None) -> str:
    """A digest of what the command asks, to tell a true repeat from a reused key.

    The case id counts, except when opening: the server makes a new id for every request.
    An organisation's country comes from the social map, so it does not count either.

    The form is ``<SHA-256 of the non-personal fields>`` and, when the command carries personal
    values, ``.<HMAC-SHA256 of them>`` keyed with ``secret``, derived from the client's data
    key: once erasure destroys that key, no fingerprint can confirm a guessed name. Without a
    secret (a store without encryption) a plain SHA-256 stands in for the HMAC.
    """
    name = type(command).__name__
    public, personal = _fingerprint_parts(command)
    digest = hashlib.sha256(_canonical(name, public)).hexdigest()
    if not personal:
        return digest
    values = _canonical(name, personal)
    if secret is None:
        return f"{digest}.{hashlib.sha256(values).hexdigest()}"
    return f"{digest}.{hmac.new(secret, values, hashlib.sha256).hexdigest()}"


def _canonical(name: str, fields: dict[str, Any]) -> bytes:
    return json.dumps([name, fields], default=str, sort_keys=True).encode()


async def _fingerprint_secret(
    deps: Dependencies,
    conn: AsyncConnection,
    principal: Principal,
    case_id: uuid.UUID,
    command: Any,
    *,
    create: bool,
) -> tuple[bytes | None, bool]:
    """``(secret, erased)``: the client's fingerprint secret, and whether it is gone."""
    cipher = deps.store.cipher
    if cipher is None or not _fingerprint_parts(command)[1]:
        return None, False
    secret = await cipher.client_secret(
        conn, principal.tenant_id, case_id, FINGERPRINT_PURPOSE, create=create
    )
    return secret, secret is None


async def _check_transfer(
    deps: Dependencies, principal: Principal, command: Any, conn: AsyncConnection
) -> Any:
    target = deps.tenants.get(command.to_organisation)
    if target is None or target.kind != "shelter":
        raise BadUserInput(
            "a case can only be transferred to another shelter", rule="UNKNOWN_SHELTER"
        )
    if target.id == principal.tenant_id:
        raise BadUserInput("a case cannot be transferred to its own shelter", rule="SAME_SHELTER")
    return command


# Placeholder for ``organisation_country`` in commands built from API input:
# ``_check_partner`` always replaces it with the country the social map records.
COUNTRY_FROM_SOCIAL_MAP = ""


async def _check_partner(
    deps: Dependencies, principal: Principal, command: Any, conn: AsyncConnection
) -> Any:
    """The partner must be on the social map and active; its country is the map's."""
    organisation = await _require_on_map(conn, command.organisation_id, "organisationId")
    return dataclasses.replace(command, organisation_country=organisation.data.country)


# Commands only some of a shelter's roles may give.
REQUIRED_ROLES: dict[type, str] = {rc.AssignCaseworker: "tenant-admin"}


def require_role(principal: Principal, command_type: type) -> None:
    """Refuse a command that needs a role the caller lacks (``FORBIDDEN``)."""
    role = REQUIRED_ROLES.get(command_type)
    if role is not None and role not in principal.roles:
        raise Forbidden(f"only a {role} may do this")


async def _require_on_map(
    conn: AsyncConnection, organisation_id: uuid.UUID, field: str
) -> Organisation:
    organisation = await socialmap_repository.get(conn, organisation_id)
    return _on_map(organisation, field)


def _on_map(organisation: Organisation | None, field: str) -> Organisation:
    """``organisation``, unless it is missing from the social map or retired from it."""
    if organisation is None:
        raise BadUserInput(
            "the organisation is not on the social map", rule="UNKNOWN_ORGANISATION", field=field
        )
    if not organisation.active:
        raise BadUserInput(
            "the organisation was retired from the social map",
            rule="ORGANISATION_RETIRED",
            field=field,
        )
    return organisation


async def _check_receiver(
    deps: Dependencies, principal: Principal, command: Any, conn: AsyncConnection
) -> Any:
    """A receiving partner organisation must be on the map; its country is the map's."""
    if command.organisation_id is None:
        return command
    organisation = await _require_on_map(conn, command.organisation_id, "organisationId")
    return dataclasses.replace(command, organisation_country=organisation.data.country)


async def _check_plan(
    deps: Dependencies, principal: Principal, command: Any, conn: AsyncConnection
) -> Any:
    """The plan's partner and every responsible organisation must be on the map (all read in
    one statement; the partner is checked first)."""
    goals = [o for o in dict.fromkeys(command.goal_responsible_organisation_ids) if o]
    found = await socialmap_repository.get_many(conn, [command.partner_organisation_id, *goals])
    _on_map(found.get(command.partner_organisation_id), "partnerOrganisationId")
    for organisation_id in goals:
        _on_map(found.get(organisation_id), "goals")
    return command


def _fill_from_principal(principal: Principal, command: Any) -> Any:
    """Facts about the caller that a command carries: who wrote or approved, who may override."""
    if isinstance(command, rc.RecordSafetyPlan):
        return dataclasses.replace(command, written_by=principal.subject)
    if isinstance(command, rc.ApproveSafetyPlan):
        if not principal.has_any(OVERSIGHT_ROLES):
            raise Forbidden("only a tenant admin or supervisor may approve a safety plan")
        return dataclasses.replace(command, approved_by=principal.subject)
    if isinstance(command, rc.RecordDeparture) and command.emergency_reason is not None:
        if not principal.has_any(OVERSIGHT_ROLES):
            raise Forbidden("only a tenant admin or supervisor may record an emergency departure")
        return dataclasses.replace(command, emergency_authorised=True)
    return command


PreCheck = Callable[[Dependencies, Principal, Any, AsyncConnection], Awaitable[Any]]

# Checks that need more than the case's own events, by command type. Each returns the command
# to run (the same, or with fields the server fills in). They run in the command's transaction
# after its receipt was looked for: a repeat of a request that succeeded is answered as then,
# even when the check would now refuse it (say, the partner organisation was retired since).
PRE_CHECKS: dict[type, PreCheck] = {
    rc.TransferCase: _check_transfer,
    rc.ContactPartnerOrganisation: _check_partner,
    rc.GiveConsent: _check_partner,
    rc.RecordArrivalArrangement: _check_receiver,
    rc.AgreeReintegrationPlan: _check_plan,
    rc.ReviseReintegrationPlan: _check_plan,
}


async def handle(
    deps: Dependencies,
    principal: Principal,
    command: Any,
    *,
    expected_version: int,
    idempotency_key: str | None,
    request_id: str,
) -> CommandResult:
    principal.require_case_access()
    require_role(principal, type(command))
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise BadUserInput("idempotencyKey must be 1 to 200 characters", field="idempotencyKey")
    command = _fill_from_principal(principal, command)
    try:
        for attempt in range(1, CONNECTION_ATTEMPTS + 1):
            try:
                return await _decide_and_append(
                    deps, principal, command, expected_version, idempotency_key, request_id
                )
            except DBAPIError as exc:
                if not exc.connection_invalidated or attempt == CONNECTION_ATTEMPTS:
                    raise
                # The connection died (a restart, a failover, pg_terminate_backend): the
                # transaction rolled back, so a retry on a fresh connection is safe. If the
                # commit itself reached the server, the retry meets the new version: a
                # CONFLICT, or with an idempotency key the first result.
                await asyncio.sleep(0.02 * attempt)
        raise AssertionError("unreachable")
    except (DuplicateReceipt, Conflict):
        if idempotency_key is None:
            raise
        # A concurrent request with the same key may have committed first: answer as it did.
        async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
            receipt = await deps.store.find_receipt(conn, idempotency_key)
        if receipt is None:
            raise
        return await _replay(deps, principal, receipt, command)


async def _replay(
    deps: Dependencies,
    principal: Principal,
    receipt: Receipt,
    command: Any,
    conn: AsyncConnection | None = None,
) -> CommandResult:
    if conn is None:
        async with tenant_transaction(deps.engine, principal.tenant_id) as own:
            same = await _same_request(deps, own, principal, receipt, command)
    else:
        same = await _same_request(deps, conn, principal, receipt, command)
    if not same:
        raise BadUserInput(
            "this idempotencyKey was already used for a different request",
            rule="IDEMPOTENCY_KEY_REUSED",
            field="idempotencyKey",
        )
    return CommandResult(receipt.stream_id, receipt.result_version, replayed=True)


async def _same_request(
    deps: Dependencies, conn: AsyncConnection, principal: Principal, receipt: Receipt, command: Any
) -> bool:
    secret, erased = await _fingerprint_secret(
        deps, conn, principal, receipt.stream_id, command, create=False
    )
    if erased:
        # The client's key was destroyed: only the non-personal part can still be compared.
        stored, dot, _ = receipt.fingerprint.partition(".")
        return bool(dot) and stored == fingerprint(command).partition(".")[0]
    return receipt.fingerprint == fingerprint(command, secret)


def _state_of(
    deps: Dependencies, tenant_id: uuid.UUID, case_id: uuid.UUID, stream: list[RecordedEvent]
) -> rc.ReturnCase | None:
    """The state ``stream`` folds to (read unopened, no erasure in it): as an earlier command
    or work list kept it at the stream's version, or folded now."""
    if not stream:
        return None
    kept = deps.state_cache.get((tenant_id, case_id, stream[-1].version))
    return kept if kept is not None else rc.fold(r.event for r in stream)


async def _decide_and_append(
    deps: Dependencies,
    principal: Principal,
    command: Any,
    expected_version: int,
    idempotency_key: str | None,
    request_id: str,
) -> CommandResult:
    store = deps.store
    async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
        receipt, stream = await store.read_stream_after_receipt(
            conn, command.case_id, idempotency_key
        )
        if receipt is not None:
            return await _replay(deps, principal, receipt, command, conn)
        pre_check = PRE_CHECKS.get(type(command))
        if pre_check is not None:
            command = await pre_check(deps, principal, command, conn)
        if rc.folds_without_personal_values(r.event_type for r in stream):
            state = _state_of(deps, principal.tenant_id, command.case_id, stream)
        else:  # after an erasure the fold reads whether later events carry personal data
            stream = await store.open(conn, stream)
            state = rc.fold(r.event for r in stream)
        current = state.version if state is not None else 0
        if current != expected_version:
            if state is None:
                raise NotFound("return case not found")
            raise Conflict(
                f"the case is at version {current}, not {expected_version}",
                current_version=current,
            )
        try:
            # Today anywhere on Earth (UTC+14): a date recorded there today is not "future".
            today = (deps.clock() + dt.timedelta(hours=14)).date()
            events = rc.decide(state, command, deps.readiness_policy, today=today)
        except NotReady as exc:
            error = BadUserInput(exc.message, rule=exc.rule)
            error.extensions.update({"missing": list(exc.missing)})
            raise error from None
        except RuleViolation as exc:
            raise BadUserInput(exc.message, rule=exc.rule) from None
        except CaseNotFound:
            raise NotFound("return case not found") from None
        except CaseAlreadyExists:
            raise Conflict("the case exists already", current_version=current) from None
        version = current
        stored: dict[str, Any] | None = None
        saved: tuple[str, Receipt] | None = None  # the receipt, saved with the events
        if events and idempotency_key is not None:
            # With the client's key at hand (or no personal values to fingerprint), the
            # receipt is known now and rides on the append; a key the append itself creates
            # (a new case) comes first, so that receipt follows as before.
            secret, missing = await _fingerprint_secret(
                deps, conn, principal, command.case_id, command, create=False
            )
            if not missing:
                saved = (
                    idempotency_key,
                    Receipt(
                        command.case_id,
                        type(command).__name__,
                        fingerprint(command, secret),
                        expected_version + len(events),
                    ),
                )
        if events:
            metadata = Metadata(
                actor=principal.subject,
                organisation=principal.organisation.slug,
                role=principal.primary_role,
                request_id=request_id,
                correlation_id=request_id,
                idempotency_key=idempotency_key,
            )
            # The read models ride on the append's statement, unless the row's personal part
            # changes (it is sealed first, with the key a new case's append makes).
            riding = RidingCase(stream) if rides(events) else None
            try:
                recorded = await store.append(
                    conn,
                    tenant_id=principal.tenant_id,
                    stream_id=command.case_id,
                    stream_type=STREAM_TYPE,
                    expected_version=expected_version,
                    events=events,
                    metadata=metadata,
                    occurred_at=deps.clock(),
                    receipt=saved,
                    riding=riding,
                )
            except ConcurrencyConflict as exc:
                raise Conflict(
                    f"the case is at version {exc.current}, not {exc.expected}",
                    current_version=exc.current,
                ) from None
            if riding is None:
                stored = await project_case(conn, [*stream, *recorded], recorded, store.cipher)
            else:
                stored = riding.stored(recorded)
            version = recorded[-1].version
            # The state the next command on the case starts from, once this one is committed.
            after = state
            for r in recorded:
                after = rc.evolve(after, r.event)
            assert after is not None
            after_commit(
                conn,
                functools.partial(
                    deps.state_cache.advance,
                    (principal.tenant_id, command.case_id, current),
                    (principal.tenant_id, command.case_id, version),
                    after,
                ),
            )
            if store.cipher is not None and any(
                isinstance(r.event, rc.ClientPersonalDataErased) for r in recorded
            ):
                # Crypto-shredding: with the client's key gone, what the log and the read
                # models hold of them can no longer be read. Same transaction as the event.
                await store.cipher.forget(conn, principal.tenant_id, command.case_id)
            if any(isinstance(r.event, rc.ClientPersonalDataErased) for r in recorded):
                stored = None  # what erasure changed is read from the read model again
                # A waiting transfer offer of this case carries no personal data any more.
                await transfer_offers.forget_for_case(
                    conn, store.cipher, principal.tenant_id, command.case_id
                )
        if idempotency_key is not None and saved is None:
            secret, _ = await _fingerprint_secret(
                deps, conn, principal, command.case_id, command, create=True
            )
            await store.save_receipt(
                conn,
                tenant_id=principal.tenant_id,
                key=idempotency_key,
                receipt=Receipt(
                    command.case_id, type(command).__name__, fingerprint(command, secret), version
                ),
            )
        return CommandResult(command.case_id, version, replayed=False, row=stored)
