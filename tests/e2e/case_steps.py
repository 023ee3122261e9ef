"""Steps that bring a case over HTTP to where a test needs it, and a clock tests can move.

``depart_case`` is the one place that knows what a departure needs: when the rules for a
departure change, only it changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.conftest import GraphQLClient

CASE_FIELDS = "id version phase departureMode followUpCount caseworker"


@dataclass
class MovableClock:
    """The service's clock in a test: it stands still until the test moves it."""

    now: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC))

    def __call__(self) -> dt.datetime:
        return self.now

    def set_day(self, day: str) -> None:
        self.now = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(9), tzinfo=dt.UTC)


def mutation(name: str, fields: str = CASE_FIELDS) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return f"""
    mutation Run($input: {input_type}!) {{
      {name}(input: $input) {{ version replayed case {{ {fields} }} }}
    }}
    """


def the_normal_way(document: str) -> str:
    """``document`` with ``@include(if: true)`` on its root field: the same request, which the
    compiled path for mutations (``service.schema.compiled_commands``) leaves to the schema's
    normal execution. The root field keeps its location."""
    marked = document.replace("(input: $input)", "(input: $input) @include(if: true)", 1)
    assert marked != document
    return marked


OPENING = {
    "intakeDate": "2026-01-05",
    "pseudonym": "Client C",
    "gender": "FEMALE",
    "birthYear": 1994,
    "nationality": "RO",
    "countryOfOrigin": "RO",
    "languages": ["ro"],
    "exploitationForms": ["FORCED_LABOUR"],
    "fullName": "Client Compiled",
}


async def send(
    client: GraphQLClient, name: str, case: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """Run mutation ``name`` on ``case`` at its version; the whole response body."""
    return await client.execute(
        mutation(name),
        {"input": {"caseId": case["id"], "expectedVersion": case["version"], **fields}},
    )


async def step(
    client: GraphQLClient, name: str, case: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """Run mutation ``name`` on ``case``, which must succeed; the case afterwards."""
    body = await send(client, name, case, **fields)
    assert "errors" not in body, body
    changed: dict[str, Any] = body["data"][name]["case"]
    return changed


async def open_case(
    client: GraphQLClient, intake: str = "2026-01-05", country: str = "RO"
) -> dict[str, Any]:
    body = await client.execute(
        mutation("openReturnCase"),
        {
            "input": {
                "intakeDate": intake,
                "pseudonym": "Client F",
                "gender": "FEMALE",
                "birthYear": 1996,
                "nationality": country,
                "countryOfOrigin": country,
                "languages": ["en"],
                "exploitationForms": ["FORCED_LABOUR"],
            }
        },
    )
    assert "errors" not in body, body
    case: dict[str, Any] = body["data"]["openReturnCase"]["case"]
    return case


async def depart_case(
    client: GraphQLClient,
    case: dict[str, Any],
    *,
    departed_on: str,
    mode: str = "ASSISTED",
    destination: str = "RO",
) -> dict[str, Any]:
    """Prepare ``case`` for a departure of ``mode`` and record it on ``departed_on``.

    The case's wish or obligation is dated on the intake date of a case opened by
    ``open_case``; what readiness asks of an independent or assisted return (a recent risk
    assessment, a usable travel document, the destination and who receives the client) is
    dated on the day of departure. A forced return follows a refusal of the help offered.
    """
    prepared_on = "2026-01-05"
    if mode == "FORCED":
        # Obliged to leave, and the help offered was refused: DT&V carries out the return.
        case = await step(
            client,
            "recordLegalPosition",
            case,
            recordedOn=prepared_on,
            residenceStatus="NONE",
            proceedingsStage="NOT_REPORTED",
        )
        case = await step(
            client,
            "recordReturnHelpRefused",
            case,
            refusedOn=prepared_on,
            helpOffered=["IOM_BASIC", "DTV"],
        )
    else:
        case = await step(
            client,
            "recordReturnConversation",
            case,
            heldOn=prepared_on,
            wish="WANTS_TO_RETURN",
        )
        if mode == "ASSISTED":
            case = await step(
                client, "arrangeReturnSupport", case, kind="IOM_BASIC", arrangedOn=prepared_on
            )
        case = await step(client, "assessRisk", case, assessedOn=departed_on, level="LOW")
        case = await step(
            client,
            "recordTravelDocument",
            case,
            status="OWN_VALID",
            recordedOn=departed_on,
            originalIdentityDocument=False,
        )
        case = await step(
            client,
            "recordArrivalArrangement",
            case,
            arrangedOn=departed_on,
            destinationCountry=destination,
            destinationPlace="the family's town",
            receiver="FAMILY",
        )
    return await step(
        client,
        "recordDeparture",
        case,
        departedOn=departed_on,
        mode=mode,
        destinationCountry=destination,
    )
