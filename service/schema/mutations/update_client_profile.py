"""Mutation ``updateClientProfile``: replace the client's profile (fields left out are cleared)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CASE_INPUT, CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input(description="The client's whole profile, replacing the recorded one.")
class UpdateClientProfileInput(CaseCommandInput):
    pseudonym: str = strawberry.field(
        description="The name the case is known by; never the client's real name (at most 100 "
        "characters)."
    )
    gender: v.Gender = strawberry.field(description="The client's gender.")
    birth_year: int | None = strawberry.field(
        default=None, description="The year of birth, if known."
    )
    nationality: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    country_of_origin: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    languages: list[str] = strawberry.field(
        description="ISO 639-1 codes of the languages the client speaks, each once."
    )
    exploitation_forms: list[v.ExploitationForm] = strawberry.field(
        description="The forms of exploitation, each once."
    )
    full_name: str | None = strawberry.field(
        default=None,
        description="The client's full name (at most 200 characters). Personal data: encrypted, "
        "erasable.",
    )
    date_of_birth: dt.date | None = strawberry.field(
        default=None, description="The client's date of birth. Personal data: encrypted, erasable."
    )
    notes: str | None = strawberry.field(
        default=None, description="Notes on the client. Personal data: encrypted, erasable."
    )


async def update_client_profile(
    info: Info, input: Annotated[UpdateClientProfileInput, CASE_INPUT]
) -> ReturnCasePayload:
    """Replace the client's profile (fields left out are cleared)."""
    return await run_case_command(info, rc.UpdateClientProfile, input)
