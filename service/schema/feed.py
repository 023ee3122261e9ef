"""The case-event feed: an HTTP-paged query and a live subscription over the same log.

Both deliver the same events with the same opaque cursors: an integrator may catch up over
HTTP and continue over a WebSocket, or resume either after a disconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from starlette.websockets import WebSocket
from strawberry.scalars import JSON

from service.auth import Principal
from service.db import tenant_transaction
from service.errors import (
    BadUserInput,
    Forbidden,
    InternalError,
    ServiceError,
    SubscriptionEnded,
    Unauthenticated,
)
from service.events.cursor import START, CursorSealer, FeedPosition, InvalidCursor
from service.events.feed import FeedFilter, SubscriptionClosed, position_of, read_feed
from service.events.types import RecordedEvent
from service.integrators.clients import is_active
from service.privacy import decrypt_personal
from service.privacy.access_log import record_reads
from service.schema.context import Context, Info
from service.schema.ids import from_global_id, to_global_id

log = logging.getLogger("service.feed")


@strawberry.type(description="One event of a return case, in feed order.")
class CaseEvent:
    cursor: str = strawberry.field(description="Pass as `after` to resume right after this event.")
    case_id: strawberry.ID = strawberry.field(
        description="The global ID of the case the event belongs to."
    )
    version: int = strawberry.field(
        description="The event's version in the case's stream (1, 2, 3, ...)."
    )
    event_type: str = strawberry.field(description="The event's type, e.g. DepartureRecorded.")
    schema_version: int = strawberry.field(
        description="The version of the event type's schema; data is always in the current one."
    )
    occurred_at: dt.datetime = strawberry.field(
        description="When the service handled the command that caused it."
    )
    recorded_at: dt.datetime = strawberry.field(
        description="When the event was committed to the log."
    )
    data: JSON = strawberry.field(description="The event's facts, in its current schema version.")
    personal: JSON | None = strawberry.field(
        description="Personal fields; null without the personal-data:read scope."
    )


@strawberry.type(description="One event in a page of the feed.")
class CaseEventEdge:
    cursor: str = strawberry.field(description="Pass it as after to resume right after this event.")
    node: CaseEvent = strawberry.field(description="The event.")


@strawberry.type(description="Where a page of the feed ends.")
class CaseEventPageInfo:
    has_next_page: bool = strawberry.field(
        description="True when more events are already available."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor to continue from; the given `after` when nothing is new."
    )


@strawberry.type(description="A page of your shelter's case events, in feed order.")
class CaseEventConnection:
    edges: list[CaseEventEdge] = strawberry.field(description="The events of this page.")
    page_info: CaseEventPageInfo = strawberry.field(
        description="Whether more follow, and the cursor to resume from."
    )


def _case_event(ctx: Context, recorded: RecordedEvent, with_personal: bool) -> CaseEvent:
    _, schema_version, data, personal = ctx.deps.store.registry.encode(recorded.event)
    return CaseEvent(
        cursor=ctx.cursors.seal(position_of(recorded), recorded.tenant_id),
        case_id=strawberry.ID(to_global_id("ReturnCase", recorded.stream_id)),
        version=recorded.version,
        event_type=recorded.event_type,
        schema_version=schema_version,
        occurred_at=recorded.occurred_at,
        recorded_at=recorded.recorded_at,
        data=JSON(data),
        personal=JSON(personal) if with_personal and personal is not None else None,
    )


def _start(cursors: CursorSealer, after: str | None, tenant_id: uuid.UUID) -> FeedPosition:
    if after is None:
        return START
    try:
        return cursors.open(after, tenant_id)
    except InvalidCursor:
        raise BadUserInput("after is not a valid cursor of this feed", field="after") from None


def _filter(
    ctx: Context, event_types: list[str] | None, case_id: strawberry.ID | None
) -> FeedFilter:
    types = None
    if event_types is not None:
        known = ctx.deps.store.registry.event_types
        unknown = sorted(set(event_types) - known)
        if unknown or not event_types:
            raise BadUserInput("eventTypes must name known event types", field="eventTypes")
        types = frozenset(event_types)
    stream = from_global_id("ReturnCase", case_id, field="caseId") if case_id else None
    return FeedFilter(event_types=types, stream_id=stream)


async def _authorise(ctx: Context) -> tuple[Principal, bool]:
    principal = ctx.principal
    with_personal = principal.feed_access()
    if principal.client_id is not None:
        async with tenant_transaction(ctx.deps.engine, principal.tenant_id) as conn:
            if not await is_active(conn, principal.client_id):
                raise Forbidden("the integrator's credentials were revoked")
    return principal, with_personal


async def case_events_page(
    info: Info,
    after: Annotated[
        str | None,
        strawberry.argument(
            description="The cursor of the last event you processed; from the start of the log "
            "without it."
        ),
    ] = None,
    first: Annotated[
        int | None, strawberry.argument(description="How many events to return at most.")
    ] = None,
    event_types: Annotated[
        list[str] | None,
        strawberry.argument(description="Only events of these types, e.g. DepartureRecorded."),
    ] = None,
    case_id: Annotated[
        strawberry.ID | None, strawberry.argument(description="Only the events of this case.")
    ] = None,
) -> CaseEventConnection:
    ctx = info.context
    principal, with_personal = await _authorise(ctx)
    max_page = ctx.settings.max_page_size
    if first is None:
        first = max_page
    if not 1 <= first <= max_page:
        raise BadUserInput(f"first must be between 1 and {max_page}", field="first")
    start = _start(ctx.cursors, after, principal.tenant_id)
    flt = _filter(ctx, event_types, case_id)
    async with tenant_transaction(ctx.deps.engine, principal.tenant_id) as conn:
        events = await read_feed(conn, ctx.deps.store, start, first + 1, flt)
        if with_personal:  # personal parts are sealed per client: open them for this caller
            events = await decrypt_personal(conn, ctx.deps.store, events)
    if with_personal:  # recorded in the access log once the operation has run
        for e in events[:first]:
            _, _, _, shown = ctx.deps.store.registry.encode(e.event)
            fields = {name for name, value in (shown or {}).items() if value is not None}
            if fields:
                ctx.personal_reads.setdefault(e.stream_id, set()).update(fields)
    edges = [
        CaseEventEdge(cursor=node.cursor, node=node)
        for node in (_case_event(ctx, e, with_personal) for e in events[:first])
    ]
    return CaseEventConnection(
        edges=edges,
        page_info=CaseEventPageInfo(
            has_next_page=len(events) > first,
            end_cursor=edges[-1].cursor if edges else after,
        ),
    )


# Close codes of a WebSocket whose token no longer holds (graphql-transport-ws: 4401
# unauthorised, 4403 forbidden). The client authenticates again and resumes from its cursor.
SOCKET_CLOSE_CODES = {"TOKEN_EXPIRED": 4401, "CREDENTIALS_REVOKED": 4403}
_CLOSE_DELAY_SECONDS = 0.1
_closing: set[asyncio.Task[None]] = set()


def _close_socket_soon(ctx: Context, reason: str) -> None:
    socket = ctx.request
    if not isinstance(socket, WebSocket):
        return

    async def close() -> None:
        await asyncio.sleep(_CLOSE_DELAY_SECONDS)  # let the error message go out first
        with contextlib.suppress(Exception):  # the client may have gone already
            await socket.close(code=SOCKET_CLOSE_CODES[reason], reason=reason)

    task = asyncio.get_running_loop().create_task(close())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


async def case_events_stream(
    info: Info,
    after: str | None = None,
    event_types: list[str] | None = None,
    case_id: strawberry.ID | None = None,
) -> AsyncGenerator[CaseEvent, None]:
    ctx = info.context
    principal, with_personal = await _authorise(ctx)
    start = _start(ctx.cursors, after, principal.tenant_id)
    flt = _filter(ctx, event_types, case_id)
    try:
        async for recorded in ctx.feed.subscribe(
            principal.tenant_id, start, flt, principal.client_id, principal.expires_at
        ):
            if with_personal and recorded.sealed is not None:
                # Open the personal part for this subscriber and account for it, together.
                async with tenant_transaction(ctx.deps.engine, principal.tenant_id) as conn:
                    (recorded,) = await decrypt_personal(conn, ctx.deps.store, [recorded])
                    _, _, _, shown = ctx.deps.store.registry.encode(recorded.event)
                    fields = [k for k, v in (shown or {}).items() if v is not None]
                    await record_reads(
                        conn,
                        tenant_id=principal.tenant_id,
                        actor=principal.subject,
                        organisation=principal.organisation.slug,
                        roles=principal.roles,
                        request_id=ctx.request_id,
                        reads={recorded.stream_id: fields},
                    )
            yield _case_event(ctx, recorded, with_personal)
    except SubscriptionClosed as closed:
        if closed.reason in SOCKET_CLOSE_CODES:
            # The whole connection was authorised by that token: end it too, after the
            # subscription's error has gone out (close codes documented in docs/security.md).
            _close_socket_soon(ctx, closed.reason)
        if closed.reason == "CREDENTIALS_REVOKED":
            raise Forbidden(closed.message, reason=closed.reason) from None
        if closed.reason == "TOKEN_EXPIRED":
            raise Unauthenticated(closed.message, reason=closed.reason) from None
        raise SubscriptionEnded(closed.message, reason=closed.reason) from None
    except ServiceError:
        raise
    except Exception as exc:
        # WebSocket errors bypass the HTTP error formatting: mask here, never show internals.
        log.error(
            "subscription failed",
            extra={"request_id": ctx.request_id, "error_type": type(exc).__name__},
        )
        raise InternalError(ctx.request_id) from None


@strawberry.type(
    description="Live streams. Integrators with the events:read scope, and your shelter's case "
    "workers, follow case events over graphql-transport-ws."
)
class Subscription:
    @strawberry.subscription(  # type: ignore[untyped-decorator]
        description=(
            "Every case event of your shelter after `after` (from the start without it): "
            "first from the log, then live, with no gap and no duplicate."
        )
    )
    async def case_events(
        self,
        info: Info,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="The cursor of the last event you processed; from the start of the log "
                "without it."
            ),
        ] = None,
        event_types: Annotated[
            list[str] | None,
            strawberry.argument(description="Only events of these types, e.g. DepartureRecorded."),
        ] = None,
        case_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only the events of this case.")
        ] = None,
    ) -> AsyncGenerator[CaseEvent, None]:
        async for event in case_events_stream(info, after, event_types, case_id):
            yield event
