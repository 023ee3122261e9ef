"""The two-party flow of a transfer: offer, withdraw, accept, decline.

Each step is one database transaction. When the receiving shelter acts (accept, decline),
the same transaction switches ``app.tenant_id`` to the sending shelter to write the sending
case's events and destroy the offer's key, and back to the receiving shelter to open the new
case: row-level security applies to every statement, each side's rows are written under that
side's tenant, and either everything commits or nothing does. The caller only ever reaches
the other side's case through the offer it is a party to; no query returns it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from service.auth import Principal, Tenant
from service.db import set_tenant, tenant_transaction
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.domain.errors import CaseAlreadyExists, CaseNotFound, RuleViolation
from service.domain.return_case import transfer as tr
from service.errors import BadUserInput, Conflict, NotFound
from service.events.projections import return_cases
from service.events.projections.inline import project_case
from service.events.store import WRITER_BEGIN, ConcurrencyConflict
from service.events.types import Metadata, RecordedEvent
from service.handlers.return_case import STREAM_TYPE, Dependencies
from service.privacy import open_read_model_personal
from service.socialmap.seed import organisation_id
from service.transfers import offers

# How the receiving shelter appears in the metadata of events it caused on the sending case:
# the organisation, never a person of that other shelter.
TRANSFER_ACTOR = "transfer"


@dataclass(frozen=True, slots=True)
class Outcome:
    offer: offers.OfferRow
    case_id: uuid.UUID | None


def _tenant_by_id(deps: Dependencies, tenant_id: uuid.UUID) -> Tenant:
    for tenant in deps.tenants.values():
        if tenant.id == tenant_id:
            return tenant
    raise NotFound("transfer offer not found")


async def _append(
    deps: Dependencies,
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    case_id: uuid.UUID,
    stream: Sequence[RecordedEvent],
    events: list[rc.Event],
    metadata: Metadata,
) -> list[RecordedEvent]:
    expected = stream[-1].version if stream else 0
    try:
        recorded = await deps.store.append(
            conn,
            tenant_id=tenant_id,
            stream_id=case_id,
            stream_type=STREAM_TYPE,
            expected_version=expected,
            events=events,
            metadata=metadata,
            occurred_at=deps.clock(),
        )
    except ConcurrencyConflict as exc:
        raise Conflict(
            f"the case is at version {exc.current}, not {exc.expected}",
            current_version=exc.current,
        ) from None
    await project_case(conn, [*stream, *recorded], recorded, deps.store.cipher)
    return recorded


def _decide(
    deps: Dependencies, state: rc.ReturnCase | None, command: tr.TransferCommand
) -> list[rc.Event]:
    # Today anywhere on Earth (UTC+14): a date recorded there today is not "future".
    today = (deps.clock() + dt.timedelta(hours=14)).date()
    try:
        return tr.decide_transfer(state, command, today=today)
    except RuleViolation as exc:
        raise BadUserInput(exc.message, rule=exc.rule) from None
    except CaseNotFound:
        raise NotFound("return case not found") from None


def _metadata(principal: Principal, request_id: str, *, own: bool) -> Metadata:
    return Metadata(
        actor=principal.subject if own else TRANSFER_ACTOR,
        organisation=principal.organisation.slug,
        role=principal.primary_role if own else TRANSFER_ACTOR,
        request_id=request_id,
        correlation_id=request_id,
        idempotency_key=None,
    )


def _value(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_value(x) for x in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


async def offer_transfer(
    deps: Dependencies,
    principal: Principal,
    *,
    case_id: uuid.UUID,
    expected_version: int,
    to_shelter: str,
    offered_on: dt.date,
    share_personal_data: bool,
    reason: str,
    request_id: str,
) -> Outcome:
    """Offer the case to ``to_shelter`` (a tenant slug); the case stays open meanwhile."""
    principal.require_case_access()
    target = deps.tenants.get(to_shelter.strip())
    if target is None or target.kind != "shelter":
        raise BadUserInput(
            "a case can only be transferred to another shelter",
            rule="UNKNOWN_SHELTER",
            field="toShelter",
        )
    if target.id == principal.tenant_id:
        raise BadUserInput(
            "a case cannot be transferred to its own shelter",
            rule="SAME_SHELTER",
            field="toShelter",
        )
    offer_id = uuid.uuid4()
    store = deps.store
    async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
        # Every path here appends events: announce the writer before the first write.
        await conn.execute(WRITER_BEGIN)
        stream = await store.read_stream(conn, case_id)
        state = rc.fold(r.event for r in stream)
        if state is None:
            raise NotFound("return case not found")
        if state.version != expected_version:
            raise Conflict(
                f"the case is at version {state.version}, not {expected_version}",
                current_version=state.version,
            )
        command = tr.OfferTransfer(
            case_id=case_id,
            offer_id=offer_id,
            to_organisation=target.slug,
            to_organisation_id=organisation_id(target.slug),
            offered_on=offered_on,
            share_personal_data=share_personal_data,
            reason=reason,
        )
        events = _decide(deps, state, command)
        await _append(
            deps, conn, principal.tenant_id, case_id, stream, events,
            _metadata(principal, request_id, own=True),
        )  # fmt: skip
        row = await return_cases.get_case(conn, case_id)
        assert row is not None
        facts = {
            "pseudonym": row["pseudonym"],
            "gender": row["gender"],
            "birth_year": row["birth_year"],
            "nationality": row["nationality"],
            "country_of_origin": row["country_of_origin"],
            "languages": _value(row["languages"]),
            "exploitation_forms": _value(row["exploitation_forms"]),
            "first_intake_date": _value(row["intake_date"]),
            "phase": state.phase.value,
            "return_conversations": state.return_conversations,
            "latest_wish": None if state.latest_wish is None else state.latest_wish.value,
            "departure_obligation": state.departure_obligation,
            "residence_status": row["residence_status"],
            "risk_level": None if state.risk_level is None else state.risk_level.value,
        }
        personal: dict[str, Any] | None = None
        if share_personal_data and row["personal"] is not None:
            opened = await open_read_model_personal(
                conn, store, principal.tenant_id, [(case_id, row["personal"])]
            )
            if opened[0] is not None:
                personal = {
                    k: opened[0][k]
                    for k in ("full_name", "date_of_birth")
                    if opened[0].get(k) is not None
                }
        await offers.insert(
            conn,
            offer_id=offer_id,
            sending_tenant_id=principal.tenant_id,
            receiving_tenant_id=target.id,
            sending_case_id=case_id,
            offered_on=offered_on,
            shares_personal_data=share_personal_data,
            facts=facts,
            personal=await offers.seal(conn, store.cipher, principal.tenant_id, offer_id, personal),
        )
        offer = await offers.get(conn, offer_id)
    assert offer is not None
    return Outcome(offer, case_id)


async def _waiting_offer(
    conn: AsyncConnection, offer_id: uuid.UUID, *, as_receiver: bool, tenant_id: uuid.UUID
) -> offers.OfferRow:
    offer = await offers.get(conn, offer_id, for_update=True)
    party = (
        None
        if offer is None
        else (offer.receiving_tenant_id if as_receiver else offer.sending_tenant_id)
    )
    if offer is None or party != tenant_id:
        raise NotFound("transfer offer not found")
    if offer.status != "OFFERED":
        raise BadUserInput("the transfer offer was answered already", rule="NO_PENDING_TRANSFER")
    return offer


async def withdraw_transfer(
    deps: Dependencies,
    principal: Principal,
    *,
    offer_id: uuid.UUID,
    withdrawn_on: dt.date,
    reason: str | None,
    request_id: str,
) -> Outcome:
    """The sending shelter takes its offer back; the case stays open there."""
    principal.require_case_access()
    store = deps.store
    async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
        # Every path here appends events: announce the writer before the first write.
        await conn.execute(WRITER_BEGIN)
        offer = await _waiting_offer(
            conn, offer_id, as_receiver=False, tenant_id=principal.tenant_id
        )
        stream = await store.read_stream(conn, offer.sending_case_id)
        state = rc.fold(r.event for r in stream)
        command = tr.WithdrawTransferOffer(
            case_id=offer.sending_case_id,
            offer_id=offer_id,
            withdrawn_on=withdrawn_on,
            reason=reason,
        )
        events = _decide(deps, state, command)
        await _append(
            deps, conn, principal.tenant_id, offer.sending_case_id, stream, events,
            _metadata(principal, request_id, own=True),
        )  # fmt: skip
        await offers.answer(conn, offer, "WITHDRAWN", withdrawn_on)
        await offers.destroy_key(conn, store.cipher, principal.tenant_id, offer_id)
        answered = await offers.get(conn, offer_id)
    assert answered is not None
    return Outcome(answered, offer.sending_case_id)


async def decline_transfer(
    deps: Dependencies,
    principal: Principal,
    *,
    offer_id: uuid.UUID,
    declined_on: dt.date,
    reason: str,
    request_id: str,
) -> Outcome:
    """The receiving shelter declines; the sending case stays open and records why."""
    principal.require_case_access()
    store = deps.store
    async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
        # Every path here appends events: announce the writer before the first write.
        await conn.execute(WRITER_BEGIN)
        offer = await _waiting_offer(
            conn, offer_id, as_receiver=True, tenant_id=principal.tenant_id
        )
        sender = offer.sending_tenant_id
        await set_tenant(conn, sender)
        stream = await store.read_stream(conn, offer.sending_case_id)
        state = rc.fold(r.event for r in stream)
        command = tr.RecordTransferDeclined(
            case_id=offer.sending_case_id, offer_id=offer_id, declined_on=declined_on, reason=reason
        )
        events = _decide(deps, state, command)
        await _append(
            deps, conn, sender, offer.sending_case_id, stream, events,
            _metadata(principal, request_id, own=False),
        )  # fmt: skip
        await offers.answer(conn, offer, "DECLINED", declined_on)
        await offers.destroy_key(conn, store.cipher, sender, offer_id)
        await set_tenant(conn, principal.tenant_id)
        answered = await offers.get(conn, offer_id)
    assert answered is not None
    return Outcome(answered, None)


def _enum(cls: Any, value: Any) -> Any:
    return None if value is None else cls(value)


async def accept_transfer(
    deps: Dependencies,
    principal: Principal,
    *,
    offer_id: uuid.UUID,
    accepted_on: dt.date,
    request_id: str,
) -> Outcome:
    """The receiving shelter accepts: a new case opens here, the sending case closes there.

    The shared personal data is opened with the offer's key (in the sending tenant), sealed
    again under the new case's own key (in the receiving tenant), and the offer's key is
    destroyed; the sending case's key is never used outside the sending tenant.
    """
    principal.require_case_access()
    store = deps.store
    new_case_id = uuid.uuid4()
    async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
        # Every path here appends events: announce the writer before the first write.
        await conn.execute(WRITER_BEGIN)
        offer = await _waiting_offer(
            conn, offer_id, as_receiver=True, tenant_id=principal.tenant_id
        )
        sender = offer.sending_tenant_id
        sender_slug = _tenant_by_id(deps, sender).slug
        # The sending side, in a transaction setting of the sending tenant.
        await set_tenant(conn, sender)
        stream = await store.read_stream(conn, offer.sending_case_id)
        state = rc.fold(r.event for r in stream)
        command = tr.CompleteTransfer(
            case_id=offer.sending_case_id,
            offer_id=offer_id,
            to_organisation_id=organisation_id(principal.organisation.slug),
            transferred_on=accepted_on,
        )
        events = _decide(deps, state, command)
        personal = await offers.open_personal(conn, store.cipher, offer) or {}
        await _append(
            deps, conn, sender, offer.sending_case_id, stream, events,
            _metadata(principal, request_id, own=False),
        )  # fmt: skip
        await offers.destroy_key(conn, store.cipher, sender, offer_id)
        # The receiving side.
        await set_tenant(conn, principal.tenant_id)
        f = offer.facts
        birth = personal.get("date_of_birth")
        receive = tr.ReceiveTransferredCase(
            case_id=new_case_id,
            offer_id=offer_id,
            from_organisation=sender_slug,
            intake_date=accepted_on,
            first_intake_date=dt.date.fromisoformat(f["first_intake_date"]),
            pseudonym=f["pseudonym"],
            gender=v.Gender(f["gender"]),
            birth_year=f["birth_year"],
            nationality=f["nationality"],
            country_of_origin=f["country_of_origin"],
            languages=tuple(f["languages"]),
            exploitation_forms=tuple(v.ExploitationForm(x) for x in f["exploitation_forms"]),
            return_conversations=int(f["return_conversations"]),
            latest_wish=_enum(v.ReturnWish, f["latest_wish"]),
            departure_obligation=bool(f["departure_obligation"]),
            residence_status=_enum(v.ResidenceStatus, f["residence_status"]),
            risk_level=_enum(v.RiskLevel, f["risk_level"]),
            full_name=personal.get("full_name"),
            date_of_birth=None if birth is None else dt.date.fromisoformat(str(birth)),
        )
        try:
            received = tr.receive_transferred_case(None, receive)
        except RuleViolation as exc:
            raise BadUserInput(exc.message, rule=exc.rule) from None
        except CaseAlreadyExists:
            raise Conflict("the case exists already", current_version=0) from None
        await _append(
            deps, conn, principal.tenant_id, new_case_id, [], received,
            _metadata(principal, request_id, own=True),
        )  # fmt: skip
        await offers.answer(conn, offer, "ACCEPTED", accepted_on, new_case_id)
        answered = await offers.get(conn, offer_id)
    assert answered is not None
    return Outcome(answered, new_case_id)
