"""What every case mutation shares: the input's envelope and the way a command is run."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import strawberry

from service.db import tenant_transaction
from service.events.projections import return_cases
from service.handlers.return_case import handle
from service.schema.context import Info
from service.schema.ids import from_global_id, reject_nul
from service.schema.types import ReturnCase, ReturnCasePayload

CASE_INPUT = strawberry.argument(
    description="What to record, with the case's id and the expectedVersion you last read."
)


@strawberry.input
class CaseCommandInput:
    case_id: strawberry.ID = strawberry.field(
        description="The global ID of the return case (ReturnCase.id)."
    )
    expected_version: int = strawberry.field(
        description="The case version this change was decided on; a stale one gets CONFLICT."
    )
    idempotency_key: str | None = strawberry.field(
        default=None, description="Send the same key to repeat a request safely."
    )


def _domain_value(name: str, value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_domain_value(name, v) for v in value)
    if isinstance(value, str):
        reject_nul(value, name)
    if name.endswith("_id") and isinstance(value, str):
        # organisation_id -> an "Organisation" global ID, referral_id -> a "Referral" one.
        type_name = "".join(p.capitalize() for p in name.removesuffix("_id").split("_"))
        camel = name.split("_")[0] + "".join(p.capitalize() for p in name.split("_")[1:])
        return from_global_id(type_name, value, field=camel)
    return value


def build_command(command_type: type, input: Any, case_id: uuid.UUID, **given: Any) -> Any:
    """The command of ``command_type`` from the input fields of the same names.

    ``given`` supplies fields that the server decides rather than the caller (new IDs).
    """
    kwargs = {
        f.name: _domain_value(f.name, getattr(input, f.name))
        for f in dataclasses.fields(command_type)
        if f.name != "case_id" and f.name not in given
    }
    return command_type(case_id=case_id, **kwargs, **given)


async def run(
    info: Info,
    command: Any,
    expected_version: int,
    idempotency_key: str | None,
) -> ReturnCasePayload:
    ctx = info.context
    result = await handle(
        ctx.deps,
        ctx.principal,
        command,
        expected_version=expected_version,
        idempotency_key=idempotency_key,
        request_id=ctx.request_id,
    )
    row = result.row  # as the command's own transaction stored it
    if row is None:  # a replay, or a command that changed nothing
        async with tenant_transaction(ctx.deps.engine, ctx.principal.tenant_id) as conn:
            row = await return_cases.get_case(conn, result.case_id)
    assert row is not None
    return ReturnCasePayload(
        case=ReturnCase.from_row(row), version=result.version, replayed=result.replayed
    )


async def run_case_command(
    info: Info, command_type: type, input: CaseCommandInput
) -> ReturnCasePayload:
    """Run a command on an existing case, built from ``input``."""
    case_id = from_global_id("ReturnCase", input.case_id, field="caseId")
    command = build_command(command_type, input, case_id)
    return await run(info, command, input.expected_version, input.idempotency_key)
