"""Mutation ``createOrganisation``: add an organisation to the social map (editors only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service.schema.context import Info
from service.schema.socialmap.payloads import (
    ContactChannelInput,
    OrganisationPayload,
    channels,
    today,
)
from service.socialmap import editing
from service.socialmap import vocabulary as sv


@strawberry.input(description="A new organisation of the social map.")
class CreateOrganisationInput:
    name: str = strawberry.field(description="The organisation's name.")
    kind: sv.OrganisationKind = strawberry.field(description="What kind of body it is.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    city: str | None = strawberry.field(default=None, description="The city it works from.")
    region: str | None = strawberry.field(default=None, description="The region it covers.")
    services: list[sv.Service] = strawberry.field(
        description="What it offers to a person who returns.", default_factory=list
    )
    target_groups: list[sv.TargetGroup] = strawberry.field(
        description="Whom it serves.", default_factory=list
    )
    languages: list[str] = strawberry.field(default_factory=list, description="ISO 639-1 codes.")
    contact_channels: list[ContactChannelInput] = strawberry.field(
        description="How to reach it.", default_factory=list
    )
    referral_notes: str | None = strawberry.field(
        default=None, description="How to refer a client to it; never client data."
    )
    last_verified_on: dt.date | None = strawberry.field(
        default=None, description="When these details were last checked."
    )
    source: str | None = strawberry.field(default=None, description="Where the details come from.")
    return_support: sv.ReturnSupportLevel | None = strawberry.field(
        default=None, description="Only for organisations in the Netherlands."
    )
    name_nl: str | None = strawberry.field(default=None, description="The name in Dutch.")
    local_name: str | None = strawberry.field(
        default=None, description="The organisation's own name in its own language."
    )
    description_en: str | None = strawberry.field(
        default=None, description="What it does, in English."
    )
    description_nl: str | None = strawberry.field(
        default=None, description="What it does, in Dutch."
    )
    latitude: float | None = strawberry.field(
        default=None, description="WGS 84 latitude in degrees (-90 to 90), with longitude."
    )
    longitude: float | None = strawberry.field(
        default=None, description="WGS 84 longitude in degrees (-180 to 180), with latitude."
    )
    idempotency_key: str | None = strawberry.field(
        default=None, description="Send the same key to repeat a request safely."
    )


async def create_organisation(
    info: Info,
    input: Annotated[
        CreateOrganisationInput, strawberry.argument(description="The organisation to add.")
    ],
) -> OrganisationPayload:
    """Add an organisation to the social map; it starts at version 1 (social-map editors)."""
    ctx = info.context
    raw = {
        "name": input.name,
        "kind": input.kind,
        "country": input.country,
        "city": input.city,
        "region": input.region,
        "services": input.services,
        "target_groups": input.target_groups,
        "languages": input.languages,
        "contact_channels": channels(input.contact_channels),
        "referral_notes": input.referral_notes,
        "last_verified_on": input.last_verified_on,
        "source": input.source,
        "return_support": input.return_support,
        "name_nl": input.name_nl,
        "local_name": input.local_name,
        "description_en": input.description_en,
        "description_nl": input.description_nl,
        "latitude": input.latitude,
        "longitude": input.longitude,
    }
    result = await editing.create(
        ctx.deps.engine,
        ctx.principal,
        raw,
        request_id=ctx.request_id,
        idempotency_key=input.idempotency_key,
        today=today(),
    )
    return OrganisationPayload.of(result)
