"""Mutation ``recordDeparture``.

Record that the client has left (independent, assisted or forced).
"""

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


@strawberry.input(description="Why a departure that is not ready had to happen anyway.")
class EmergencyInput:
    reason: str = strawberry.field(
        description="The reason for the emergency (personal: kept encrypted)."
    )


@strawberry.input(description="A departure that happened.")
class RecordDepartureInput(CaseCommandInput):
    departed_on: dt.date = strawberry.field(description="The day the client left.")
    mode: v.DepartureMode = strawberry.field(
        description="INDEPENDENT, ASSISTED, or FORCED (carried out by DT&V and reported)."
    )
    destination_country: str = strawberry.field(
        description="ISO 3166-1 alpha-2 code; the one in the arrival arrangement, if any."
    )
    emergency: EmergencyInput | None = strawberry.field(
        default=None,
        description="Only for tenant admins and supervisors: record an independent or "
        "assisted departure that is not ready, with the reason.",
    )


async def record_departure(
    info: Info, input: Annotated[RecordDepartureInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record that the client has left. An independent or assisted departure must be ready
    (else NOT_READY naming every missing item); a forced return needs a departure obligation
    and refused help or a passed deadline."""
    case_id = from_global_id("ReturnCase", input.case_id, field="caseId")
    reject_nul(input.destination_country, "destination_country")
    reason = None
    if input.emergency is not None:
        reject_nul(input.emergency.reason, "emergency")
        reason = input.emergency.reason
    command = rc.RecordDeparture(
        case_id=case_id,
        departed_on=input.departed_on,
        mode=input.mode,
        destination_country=input.destination_country,
        emergency_reason=reason,
    )
    return await run(info, command, input.expected_version, input.idempotency_key)
