"""Command handling for return cases: load the stream, decide, append, project, in one transaction.

``handle`` is the only way a return case changes. It runs in one tenant transaction:

1. an idempotency key that was seen before returns the first result and appends nothing;
2. the stream is read and folded into the current state;
3. ``expected_version`` must equal the stream's version (else ``Conflict``);
4. ``decide`` turns the command into events or refuses it (``BadUserInput`` naming the rule);
5. the events are appended and the inline projections updated;
6. the idempotency receipt is stored.

Any failure rolls the whole transaction back: a refused command leaves no trace.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.auth import Principal, Tenant
from service.db import tenant_transaction
from service.domain import return_case as rc
from service.domain.errors import CaseAlreadyExists, CaseNotFound, RuleViolation
from service.errors import BadUserInput, Conflict, NotFound
from service.events.projections.inline import project_case
from service.events.store import ConcurrencyConflict, DuplicateReceipt, EventStore, Receipt
from service.events.types import Metadata

STREAM_TYPE = "ReturnCase"


@dataclass(frozen=True, slots=True)
class Dependencies:
    """Everything a handler needs, wired once in ``service.app``."""

    engine: AsyncEngine
    store: EventStore
    tenants: Mapping[str, Tenant]
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class CommandResult:
    case_id: uuid.UUID
    version: int
    replayed: bool


def fingerprint(command: Any) -> str:
    """A digest of what the command asks, to tell a true repeat from a reused key.

    The case id counts, except when opening: the server makes a new id for every request.
    """
    opening = isinstance(command, rc.OpenReturnCase)
    fields = {
        f.name: getattr(command, f.name)
        for f in dataclasses.fields(command)
        if not (opening and f.name == "case_id")
    }
    canonical = json.dumps([type(command).__name__, fields], default=str, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _check_transfer(deps: Dependencies, principal: Principal, command: Any) -> None:
    target = deps.tenants.get(command.to_organisation)
    if target is None or target.kind != "shelter":
        raise BadUserInput(
            "a case can only be transferred to another shelter", rule="UNKNOWN_SHELTER"
        )
    if target.id == principal.tenant_id:
        raise BadUserInput("a case cannot be transferred to its own shelter", rule="SAME_SHELTER")


PreCheck = Callable[[Dependencies, Principal, Any], Awaitable[None]]

# Checks that need more than the case's own events, by command type.
PRE_CHECKS: dict[type, PreCheck] = {
    rc.TransferCase: _check_transfer,
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
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise BadUserInput("idempotencyKey must be 1 to 200 characters", field="idempotencyKey")
    pre_check = PRE_CHECKS.get(type(command))
    if pre_check is not None:
        await pre_check(deps, principal, command)
    try:
        try:
            return await _decide_and_append(
                deps, principal, command, expected_version, idempotency_key, request_id
            )
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # The connection died (a restart, a failover, pg_terminate_backend): the
            # transaction rolled back, so one retry on a fresh connection is safe. If the
            # commit itself reached the server, the retry meets the new version: a CONFLICT,
            # or with an idempotency key the first result.
            return await _decide_and_append(
                deps, principal, command, expected_version, idempotency_key, request_id
            )
    except (DuplicateReceipt, Conflict):
        if idempotency_key is None:
            raise
        # A concurrent request with the same key may have committed first: answer as it did.
        async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
            receipt = await deps.store.find_receipt(conn, idempotency_key)
        if receipt is None:
            raise
        return _replay(receipt, command)


def _replay(receipt: Receipt, command: Any) -> CommandResult:
    if receipt.fingerprint != fingerprint(command):
        raise BadUserInput(
            "this idempotencyKey was already used for a different request",
            rule="IDEMPOTENCY_KEY_REUSED",
            field="idempotencyKey",
        )
    return CommandResult(receipt.stream_id, receipt.result_version, replayed=True)


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
        if idempotency_key is not None:
            receipt = await store.find_receipt(conn, idempotency_key)
            if receipt is not None:
                return _replay(receipt, command)
        stream = await store.read_stream(conn, command.case_id)
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
            events = rc.decide(state, command)
        except RuleViolation as exc:
            raise BadUserInput(exc.message, rule=exc.rule) from None
        except CaseNotFound:
            raise NotFound("return case not found") from None
        except CaseAlreadyExists:
            raise Conflict("the case exists already", current_version=current) from None
        version = current
        if events:
            metadata = Metadata(
                actor=principal.subject,
                organisation=principal.organisation.slug,
                role=principal.primary_role,
                request_id=request_id,
                correlation_id=request_id,
                idempotency_key=idempotency_key,
            )
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
                )
            except ConcurrencyConflict as exc:
                raise Conflict(
                    f"the case is at version {exc.current}, not {exc.expected}",
                    current_version=exc.current,
                ) from None
            await project_case(conn, [*stream, *recorded], recorded)
            version = recorded[-1].version
        if idempotency_key is not None:
            await store.save_receipt(
                conn,
                tenant_id=principal.tenant_id,
                key=idempotency_key,
                receipt=Receipt(
                    command.case_id, type(command).__name__, fingerprint(command), version
                ),
            )
        return CommandResult(command.case_id, version, replayed=False)
