"""Mutation ``recordArrivalArrangement``: destination and who receives the client."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.handlers.return_case import COUNTRY_FROM_SOCIAL_MAP
from service.schema.context import Info
from service.schema.ids import from_global_id
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, build_command, run
from service.schema.types import ReturnCasePayload


@strawberry.input(description="Where the client goes and who receives them on arrival.")
class RecordArrivalArrangementInput(CaseCommandInput):
    arranged_on: dt.date = strawberry.field(description="The day this was arranged.")
    destination_country: str = strawberry.field(description="ISO 3166-1 alpha-2 code, as NG.")
    destination_place: str = strawberry.field(
        description="City or region of destination (not an address)."
    )
    receiver: v.ArrivalReceiver = strawberry.field(description="Who receives the client.")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The receiving partner organisation (social map, in the destination "
        "country); required exactly when the receiver is PARTNER_ORGANISATION.",
    )
    reason: str | None = strawberry.field(
        default=None,
        description="Why nobody receives the client; required for NOBODY (personal).",
    )


async def record_arrival_arrangement(
    info: Info, input: Annotated[RecordArrivalArrangementInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Record the destination (country and place) and who receives the client on arrival."""
    case_id = from_global_id("ReturnCase", input.case_id, field="caseId")
    command = build_command(
        rc.RecordArrivalArrangement,
        input,
        case_id,
        organisation_country=COUNTRY_FROM_SOCIAL_MAP,  # the handler fills it in from the map
    )
    return await run(info, command, input.expected_version, input.idempotency_key)
