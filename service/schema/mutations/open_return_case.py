"""Mutation ``openReturnCase``: open a return case for a client of the caller's shelter."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import build_command, run
from service.schema.types import ReturnCasePayload


@strawberry.input(description="A new return case: the client's profile at intake.")
class OpenReturnCaseInput:
    intake_date: dt.date = strawberry.field(
        description="The day the client came into care. Every later date of the case must "
        "be on or after it (DATE_BEFORE_INTAKE)."
    )
    pseudonym: str = strawberry.field(
        description="The name the case is known by; never the client's real name (at most 100 "
        "characters)."
    )
    gender: v.Gender = strawberry.field(description="The client's gender.")
    nationality: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    country_of_origin: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    birth_year: int | None = strawberry.field(
        default=None,
        description="The year of birth, if known (between 1900 and the year of intake); reports "
        "use "
        "it for the age group.",
    )
    languages: list[str] = strawberry.field(default_factory=list, description="ISO 639-1 codes.")
    exploitation_forms: list[v.ExploitationForm] = strawberry.field(
        description="The forms of exploitation the client suffered, each once.",
        default_factory=list,
    )
    full_name: str | None = strawberry.field(default=None, description="Personal data.")
    date_of_birth: dt.date | None = strawberry.field(default=None, description="Personal data.")
    notes: str | None = strawberry.field(default=None, description="Personal data.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Send the same key to repeat a request safely."
    )


async def open_return_case(
    info: Info,
    input: Annotated[
        OpenReturnCaseInput, strawberry.argument(description="The client's profile at intake.")
    ],
) -> ReturnCasePayload:
    """Open a return case (phase INTAKE); the new case starts at version 1."""
    command = build_command(rc.OpenReturnCase, input, uuid.uuid4())
    return await run(info, command, 0, input.idempotency_key)
