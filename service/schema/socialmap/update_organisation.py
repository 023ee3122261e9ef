"""Mutation ``updateOrganisation``: change some fields of an organisation (editors only)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any

import strawberry

from service.schema.context import Info
from service.schema.ids import from_global_id
from service.schema.socialmap.payloads import (
    ContactChannelInput,
    OrganisationPayload,
    channels,
    today,
)
from service.socialmap import editing
from service.socialmap import vocabulary as sv


@strawberry.input(
    description="Fields left out stay as they are; a field given as null is cleared "
    "(name, kind and country cannot be cleared)."
)
class UpdateOrganisationInput:
    id: strawberry.ID = strawberry.field(description="The organisation's global ID.")
    expected_version: int = strawberry.field(
        description="The version this change was decided on; a stale one gets CONFLICT."
    )
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="The new name; left out: unchanged."
    )
    kind: sv.OrganisationKind | None = strawberry.field(
        default=strawberry.UNSET, description="The new kind; left out: unchanged."
    )
    country: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 3166-1 alpha-2 code; left out: unchanged."
    )
    city: str | None = strawberry.field(
        default=strawberry.UNSET, description="The new city; null clears it, left out: unchanged."
    )
    region: str | None = strawberry.field(
        default=strawberry.UNSET, description="The new region; null clears it, left out: unchanged."
    )
    services: list[sv.Service] | None = strawberry.field(
        default=strawberry.UNSET, description="The new list of services; left out: unchanged."
    )
    target_groups: list[sv.TargetGroup] | None = strawberry.field(
        default=strawberry.UNSET, description="The new target groups; left out: unchanged."
    )
    languages: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 639-1 codes; left out: unchanged."
    )
    contact_channels: list[ContactChannelInput] | None = strawberry.field(
        default=strawberry.UNSET, description="The new contact channels; left out: unchanged."
    )
    referral_notes: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="How to refer a client; null clears it, left out: unchanged.",
    )
    last_verified_on: dt.date | None = strawberry.field(
        default=strawberry.UNSET,
        description="When the details were last checked; left out: unchanged.",
    )
    source: str | None = strawberry.field(
        default=strawberry.UNSET, description="Where the details come from; left out: unchanged."
    )
    return_support: sv.ReturnSupportLevel | None = strawberry.field(
        default=strawberry.UNSET,
        description="For Dutch organisations that support return; null clears it, left out: "
        "unchanged.",
    )
    name_nl: str | None = strawberry.field(
        default=strawberry.UNSET, description="The name in Dutch."
    )
    local_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="The organisation's own name in its own language."
    )
    description_en: str | None = strawberry.field(
        default=strawberry.UNSET, description="What it does, in English."
    )
    description_nl: str | None = strawberry.field(
        default=strawberry.UNSET, description="What it does, in Dutch."
    )
    latitude: float | None = strawberry.field(
        default=strawberry.UNSET, description="WGS 84 latitude (-90 to 90), with longitude."
    )
    longitude: float | None = strawberry.field(
        default=strawberry.UNSET, description="WGS 84 longitude (-180 to 180), with latitude."
    )
    idempotency_key: str | None = strawberry.field(
        default=None, description="Send the same key to repeat a request safely."
    )


_ENVELOPE = frozenset({"id", "expected_version", "idempotency_key"})


async def update_organisation(
    info: Info,
    input: Annotated[
        UpdateOrganisationInput,
        strawberry.argument(description="The fields to change, with the expectedVersion."),
    ],
) -> OrganisationPayload:
    """Change the given fields; an update that changes nothing keeps the version."""
    ctx = info.context
    org_id = from_global_id("Organisation", input.id)
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(input):
        value = getattr(input, field.name)
        if field.name in _ENVELOPE or value is strawberry.UNSET:
            continue
        changes[field.name] = channels(value) if field.name == "contact_channels" else value
    result = await editing.update(
        ctx.deps.engine,
        ctx.principal,
        org_id,
        input.expected_version,
        changes,
        request_id=ctx.request_id,
        idempotency_key=input.idempotency_key,
        today=today(),
    )
    return OrganisationPayload.of(result)
