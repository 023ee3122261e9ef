"""Mutation ``eraseClientPersonalData``: crypto-shred a client's personal data (tenant admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from service.db import tenant_transaction
from service.domain import vocabulary as v
from service.events.projections import return_cases
from service.privacy.erasure import erase_client_personal_data as erase
from service.privacy.erasure import require_erasure_right
from service.schema.context import Info
from service.schema.ids import from_global_id, reject_nul
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput
from service.schema.types import ReturnCase, ReturnCasePayload


@strawberry.input(description="Erase the personal data of a case's client.")
class EraseClientPersonalDataInput(CaseCommandInput):
    reason: v.ErasureReason = strawberry.field(
        description="Why, as a code: kept readable after the erasure and sent to the "
        "shelter's integrators."
    )
    note: str | None = strawberry.field(
        default=None,
        description="Optional details (up to 4000 characters). Personal data: encrypted with "
        "the client's key and erased with the rest, so nobody can read it afterwards; keep "
        "what you must keep in your register of erasure requests.",
    )


async def erase_client_personal_data(
    info: Info, input: Annotated[EraseClientPersonalDataInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Destroy the client's key: name, date of birth and every note become unreadable for
    good, in the log and in the read models. The case stays, and still counts in reports. A
    second erasure changes nothing."""
    ctx = info.context
    require_erasure_right(ctx.principal)
    case_id = from_global_id("ReturnCase", input.case_id, field="caseId")
    if input.note is not None:
        reject_nul(input.note, "note")
    result = await erase(
        ctx.deps,
        ctx.principal,
        case_id,
        expected_version=input.expected_version,
        reason=input.reason,
        note=input.note,
        idempotency_key=input.idempotency_key,
        request_id=ctx.request_id,
    )
    async with tenant_transaction(ctx.deps.engine, ctx.principal.tenant_id) as conn:
        row = await return_cases.get_case(conn, result.case_id)
    assert row is not None
    return ReturnCasePayload(
        case=ReturnCase.from_row(row), version=result.version, replayed=result.replayed
    )
