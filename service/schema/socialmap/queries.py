"""Root query fields of the social map; readable by every authenticated principal.

The social map holds no tenant data, so every organisation and role reads the same answers.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from typing import Annotated

import strawberry

from service.domain.codes import is_country, is_language
from service.domain.vocabulary import ExploitationForm
from service.errors import BadUserInput, NotFound
from service.schema.context import Info
from service.schema.ids import from_global_id, reject_nul
from service.schema.socialmap.loaders import utc_today
from service.schema.socialmap.mechanism_types import (
    ReferralMechanism,
    ReferralMechanismChange,
    ReferralRoute,
    ReferralStep,
)
from service.schema.socialmap.suggestion_types import SocialMapSuggestion
from service.schema.socialmap.types import Country, SocialMapOrganisation
from service.schema.types import PageInfo
from service.socialmap import flowchart, mechanisms, repository, suggestions
from service.socialmap import vocabulary as sv
from service.socialmap.editing import editor
from service.socialmap.model import stale_cutoff
from service.socialmap.search import MAX_QUERY_LENGTH, normalise, prefix_query

MAX_RADIUS_KM = 20_000.0  # half the Earth's circumference: everything


@strawberry.input(description="A point (WGS 84) and a radius.")
class NearInput:
    latitude: float = strawberry.field(description="Latitude in degrees, -90 to 90.")
    longitude: float = strawberry.field(description="Longitude in degrees, -180 to 180.")
    radius_km: float = strawberry.field(description="Radius in kilometres, above 0.")


def near_point(near: NearInput) -> repository.Near:
    if not -90.0 <= near.latitude <= 90.0:
        raise BadUserInput(
            "latitude must be between -90 and 90", rule="COORDINATE_OUT_OF_RANGE", field="latitude"
        )
    if not -180.0 <= near.longitude <= 180.0:
        raise BadUserInput(
            "longitude must be between -180 and 180",
            rule="COORDINATE_OUT_OF_RANGE",
            field="longitude",
        )
    if not 0.0 < near.radius_km <= MAX_RADIUS_KM:
        raise BadUserInput(
            f"radiusKm must be above 0 and at most {MAX_RADIUS_KM:g}",
            rule="INVALID_RADIUS",
            field="radiusKm",
        )
    return repository.Near(near.latitude, near.longitude, near.radius_km)


@strawberry.input(description="Narrow a list of organisations; every given criterion must hold.")
class OrganisationFilter:
    country: str | None = strawberry.field(default=None, description="ISO 3166-1 alpha-2 code.")
    services: list[sv.Service] | None = strawberry.field(
        default=None, description="Organisations offering every one of these services."
    )
    languages: list[str] | None = strawberry.field(
        default=None, description="Organisations speaking at least one of these (ISO 639-1)."
    )
    kind: sv.OrganisationKind | None = strawberry.field(
        default=None, description="Only organisations of this kind."
    )
    text: str | None = strawberry.field(
        default=None,
        description="Words that must start words of the name, place or country (in English or "
        "Dutch); case and accents do not matter.",
    )
    include_retired: bool = strawberry.field(
        default=False, description="Also list retired organisations (default: only active ones)."
    )
    near: NearInput | None = strawberry.field(
        default=None,
        description="Only located organisations within a radius of a point, nearest first.",
    )
    stale: bool | None = strawberry.field(
        default=None,
        description="True: only entries not verified within the configured time (default 12 "
        "months); leave out for all.",
    )


@strawberry.type(description="One organisation in a page of organisations.")
class OrganisationEdge:
    cursor: str = strawberry.field(
        description="Pass it as after to get the organisations after this one."
    )
    node: SocialMapOrganisation = strawberry.field(description="The organisation.")


@strawberry.type(description="A page of organisations, by name.")
class OrganisationConnection:
    edges: list[OrganisationEdge] = strawberry.field(description="The organisations of this page.")
    page_info: PageInfo = strawberry.field(
        description="Whether more follow, and the cursor to get them."
    )


def _cursor(key: str | float, org_id: uuid.UUID) -> str:
    kind = "d" if isinstance(key, float) else "o"
    raw = json.dumps([kind, key, str(org_id)], ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _parse_cursor(cursor: str, by_distance: bool) -> tuple[str | float, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, key, org_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if by_distance:
            if kind != "d" or isinstance(key, bool) or not isinstance(key, float | int):
                raise ValueError(kind)
            if not 0.0 <= float(key) <= MAX_RADIUS_KM:
                raise ValueError(kind)
            return float(key), uuid.UUID(org_id)
        if kind != "o" or not isinstance(key, str) or key != normalise(key):
            raise ValueError(kind)  # a normalised name holds no NUL, surrogate or punctuation
        return key, uuid.UUID(org_id)
    except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError):
        raise BadUserInput("after is not a valid cursor", field="after") from None


def country_code(value: str, field: str) -> str:
    reject_nul(value, field)
    code = value.strip().upper()
    if not is_country(code):
        raise BadUserInput(
            f"{field} must be an ISO 3166-1 alpha-2 code such as NL",
            rule="INVALID_COUNTRY_CODE",
            field=field,
        )
    return code


def _query_filter(flt: OrganisationFilter, stale_months: int) -> repository.OrganisationFilter:
    languages: list[str] = []
    for language in flt.languages or ():
        reject_nul(language, "languages")
        code = language.strip().lower()
        if not is_language(code):
            raise BadUserInput(
                "languages must be ISO 639-1 codes such as nl or en",
                rule="INVALID_LANGUAGE_CODE",
                field="languages",
            )
        languages.append(code)
    tsquery = None
    if flt.text is not None:
        reject_nul(flt.text, "text")
        if len(flt.text) > MAX_QUERY_LENGTH:
            raise BadUserInput(f"text must be at most {MAX_QUERY_LENGTH} characters", field="text")
        tsquery = prefix_query(flt.text)
        if tsquery is None and flt.text.strip():
            # Only punctuation: no word to search for. Dropping the filter would return
            # everything, which is not what was asked.
            raise BadUserInput("text must contain at least one letter or digit", field="text")
    return repository.OrganisationFilter(
        near=near_point(flt.near) if flt.near is not None else None,
        stale_before=stale_cutoff(utc_today(), stale_months) if flt.stale else None,
        country=country_code(flt.country, "country") if flt.country is not None else None,
        services=tuple(dict.fromkeys(flt.services or ())),
        languages=tuple(dict.fromkeys(languages)),
        kind=flt.kind,
        tsquery=tsquery,
        include_retired=flt.include_retired,
    )


async def organisations(
    info: Info,
    filter: Annotated[
        OrganisationFilter | None,
        strawberry.argument(description="Narrow the list; every given criterion must hold."),
    ] = None,
    first: Annotated[
        int, strawberry.argument(description="How many to return (1 to the maximum page size).")
    ] = 20,
    after: Annotated[
        str | None,
        strawberry.argument(description="The cursor of the last organisation already seen."),
    ] = None,
) -> OrganisationConnection:
    ctx = info.context
    _ = ctx.principal  # any authenticated principal
    max_page = ctx.settings.max_page_size
    if not 1 <= first <= max_page:
        raise BadUserInput(f"first must be between 1 and {max_page}", field="first")
    query = _query_filter(filter or OrganisationFilter(), ctx.settings.social_map_stale_months)
    cursor = _parse_cursor(after, query.near is not None) if after is not None else None
    async with ctx.deps.engine.connect() as conn:
        found = await repository.list_page(conn, query, first + 1, cursor)
    page = found[:first]
    edges = [
        OrganisationEdge(
            cursor=_cursor(o.name_key if distance is None else distance, o.id),
            node=SocialMapOrganisation.of(o, distance),
        )
        for o, distance in page
    ]
    return OrganisationConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(found) > first,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


async def organisation(
    info: Info,
    id: Annotated[strawberry.ID, strawberry.argument(description="The organisation's global ID.")],
) -> SocialMapOrganisation:
    _ = info.context.principal
    org_id = from_global_id("Organisation", id)
    async with info.context.deps.engine.connect() as conn:
        found = await repository.get(conn, org_id)
    if found is None:
        raise NotFound("organisation not found")
    return SocialMapOrganisation.of(found)


async def countries(info: Info) -> list[Country]:
    _ = info.context.principal
    async with info.context.deps.engine.connect() as conn:
        summaries = await repository.countries(conn)
    return [Country.of(s) for s in summaries]


async def referral_mechanism(
    info: Info,
    country: Annotated[
        str, strawberry.argument(description="ISO 3166-1 alpha-2 code, such as BE.")
    ],
) -> ReferralMechanism | None:
    _ = info.context.principal
    code = country_code(country, "country")
    async with info.context.deps.engine.connect() as conn:
        found = await mechanisms.get(conn, code)
    return None if found is None else ReferralMechanism.of(found)


async def referral_route(
    info: Info,
    country: Annotated[
        str, strawberry.argument(description="ISO 3166-1 alpha-2 code of the mechanism's country.")
    ],
    minor: Annotated[
        bool | None, strawberry.argument(description="Whether the client is under 18.")
    ] = None,
    eu_citizen: Annotated[
        bool | None, strawberry.argument(description="Whether the client is an EU citizen.")
    ] = None,
    exploitation_form: Annotated[
        ExploitationForm | None,
        strawberry.argument(description="The form of exploitation, if known."),
    ] = None,
    cooperates_with_police: Annotated[
        bool | None,
        strawberry.argument(description="Whether the client cooperates with the police."),
    ] = None,
) -> ReferralRoute | None:
    _ = info.context.principal
    code = country_code(country, "country")
    async with info.context.deps.engine.connect() as conn:
        found = await mechanisms.get(conn, code)
    if found is None or not found.active:
        return None
    facts = flowchart.ClientFacts(
        minor=minor,
        eu_citizen=eu_citizen,
        exploitation_form=exploitation_form,
        cooperates_with_police=cooperates_with_police,
    )
    steps = flowchart.route(found.data.graph, facts)
    positions = {s.key: i for i, s in enumerate(found.data.graph.steps, 1)}
    return ReferralRoute(
        country=code,
        mechanism_version=found.version,
        steps=[ReferralStep.of(s, positions[s.key]) for s in steps],
    )


async def referral_mechanism_history(
    info: Info,
    country: Annotated[
        str, strawberry.argument(description="ISO 3166-1 alpha-2 code of the mechanism's country.")
    ],
) -> list[ReferralMechanismChange]:
    _ = info.context.principal
    code = country_code(country, "country")
    async with info.context.deps.engine.connect() as conn:
        found = await mechanisms.changes(conn, code)
    if not found:
        raise NotFound("referral mechanism not found")
    return [ReferralMechanismChange.of(c) for c in found]


async def social_map_suggestions(
    info: Info,
    status: Annotated[
        sv.SuggestionStatus | None,
        strawberry.argument(description="Only suggestions with this status; all when left out."),
    ] = None,
) -> list[SocialMapSuggestion]:
    ctx = info.context
    found = await suggestions.queue(ctx.deps.engine, ctx.principal, status)
    return [SocialMapSuggestion.of(s) for s in found]


async def my_social_map_suggestions(info: Info) -> list[SocialMapSuggestion]:
    ctx = info.context
    found = await suggestions.mine(ctx.deps.engine, ctx.principal)
    return [SocialMapSuggestion.of(s) for s in found]


@strawberry.type(description="Entries of the social map not verified within the configured time.")
class StaleSocialMapEntries:
    organisations: list[SocialMapOrganisation] = strawberry.field(
        description="Active organisations, least recently verified first."
    )
    mechanisms: list[ReferralMechanism] = strawberry.field(
        description="Active referral mechanisms, least recently verified first."
    )


async def stale_social_map_entries(info: Info) -> StaleSocialMapEntries:
    ctx = info.context
    editor(ctx.principal, None)
    cutoff = stale_cutoff(utc_today(), ctx.settings.social_map_stale_months)
    async with ctx.deps.engine.connect() as conn:
        organisations = await repository.stale(conn, cutoff)
        every = await mechanisms.all_mechanisms(conn)
    stale_mechanisms = sorted(
        (
            m
            for m in every
            if m.active and (m.data.last_verified_on is None or m.data.last_verified_on < cutoff)
        ),
        key=lambda m: (m.data.last_verified_on or dt.date.min, m.country),
    )
    return StaleSocialMapEntries(
        organisations=[SocialMapOrganisation.of(o) for o in organisations],
        mechanisms=[ReferralMechanism.of(m) for m in stale_mechanisms],
    )


async def return_support_organisations(
    info: Info,
    kind: Annotated[
        sv.ReturnSupportLevel | None,
        strawberry.argument(
            description="Only organisations giving this kind of support; all when left out."
        ),
    ] = None,
) -> list[SocialMapOrganisation]:
    _ = info.context.principal
    async with info.context.deps.engine.connect() as conn:
        found = await repository.return_support_organisations(conn, kind)
    return [SocialMapOrganisation.of(o) for o in found]
