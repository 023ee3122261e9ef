"""Per-request DataLoaders of the social map: one SQL statement per batch, whatever its size.

Each loader lives in the request's ``Context.loaders`` (never at module level), so nothing is
cached across requests or principals. Social-map tables hold no tenant data: their loaders use
a plain connection. The return-country loader reads case streams, in a tenant transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from service.db import tenant_transaction
from service.domain import return_case as rc
from service.schema.context import Context
from service.socialmap import history, repository
from service.socialmap.history import Change
from service.socialmap.model import Organisation, stale_cutoff
from service.socialmap.vocabulary import Service


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


SuggestionKey = tuple[str, tuple[Service, ...], int]


def _cached(
    ctx: Context, name: str, make: Callable[[], DataLoader[Any, Any]]
) -> DataLoader[Any, Any]:
    loader = ctx.loaders.get(name)
    if loader is None:
        loader = make()
        ctx.loaders[name] = loader
    return loader


def organisation_loader(ctx: Context) -> DataLoader[uuid.UUID, Organisation | None]:
    """Organisations by id, retired ones included (old cases keep resolving them)."""
    engine = ctx.deps.engine

    async def load(ids: Sequence[uuid.UUID]) -> list[Organisation | None]:
        async with engine.connect() as conn:
            found = await repository.get_many(conn, ids)
        return [found.get(i) for i in ids]

    return _cached(ctx, "socialmap.organisation", lambda: DataLoader(load_fn=load))


def history_loader(ctx: Context) -> DataLoader[uuid.UUID, list[Change]]:
    engine = ctx.deps.engine

    async def load(ids: Sequence[uuid.UUID]) -> list[list[Change]]:
        async with engine.connect() as conn:
            found = await history.history(conn, ids)
        return [found[i] for i in ids]

    return _cached(ctx, "socialmap.history", lambda: DataLoader(load_fn=load))


def planned_destination_loader(ctx: Context) -> DataLoader[uuid.UUID, str | None]:
    """The planned destination of cases of the caller's shelter (from their streams).

    The read model does not keep the planned destination, so this folds each case's stream:
    one transaction per batch, one statement per case. It serves ``suggestedPartners`` of
    cases in preparation only, which is a case's own page, not a long list.
    """
    principal = ctx.principal
    deps = ctx.deps

    async def load(case_ids: Sequence[uuid.UUID]) -> list[str | None]:
        out: list[str | None] = []
        async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
            for case_id in case_ids:
                stream = await deps.store.read_stream(conn, case_id)
                state = rc.fold(r.event for r in stream)
                out.append(state.planned_destination if state is not None else None)
        return out

    return _cached(ctx, "socialmap.planned_destination", lambda: DataLoader(load_fn=load))


def suggestion_loader(ctx: Context) -> DataLoader[SuggestionKey, list[Organisation]]:
    """Active organisations of a country offering any of some services, best matches first.

    Keys that ask for the same services and limit share one statement for all their countries.
    """
    engine = ctx.deps.engine
    fresh_from = stale_cutoff(utc_today(), ctx.settings.social_map_stale_months)

    async def load(keys: Sequence[SuggestionKey]) -> list[list[Organisation]]:
        groups: dict[tuple[tuple[Service, ...], int], list[str]] = {}
        for country, services, limit in keys:
            groups.setdefault((services, limit), []).append(country)
        found: dict[SuggestionKey, list[Organisation]] = {}
        async with engine.connect() as conn:
            for (services, limit), countries in groups.items():
                per_country = await repository.suggestions(
                    conn, countries, services, limit, fresh_from
                )
                for country, organisations in per_country.items():
                    found[(country, services, limit)] = organisations
        return [found.get(k, []) for k in keys]

    return _cached(ctx, "socialmap.suggestions", lambda: DataLoader(load_fn=load))
