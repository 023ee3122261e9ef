"""Mutation ``recordFollowUp``: record a follow-up contact after return."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.ids import from_global_id, reject_nul
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run
from service.schema.types import ReturnCasePayload


@strawberry.input(description="The client's situation in one domain of the reintegration plan.")
class DomainSituationInput:
    domain: v.PlanDomain = strawberry.field(description="The plan domain.")
    situation: v.ClientSituation = strawberry.field(
        description="The situation found in that domain."
    )


@strawberry.input(description="A follow-up contact after return.")
class RecordFollowUpInput(CaseCommandInput):
    contacted_on: dt.date = strawberry.field(
        description="The day of the contact (or attempt); not before departure."
    )
    reached: bool = strawberry.field(
        description="Whether anyone was reached: the client, a partner organisation or family."
    )
    situation: v.ClientSituation | None = strawberry.field(
        default=None,
        description="The client's overall situation; required when someone was reached, "
        "absent otherwise (SITUATION_MISMATCH).",
    )
    notes: str | None = strawberry.field(
        default=None,
        description="What was found (at most 4000 characters). Personal data: encrypted, erasable.",
    )
    reached_parties: list[v.ReachedParty] | None = strawberry.field(
        default=None,
        description="Who was reached; the client when left out on a contact that reached someone.",
    )
    domain_situations: list[DomainSituationInput] | None = strawberry.field(
        default=None,
        description="The situation per plan domain, each domain at most once; only when "
        "someone was reached.",
    )
    danger_signs: list[v.DangerSign] | None = strawberry.field(
        default=None, description="Signs of re-trafficking or danger noticed."
    )
    escalation_needed: bool = strawberry.field(
        default=False,
        description="Whether the contact calls for escalation; it stays on the work list "
        "until an escalation is recorded with escalateFollowUp.",
    )


async def record_follow_up(
    info: Info, input: Annotated[RecordFollowUpInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record a follow-up contact after return: who was reached, the situation per plan
    domain, signs of danger and whether escalation is needed. Follows any departure, a forced
    one included."""
    case_id = from_global_id("ReturnCase", input.case_id, field="caseId")
    if input.notes is not None:
        reject_nul(input.notes, "notes")
    command = rc.RecordFollowUp(
        case_id=case_id,
        contacted_on=input.contacted_on,
        reached=input.reached,
        situation=input.situation,
        notes=input.notes,
        reached_parties=tuple(input.reached_parties or ()),
        domain_situations=tuple((d.domain, d.situation) for d in input.domain_situations or ()),
        danger_signs=tuple(input.danger_signs or ()),
        escalation_needed=input.escalation_needed,
    )
    return await run(info, command, input.expected_version, input.idempotency_key)
