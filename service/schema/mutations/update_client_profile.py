"""Mutation ``updateClientProfile``: replace the client's profile (fields left out are cleared)."""

from __future__ import annotations

import datetime as dt

import strawberry

from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.schema.context import Info
from service.schema.mutations.common import CaseCommandInput, run_case_command
from service.schema.types import ReturnCasePayload


@strawberry.input
class UpdateClientProfileInput(CaseCommandInput):
    pseudonym: str
    gender: v.Gender
    birth_year: int | None = None
    nationality: str
    country_of_origin: str
    languages: list[str]
    exploitation_forms: list[v.ExploitationForm]
    full_name: str | None = None
    date_of_birth: dt.date | None = None
    notes: str | None = None


async def update_client_profile(info: Info, input: UpdateClientProfileInput) -> ReturnCasePayload:
    """Replace the client's profile (fields left out are cleared)."""
    return await run_case_command(info, rc.UpdateClientProfile, input)
