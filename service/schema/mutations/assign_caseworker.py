"""Mutation ``assignCaseworker``: make a user of the shelter responsible for a case."""

from __future__ import annotations

from typing import Annotated

import strawberry

from service.db import tenant_transaction
from service.domain import return_case as rc
from service.errors import NotFound
from service.events.projections import return_cases
from service.handlers.return_case import require_role
from service.schema.context import Info
from service.schema.ids import from_global_id, reject_nul
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run
from service.schema.types import ReturnCasePayload


@strawberry.input(description="Assign a case to a case worker of the shelter.")
class AssignCaseworkerInput(CaseCommandInput):
    subject: str = strawberry.field(
        description="The case worker's user id: the subject (`sub`) of their token, as "
        "`me.subject` shows it."
    )


async def assign_caseworker(
    info: Info, input: Annotated[AssignCaseworkerInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Assign a case to a case worker (tenant admins only), dated today. The case then
    shows in that user's myCases and myWork."""
    ctx = info.context
    require_role(ctx.principal, rc.AssignCaseworker)
    case_id = from_global_id("ReturnCase", input.case_id, field="caseId")
    reject_nul(input.subject, "subject")
    async with tenant_transaction(ctx.deps.engine, ctx.principal.tenant_id) as conn:
        row = await return_cases.get_case(conn, case_id)
    if row is None:
        raise NotFound("return case not found")
    # Dated today, or on the intake date for a case whose intake lies ahead.
    command = rc.AssignCaseworker(
        case_id=case_id,
        caseworker=input.subject,
        assigned_on=max(ctx.deps.clock().date(), row["intake_date"]),
    )
    return await run(info, command, input.expected_version, input.idempotency_key)
