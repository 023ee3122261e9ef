"""Root query fields of the social map; readable by every authenticated principal.

The social map holds no tenant data, so every organisation and role reads the same answers.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid

import strawberry

from service.domain.codes import is_country, is_language
from service.errors import BadUserInput, NotFound
from service.schema.context import Info
from service.schema.ids import from_global_id, reject_nul
from service.schema.socialmap.types import (
    Country,
    ReferralMechanism,
    SocialMapOrganisation,
)
from service.schema.types import PageInfo
from service.socialmap import mechanisms, repository
from service.socialmap import vocabulary as sv
from service.socialmap.search import MAX_QUERY_LENGTH, normalise, prefix_query


@strawberry.input(description="Narrow a list of organisations; every given criterion must hold.")
class OrganisationFilter:
    country: str | None = strawberry.field(default=None, description="ISO 3166-1 alpha-2 code.")
    services: list[sv.Service] | None = strawberry.field(
        default=None, description="Organisations offering every one of these services."
    )
    languages: list[str] | None = strawberry.field(
        default=None, description="Organisations speaking at least one of these (ISO 639-1)."
    )
    kind: sv.OrganisationKind | None = None
    text: str | None = strawberry.field(
        default=None,
        description="Words that must start words of the name, place or country (in English or "
        "Dutch); case and accents do not matter.",
    )
    include_retired: bool = False


@strawberry.type
class OrganisationEdge:
    cursor: str
    node: SocialMapOrganisation


@strawberry.type
class OrganisationConnection:
    edges: list[OrganisationEdge]
    page_info: PageInfo


def _cursor(name_key: str, org_id: uuid.UUID) -> str:
    raw = json.dumps(["o", name_key, str(org_id)], ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _parse_cursor(cursor: str) -> tuple[str, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, name_key, org_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if kind != "o" or not isinstance(name_key, str) or name_key != normalise(name_key):
            raise ValueError(kind)  # a normalised name holds no NUL, surrogate or punctuation
        return name_key, uuid.UUID(org_id)
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


def _query_filter(flt: OrganisationFilter) -> repository.OrganisationFilter:
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
        country=country_code(flt.country, "country") if flt.country is not None else None,
        services=tuple(dict.fromkeys(flt.services or ())),
        languages=tuple(dict.fromkeys(languages)),
        kind=flt.kind,
        tsquery=tsquery,
        include_retired=flt.include_retired,
    )


async def organisations(
    info: Info,
    filter: OrganisationFilter | None = None,
    first: int = 20,
    after: str | None = None,
) -> OrganisationConnection:
    ctx = info.context
    _ = ctx.principal  # any authenticated principal
    max_page = ctx.settings.max_page_size
    if not 1 <= first <= max_page:
        raise BadUserInput(f"first must be between 1 and {max_page}", field="first")
    cursor = _parse_cursor(after) if after is not None else None
    query = _query_filter(filter or OrganisationFilter())
    async with ctx.deps.engine.connect() as conn:
        found = await repository.list_page(conn, query, first + 1, cursor)
    page = found[:first]
    edges = [
        OrganisationEdge(cursor=_cursor(o.name_key, o.id), node=SocialMapOrganisation.of(o))
        for o in page
    ]
    return OrganisationConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(found) > first,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


async def organisation(info: Info, id: strawberry.ID) -> SocialMapOrganisation:
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


async def referral_mechanism(info: Info, country: str) -> ReferralMechanism | None:
    _ = info.context.principal
    code = country_code(country, "country")
    async with info.context.deps.engine.connect() as conn:
        found = await mechanisms.referral_mechanism(conn, code)
    return None if found is None else ReferralMechanism.of(found)


async def return_support_organisations(
    info: Info, kind: sv.ReturnSupportLevel | None = None
) -> list[SocialMapOrganisation]:
    _ = info.context.principal
    async with info.context.deps.engine.connect() as conn:
        found = await repository.return_support_organisations(conn, kind)
    return [SocialMapOrganisation.of(o) for o in found]
