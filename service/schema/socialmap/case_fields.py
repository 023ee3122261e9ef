"""Fields that link return cases to the social map (used by ``service.schema.types``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import strawberry

from service.domain.vocabulary import Phase
from service.errors import BadUserInput
from service.schema.context import Info
from service.schema.ids import from_global_id
from service.schema.socialmap.loaders import (
    organisation_loader,
    planned_destination_loader,
    suggestion_loader,
)
from service.schema.socialmap.types import SocialMapOrganisation
from service.socialmap.vocabulary import Service

DEFAULT_SERVICES = (Service.RETURN_COUNSELLING, Service.RECEPTION_ON_ARRIVAL)
SUGGESTED_SERVICES_DESCRIPTION = (
    "Services the client needs; default RETURN_COUNSELLING and RECEPTION_ON_ARRIVAL. "
    "Organisations offering more of them come first."
)


async def partner_organisations(
    info: Info, organisation_ids: Sequence[strawberry.ID]
) -> list[SocialMapOrganisation]:
    """The case's partner organisations, retired ones included, in one batched lookup."""
    ids = [from_global_id("Organisation", i) for i in organisation_ids]
    found = await organisation_loader(info.context).load_many(ids)
    # An id without an organisation predates the social map: it has nothing to show.
    return [SocialMapOrganisation.of(o) for o in found if o is not None]


async def timeline_organisation(
    info: Info, organisation_id: uuid.UUID | None
) -> SocialMapOrganisation | None:
    if organisation_id is None:
        return None
    found = await organisation_loader(info.context).load(organisation_id)
    return None if found is None else SocialMapOrganisation.of(found)


async def suggested_partners(
    info: Info,
    case_id: uuid.UUID,
    phase: Phase,
    country_of_origin: str | None,
    services: list[Service] | None,
    first: int,
) -> list[SocialMapOrganisation]:
    """Active organisations in the country of return offering the services the case needs.

    Only a case in PREPARATION gets suggestions. The country of return is the planned
    destination when a departure was planned, else the country of origin.
    """
    max_page = info.context.settings.max_page_size
    if not 1 <= first <= max_page:
        raise BadUserInput(f"first must be between 1 and {max_page}", field="first")
    if services is not None and not services:
        raise BadUserInput("services must name at least one service", field="services")
    if phase is not Phase.PREPARATION:
        return []
    destination = await planned_destination_loader(info.context).load(case_id)
    country = destination or country_of_origin
    if country is None:
        return []
    wanted = tuple(s for s in Service if s in set(services or DEFAULT_SERVICES))
    found = await suggestion_loader(info.context).load((country, wanted, first))
    return [SocialMapOrganisation.of(o) for o in found]
