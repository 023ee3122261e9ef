"""Mutation ``openReturnCase``: open a return case for a client of the caller's shelter."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import build_command, run
from service.schema.types import ReturnCasePayload


@strawberry.input
class OpenReturnCaseInput:
    intake_date: dt.date
    pseudonym: str
    gender: v.Gender
    nationality: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    country_of_origin: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    birth_year: int | None = None
    languages: list[str] = strawberry.field(default_factory=list, description="ISO 639-1 codes.")
    exploitation_forms: list[v.ExploitationForm] = strawberry.field(default_factory=list)
    full_name: str | None = strawberry.field(default=None, description="Personal data.")
    date_of_birth: dt.date | None = strawberry.field(default=None, description="Personal data.")
    notes: str | None = strawberry.field(default=None, description="Personal data.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Send the same key to repeat a request safely."
    )


async def open_return_case(info: Info, input: OpenReturnCaseInput) -> ReturnCasePayload:
    """Open a return case (phase INTAKE); the new case starts at version 1."""
    command = build_command(rc.OpenReturnCase, input, uuid.uuid4())
    return await run(info, command, 0, input.idempotency_key)
