"""Mutation ``createReferralMechanism``: a country's mechanism as a flowchart (editors only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.schema.context import Info
from service.schema.socialmap.mechanism_inputs import (
    ReferralEdgeInput,
    ReferralMechanismPayload,
    ReferralStepInput,
    graph_raw,
)
from service.schema.socialmap.payloads import today
from service.schema.socialmap.queries import country_code
from service.socialmap import mechanism_editing


@strawberry.input(description="A new national referral mechanism, whole.")
class CreateReferralMechanismInput:
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code; one per country.")
    title: str = strawberry.field(description="The title in English.")
    title_nl: str | None = strawberry.field(default=None, description="The title in Dutch.")
    notes: str | None = strawberry.field(default=None, description="Notes, in English.")
    notes_nl: str | None = strawberry.field(default=None, description="Notes, in Dutch.")
    start: str = strawberry.field(description="The key of the first step.")
    steps: list[ReferralStepInput] = strawberry.field(description="Every step.")
    edges: list[ReferralEdgeInput] = strawberry.field(description="Every arrow.")
    last_verified_on: dt.date | None = strawberry.field(
        default=None, description="When you checked it against its sources."
    )


async def create_referral_mechanism(
    info: Info,
    input: Annotated[
        CreateReferralMechanismInput,
        strawberry.argument(description="The whole mechanism: country, titles, steps and arrows."),
    ],
) -> ReferralMechanismPayload:
    """Add a country's referral mechanism at version 1 (CoMensha's social-map editors)."""
    ctx = info.context
    country = country_code(input.country, "country")
    raw = {
        "title_en": input.title,
        "title_nl": input.title_nl,
        "notes_en": input.notes,
        "notes_nl": input.notes_nl,
        "last_verified_on": input.last_verified_on,
        "graph": graph_raw(input.start, input.steps, input.edges),
    }
    created = await mechanism_editing.create(
        ctx.deps.engine, ctx.principal, country, raw, request_id=ctx.request_id, today=today()
    )
    return ReferralMechanismPayload.of(created)
