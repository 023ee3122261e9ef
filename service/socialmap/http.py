"""``GET /socialmap.geojson``: the located organisations of the social map as GeoJSON.

Filters are query parameters, as in the GraphQL ``organisations`` query: ``country``,
``service`` (repeatable: offers every one), ``language`` (repeatable: speaks one),
``kind``, ``text``, ``stale=true``, ``includeRetired=true``. Like every read of the social
map it needs a bearer token of any organisation (the map is shared by the shelters, not
published to the world); errors come as JSON with ``extensions.code``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.domain.codes import is_country, is_language
from service.errors import BadUserInput, ServiceError
from service.http_api import json_error, request_principal
from service.socialmap import geojson, repository
from service.socialmap.model import stale_cutoff
from service.socialmap.search import MAX_QUERY_LENGTH, prefix_query
from service.socialmap.vocabulary import OrganisationKind, Service
from service.textcheck import unstorable

__all__ = ["routes"]

_MAX_VALUES = 20


def _values(request: Request, name: str) -> list[str]:
    values = [v.strip() for v in request.query_params.getlist(name)]
    if len(values) > _MAX_VALUES or any(unstorable(v) or len(v) > 100 for v in values):
        raise BadUserInput(f"{name} is not a valid filter", field=name)
    return values


def _one(request: Request, name: str) -> str | None:
    values = _values(request, name)
    if len(values) > 1:
        raise BadUserInput(f"give {name} at most once", field=name)
    return values[0] if values else None


def _flag(request: Request, name: str) -> bool:
    raw = (_one(request, name) or "false").lower()
    if raw not in ("true", "false"):
        raise BadUserInput(f"{name} must be true or false", field=name)
    return raw == "true"


def _filter(request: Request, today: dt.date, stale_months: int) -> repository.OrganisationFilter:
    country = _one(request, "country")
    if country is not None and not is_country(country.upper()):
        raise BadUserInput(
            "country must be an ISO 3166-1 alpha-2 code such as NL",
            rule="INVALID_COUNTRY_CODE",
            field="country",
        )
    try:
        services = tuple(dict.fromkeys(Service(s.upper()) for s in _values(request, "service")))
        kind_raw = _one(request, "kind")
        kind = OrganisationKind(kind_raw.upper()) if kind_raw else None
    except ValueError:
        raise BadUserInput("service and kind take the names of the GraphQL enums") from None
    languages = tuple(dict.fromkeys(v.lower() for v in _values(request, "language")))
    if not all(is_language(code) for code in languages):
        raise BadUserInput(
            "language must be ISO 639-1 codes such as nl or en",
            rule="INVALID_LANGUAGE_CODE",
            field="language",
        )
    text = _one(request, "text")
    tsquery = None
    if text is not None:
        if len(text) > MAX_QUERY_LENGTH:
            raise BadUserInput(f"text must be at most {MAX_QUERY_LENGTH} characters", field="text")
        tsquery = prefix_query(text)
        if tsquery is None:
            raise BadUserInput(
                "text must contain letters or digits", rule="EMPTY_SEARCH", field="text"
            )
    return repository.OrganisationFilter(
        country=country.upper() if country else None,
        services=services,
        languages=languages,
        kind=kind,
        tsquery=tsquery,
        include_retired=_flag(request, "includeRetired"),
        stale_before=stale_cutoff(today, stale_months) if _flag(request, "stale") else None,
    )


async def _geojson(request: Request, id_of: Callable[[uuid.UUID], str]) -> Response:
    state = request.app.state
    try:
        await request_principal(request)  # any organisation: the map is shared
        today = dt.datetime.now(dt.UTC).date()
        months = state.settings.social_map_stale_months
        flt = _filter(request, today, months)
    except ServiceError as exc:
        return json_error(exc)
    async with state.deps.engine.connect() as conn:
        found = await repository.located(conn, flt)
    body = geojson.feature_collection(((o, id_of(o.id)) for o in found), today, months)
    return Response(json.dumps(body, ensure_ascii=False), media_type=geojson.MEDIA_TYPE)


def routes(id_of: Callable[[uuid.UUID], str]) -> list[Route]:
    """The route; ``id_of`` gives an organisation's global id (as the GraphQL API shows it)."""

    async def endpoint(request: Request) -> Response:
        return await _geojson(request, id_of)

    return [Route("/socialmap.geojson", endpoint, methods=["GET"])]
