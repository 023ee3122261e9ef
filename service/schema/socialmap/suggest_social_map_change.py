"""Mutation ``suggestSocialMapChange``: a shelter suggests a correction or a new organisation."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import strawberry

from service.errors import BadUserInput
from service.schema.context import Info
from service.schema.ids import from_global_id
from service.schema.socialmap.payloads import ContactChannelInput, channels, today
from service.schema.socialmap.queries import country_code
from service.schema.socialmap.suggestion_types import (
    SocialMapSuggestion,
    SocialMapSuggestionPayload,
)
from service.socialmap import suggestions
from service.socialmap import vocabulary as sv

U = strawberry.UNSET


@strawberry.input(
    description="The organisation's fields as you suggest them; leave out what stays. For a new "
    "organisation give at least name, kind and country. No client data here."
)
class SuggestedOrganisationInput:
    name: str | None = strawberry.field(default=U, description="Its name.")
    kind: sv.OrganisationKind | None = strawberry.field(default=U, description="Its kind.")
    country: str | None = strawberry.field(default=U, description="ISO 3166-1 alpha-2 code.")
    city: str | None = strawberry.field(default=U, description="City.")
    region: str | None = strawberry.field(default=U, description="Region.")
    services: list[sv.Service] | None = strawberry.field(default=U, description="Services.")
    target_groups: list[sv.TargetGroup] | None = strawberry.field(
        default=U, description="Target groups."
    )
    languages: list[str] | None = strawberry.field(default=U, description="ISO 639-1 codes.")
    contact_channels: list[ContactChannelInput] | None = strawberry.field(
        default=U, description="The organisation's public contact channels."
    )
    referral_notes: str | None = strawberry.field(default=U, description="How to refer.")
    source: str | None = strawberry.field(default=U, description="Where you found this.")
    name_nl: str | None = strawberry.field(default=U, description="Dutch name.")
    local_name: str | None = strawberry.field(default=U, description="Own-language name.")
    description_en: str | None = strawberry.field(default=U, description="English description.")
    description_nl: str | None = strawberry.field(default=U, description="Dutch description.")
    latitude: float | None = strawberry.field(default=U, description="WGS 84 latitude.")
    longitude: float | None = strawberry.field(default=U, description="WGS 84 longitude.")


@strawberry.input(description="The texts of one mechanism step as you suggest them.")
class SuggestedStepInput:
    title: str | None = strawberry.field(default=U, description="English title.")
    title_nl: str | None = strawberry.field(default=U, description="Dutch title.")
    description: str | None = strawberry.field(default=U, description="English description.")
    description_nl: str | None = strawberry.field(default=U, description="Dutch description.")
    responsible_body: str | None = strawberry.field(default=U, description="Who is responsible.")
    typical_duration: str | None = strawberry.field(default=U, description="Typical duration.")
    legal_basis: str | None = strawberry.field(default=U, description="Legal basis.")


@strawberry.input(description="A suggestion to CoMensha's editors, with a reason.")
class SuggestSocialMapChangeInput:
    kind: sv.SuggestionKind = strawberry.field(description="What you suggest.")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="The organisation to change (ORGANISATION_CHANGE)."
    )
    organisation: SuggestedOrganisationInput | None = strawberry.field(
        default=None, description="The fields (ORGANISATION_CHANGE, NEW_ORGANISATION)."
    )
    country: str | None = strawberry.field(
        default=None, description="The mechanism's country (MECHANISM_STEP_CORRECTION)."
    )
    step_key: str | None = strawberry.field(
        default=None, description="The step's key (MECHANISM_STEP_CORRECTION)."
    )
    step: SuggestedStepInput | None = strawberry.field(
        default=None, description="The step's texts (MECHANISM_STEP_CORRECTION)."
    )
    reason: str = strawberry.field(description="Why; seen by your shelter and the editors only.")


_STEP_NAMES = {"title": "title_en", "description": "description_en"}


def _given(values: Any, rename: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in dataclasses.fields(values):
        value = getattr(values, field.name)
        if value is strawberry.UNSET:
            continue
        if field.name == "contact_channels":
            value = channels(value)
        out[(rename or {}).get(field.name, field.name)] = value
    return out


async def suggest_social_map_change(
    info: Info,
    input: Annotated[
        SuggestSocialMapChangeInput, strawberry.argument(description="What you suggest, and why.")
    ],
) -> SocialMapSuggestionPayload:
    """Suggest a change of the shared map (any user of a shelter); editors accept or reject."""
    ctx = info.context
    kind = sv.SuggestionKind(input.kind)
    if kind is sv.SuggestionKind.MECHANISM_STEP_CORRECTION:
        proposal = _given(input.step, _STEP_NAMES) if input.step is not None else {}
    else:
        if input.organisation is None:
            raise BadUserInput(
                "give the organisation's fields", rule="REQUIRED", field="organisation"
            )
        proposal = _given(input.organisation)
    found = await suggestions.suggest(
        ctx.deps.engine,
        ctx.principal,
        kind,
        organisation_id=(
            from_global_id("Organisation", input.organisation_id, "organisationId")
            if input.organisation_id is not None
            else None
        ),
        country=country_code(input.country, "country") if input.country is not None else None,
        step_key=input.step_key,
        proposal=proposal,
        reason=input.reason,
        today=today(),
    )
    return SocialMapSuggestionPayload(suggestion=SocialMapSuggestion.of(found))
