"""Mutation ``updateOrganisation``: change some fields of an organisation (editors only)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

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
    id: strawberry.ID
    expected_version: int = strawberry.field(
        description="The version this change was decided on; a stale one gets CONFLICT."
    )
    name: str | None = strawberry.UNSET
    kind: sv.OrganisationKind | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    region: str | None = strawberry.UNSET
    services: list[sv.Service] | None = strawberry.UNSET
    target_groups: list[sv.TargetGroup] | None = strawberry.UNSET
    languages: list[str] | None = strawberry.UNSET
    contact_channels: list[ContactChannelInput] | None = strawberry.UNSET
    referral_notes: str | None = strawberry.UNSET
    last_verified_on: dt.date | None = strawberry.UNSET
    source: str | None = strawberry.UNSET
    return_support: sv.ReturnSupportLevel | None = strawberry.UNSET
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


async def update_organisation(info: Info, input: UpdateOrganisationInput) -> OrganisationPayload:
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
