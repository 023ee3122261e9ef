"""The typed per-request context; DataLoaders are created here for each request."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from service.auth import Principal
from service.config import Settings
from service.db import tenant_transaction
from service.domain.return_case.record import CaseRecord, case_record
from service.errors import Unauthenticated
from service.events.cursor import CursorSealer
from service.events.feed import FeedHub
from service.events.projections import timeline
from service.events.types import RecordedEvent
from service.handlers.return_case import Dependencies
from service.observability import Metrics
from service.privacy import open_read_model_personal
from service.schema.guards import Prepared


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    deps: Dependencies
    settings: Settings
    request_id: str
    principal_or_none: Principal | None
    feed: FeedHub
    cursors: CursorSealer
    metrics: Metrics | None = None
    loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)
    # Set by strawberry from a WebSocket's connection_init payload.
    connection_params: dict[str, Any] | None = None
    # Personal fields returned in this response, by case: written to the access log once
    # the operation has run (``service.schema.privacy.PersonalDataAccessLog``).
    personal_reads: dict[uuid.UUID, set[str]] = field(default_factory=dict)
    # The document the guard chain parsed and checked (``service.schema.guards``); execution
    # uses it instead of parsing again.
    prepared: Prepared | None = None
    # The schema's enums and their values: an error refusing an enum value names them.
    enum_values: Mapping[str, Sequence[str]] | None = None

    @property
    def principal(self) -> Principal:
        if self.principal_or_none is None:
            raise Unauthenticated("a valid bearer token is required")
        return self.principal_or_none

    def timeline_loader(self) -> DataLoader[uuid.UUID, list[dict[str, Any]]]:
        """Timelines of many cases in one statement per request."""
        loader = self.loaders.get("timeline")
        if loader is None:
            principal = self.principal
            engine = self.deps.engine

            async def load(case_ids: Sequence[uuid.UUID]) -> list[list[dict[str, Any]]]:
                async with tenant_transaction(engine, principal.tenant_id) as conn:
                    found = await timeline.timelines(conn, case_ids)
                return [found[c] for c in case_ids]

            loader = DataLoader(load_fn=load)
            self.loaders["timeline"] = loader
        return loader

    def personal_loader(self) -> DataLoader[SealedKey, dict[str, Any] | None]:
        """Decrypts the personal fields of many cases with one key query per request."""
        loader = self.loaders.get("personal")
        if loader is None:
            principal = self.principal
            deps = self.deps

            async def load(keys: Sequence[SealedKey]) -> list[dict[str, Any] | None]:
                sealed = [(case_id, dict(envelope)) for case_id, envelope in keys]
                async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
                    return await open_read_model_personal(
                        conn, deps.store, principal.tenant_id, sealed
                    )

            loader = DataLoader(load_fn=load)
            self.loaders["personal"] = loader
        return loader

    def case_events_loader(self) -> DataLoader[uuid.UUID, list[RecordedEvent]]:
        """The events of many cases in one statement per request, personal parts sealed."""
        loader = self.loaders.get("case_events")
        if loader is None:
            principal = self.principal
            deps = self.deps

            async def load(case_ids: Sequence[uuid.UUID]) -> list[list[RecordedEvent]]:
                async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
                    found = await deps.store.read_streams(conn, case_ids)
                return [found[c] for c in case_ids]

            loader = DataLoader(load_fn=load)
            self.loaders["case_events"] = loader
        return loader

    def case_record_loader(self) -> DataLoader[uuid.UUID, CaseRecord]:
        """The record of many cases (``service.domain.return_case.record``), from the events
        loaded above: no statement of its own."""
        loader = self.loaders.get("case_record")
        if loader is None:
            events = self.case_events_loader()

            async def load(case_ids: Sequence[uuid.UUID]) -> list[CaseRecord]:
                streams = await events.load_many(case_ids)
                return [case_record((e.version, e.event) for e in s) for s in streams]

            loader = DataLoader(load_fn=load)
            self.loaders["case_record"] = loader
        return loader

    def opened_events_loader(self) -> DataLoader[uuid.UUID, dict[int, Any]]:
        """The events of many cases by version with their personal parts decrypted: one key
        query per request. Only for fields that record what they return in ``personal_reads``."""
        loader = self.loaders.get("opened_events")
        if loader is None:
            principal = self.principal
            deps = self.deps
            events = self.case_events_loader()

            async def load(case_ids: Sequence[uuid.UUID]) -> list[dict[int, Any]]:
                streams = await events.load_many(case_ids)
                flat = [e for s in streams for e in s]
                async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
                    opened = await deps.store.open(conn, flat)
                by_case: dict[uuid.UUID, dict[int, Any]] = {c: {} for c in case_ids}
                for e in opened:
                    by_case[e.stream_id][e.version] = e.event
                return [by_case[c] for c in case_ids]

            loader = DataLoader(load_fn=load)
            self.loaders["opened_events"] = loader
        return loader


# A case's sealed ``personal`` column as a DataLoader key: (case id, envelope items).
SealedKey = tuple[uuid.UUID, tuple[tuple[str, Any], ...]]


Info = StrawberryInfo[Context, None]
