"""The case-event feed: an HTTP-paged query and a live subscription over the same log.

Both deliver the same events with the same opaque cursors: an integrator may catch up over
HTTP and continue over a WebSocket, or resume either after a disconnect.

Broadcast: an event goes to every live subscriber of its shelter, but what a subscriber
receives depends only on the event, its selection (with the variables the selection uses) and
its scope. Over a WebSocket (``FEED_SINK`` set by the transport) the ``next`` payload is
therefore executed and serialised once per event and distinct (selection, variables, scope)
and the same JSON text goes to every subscriber sharing it, behind its own operation id. The
cursor is sealed once per event: it is bound to the shelter, not to a subscriber. Payloads
with personal parts are built per subscriber, right after opening them for that subscriber
and recording the read, and never kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import inspect
import json
import logging
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLResolveInfo,
    Undefined,
    VariableNode,
    execute,
    print_ast,
    visit,
)
from graphql.language import Visitor
from graphql.pyutils import AwaitableOrValue
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
from service.events.feed import ALL, FeedFilter, SubscriptionClosed, position_of, read_feed
from service.events.types import RecordedEvent
from service.integrators.clients import is_active
from service.privacy import decrypt_personal
from service.privacy.access_log import record_reads
from service.schema.context import Context, Info
from service.schema.errors import format_error
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


def _cursor(ctx: Context, recorded: RecordedEvent) -> str:
    """The event's cursor, sealed once per event: it is bound to the shelter only."""
    key = ("cursor", recorded.tenant_id, recorded.transaction_id, recorded.global_position)
    cursor: str | None = ctx.feed.memo.get(key)
    if cursor is None:
        cursor = ctx.cursors.seal(position_of(recorded), recorded.tenant_id)
        ctx.feed.memo.put(key, cursor)
    return cursor


def _case_event(ctx: Context, recorded: RecordedEvent, with_personal: bool) -> CaseEvent:
    _, schema_version, data, personal = ctx.deps.store.registry.encode(recorded.event)
    return CaseEvent(
        cursor=_cursor(ctx, recorded),
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
    if types is None and stream is None:
        return ALL  # every case event: the fan-out needs no per-subscriber check
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


class DirectWriter(Protocol):
    """A transport's way to write a whole message (bytes of UTF-8 text) to a socket at once."""

    def send(self, data: bytes) -> bool:
        """Write ``data`` now; False when the socket cannot take it now."""
        ...


class Completable(Protocol):
    """A transport's operation: ``completed`` once its last message went out or the client
    ended it; nothing more is sent for it then."""

    completed: bool


@dataclass(frozen=True, slots=True)
class FeedSink:
    """Where a WebSocket transport wants a ``caseEvents`` operation's results: ``prefix`` +
    the shared ``next`` payload + ``"}"`` is the whole message (the prefix carries the
    operation's id), handed to ``send``."""

    prefix: str
    send: Callable[[str], Awaitable[None]]
    # Writes a whole message (bytes of UTF-8 text) to the socket at once (``send``), or
    # returns False when it cannot now (the socket is not writable); None where the server
    # offers no such thing. Used from the feed's fan-out, without a task switch per
    # subscriber, and never for an ``operation`` already completed.
    direct: DirectWriter | None = None
    operation: Completable | None = None


# Set by the WebSocket transports in each operation's task (service.graphql_view).
FEED_SINK: ContextVar[FeedSink | None] = ContextVar("feed_sink", default=None)


_GONE_GRACE_SECONDS = 30.0


class _Shape:
    """How one subscription renders an event: its document, the variables its selection uses,
    and the key every subscription rendering alike shares.

    The root field's own arguments (``after``, ``eventTypes``, ``caseId``) choose which events
    come, not how they look: variables used only there are left out of the key, so
    subscribers resuming from different cursors still share one payload per event.
    """

    def __init__(
        self, info: GraphQLResolveInfo[Context], tenant_id: uuid.UUID, with_personal: bool
    ) -> None:
        operation = info.operation
        self.document = DocumentNode(definitions=(operation, *info.fragments.values()))
        # The request's own values where graphql-core keeps them, else the coerced ones (of
        # this schema's input types, coercing them again gives the same values).
        values: Any = info.variable_values
        sources = getattr(values, "sources", None)
        self.variables: dict[str, Any] = (
            {n: src.value for n, src in sources.items() if src.value is not Undefined}
            if isinstance(sources, dict)
            else dict(values)
        )
        self.operation_name = operation.name.value if operation.name else None
        root_args: set[str] = set()
        for node in info.field_nodes:
            for argument in node.arguments or ():
                root_args |= _variables_in(argument)
        rendering: set[str] = set()
        for node in info.field_nodes:
            for directive in node.directives or ():
                rendering |= _variables_in(directive)
            if node.selection_set is not None:
                rendering |= _variables_in(node.selection_set)
        for fragment in info.fragments.values():
            rendering |= _variables_in(fragment)
        for directive in operation.directives or ():
            rendering |= _variables_in(directive)
        used = {k: v for k, v in self.variables.items() if k in rendering or k not in root_args}
        printed = "\n".join(print_ast(d) for d in self.document.definitions)
        # Personal parts count only where the scope allows them and the selection asks for them.
        self.personal = with_personal and _selects_personal(info)
        self.key: Hashable = (
            "next",
            tenant_id,
            self.personal,
            printed,
            self.operation_name,
            json.dumps(used, sort_keys=True, default=str),
        )
        self.last: tuple[RecordedEvent, _SharedPayload] | None = None


class _PersonalField(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_field(self, field: FieldNode, *_: Any) -> None:
        self.found = self.found or field.name.value == "personal"


class _Variables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, variable: VariableNode, *_: Any) -> None:
        self.names.add(variable.name.value)


def _selects_personal(info: GraphQLResolveInfo[Context]) -> bool:
    """Does the selection ask for ``personal`` anywhere (any alias, fragment or condition)?"""
    finder = _PersonalField()
    for node in info.field_nodes:
        if node.selection_set is not None:
            visit(node.selection_set, finder)
    for fragment in info.fragments.values():
        visit(fragment, finder)
    return finder.found


def _variables_in(node: Any) -> set[str]:
    collector = _Variables()
    visit(node, collector)
    return collector.names


def _payload(ctx: Context, result: ExecutionResult) -> str:
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [
            format_error(e, ctx.request_id, suggestions=not ctx.settings.production)
            for e in result.errors
        ]
    return json.dumps(payload, separators=(",", ":"))


def _execute(
    ctx: Context, shape: _Shape, info: GraphQLResolveInfo[Context], node: CaseEvent
) -> AwaitableOrValue[ExecutionResult]:
    return execute(
        info.schema,
        shape.document,
        root_value=node,
        context_value=ctx,
        variable_values=shape.variables,
        operation_name=shape.operation_name,
    )


async def _render(
    ctx: Context, shape: _Shape, info: GraphQLResolveInfo[Context], node: CaseEvent
) -> str:
    """The ``next`` payload of ``node`` for this shape, as JSON text."""
    result = _execute(ctx, shape, info, node)
    if inspect.isawaitable(result):
        result = await result
    return _payload(ctx, result)


class _SharedPayload:
    """One event's ``next`` payload for one shape: the UTF-8 bytes the fan-out writes to
    sockets, and the same as text for subscribers served through their queue, decoded once
    for all of them."""

    __slots__ = ("_message", "_prefix", "_text", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._text: str | None = None
        self._prefix = b""
        self._message = b""

    def message(self, prefix: bytes) -> bytes:
        """The whole message behind ``prefix``. The last one is kept: subscribers whose
        operation ids are alike (clients that number their operations from 1) follow one
        another in the fan-out and share it, and the transport frames it once for all.
        Alike prefixes are one object (``_prefix_bytes``), so most are told apart by
        identity."""
        if prefix is not self._prefix and (prefix != self._prefix or not self._message):
            self._prefix, self._message = prefix, prefix + self.data + b"}"
        return self._message

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.data.decode()
        return self._text


def _shared(
    ctx: Context, shape: _Shape, info: GraphQLResolveInfo[Context], recorded: RecordedEvent
) -> _SharedPayload | None:
    """The payload every subscriber of this shape gets for ``recorded``, built once per event;
    None when it cannot be shared (execution reported errors, which name the request)."""
    last = shape.last
    if last is not None and last[0] is recorded:  # the fan-out hands one object to everyone
        return last[1]
    key = (shape.key, recorded.transaction_id, recorded.global_position)
    shared: _SharedPayload | None = ctx.feed.memo.get(key)
    if shared is None:
        result = _execute(ctx, shape, info, _case_event(ctx, recorded, shape.personal))
        if inspect.isawaitable(result):  # no field of CaseEvent resolves asynchronously
            if inspect.iscoroutine(result):
                result.close()
            return None
        if result.errors:
            return None
        shared = _SharedPayload(_payload(ctx, result).encode())
        ctx.feed.memo.put(key, shared)
    shape.last = (recorded, shared)
    return shared


async def _events(
    ctx: Context,
    principal: Principal,
    with_personal: bool,
    start: FeedPosition,
    flt: FeedFilter,
    direct: Callable[[RecordedEvent], bool] | None,
) -> AsyncGenerator[tuple[RecordedEvent, bool], None]:
    """The subscriber's events, and whether a personal part was opened (and its read recorded)
    for this subscriber; with ``direct``, live events the transport took at once are not among
    them."""
    try:
        async for recorded in ctx.feed.subscribe(
            principal.tenant_id, start, flt, principal.client_id, principal.expires_at, direct
        ):
            opened = with_personal and recorded.sealed is not None
            if opened:
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
            yield recorded, opened
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


# Prefixes up to this many characters are shared; a client's operation id may be long, and the
# cache must stay small (256 of them at most, whoever opened them).
_SHARED_PREFIX_CHARS = 128


def _prefix_bytes(prefix: str) -> bytes:
    """A message prefix as bytes, one object for alike prefixes (most clients number their
    operations from 1): the fan-out compares them by identity first."""
    if len(prefix) > _SHARED_PREFIX_CHARS:
        return prefix.encode()
    return _shared_prefix(prefix)


@functools.lru_cache(maxsize=256)
def _shared_prefix(prefix: str) -> bytes:
    return prefix.encode()


class _Delivery:
    """The fan-out's way to one subscriber's socket: the shared payload behind its prefix.

    One object with slots, whose ``deliver`` the fan-out calls once per subscriber and event:
    what it reads sits together, where closures' would be spread over cells."""

    __slots__ = ("ctx", "info", "operation", "prefix", "shape", "socket")

    def __init__(
        self,
        ctx: Context,
        shape: _Shape,
        info: GraphQLResolveInfo[Context],
        socket: DirectWriter,
        operation: Completable | None,
        prefix: str,
    ) -> None:
        self.ctx = ctx
        self.shape = shape
        self.info = info
        self.socket = socket
        self.operation = operation
        self.prefix = _prefix_bytes(prefix)

    def deliver(self, recorded: RecordedEvent) -> bool:
        shape = self.shape
        if shape.personal and recorded.sealed is not None:
            return False  # opened and accounted for this subscriber alone, on the queue's path
        last = shape.last
        if last is not None and last[0] is recorded:  # every subscriber of the shape but one
            shared: _SharedPayload | None = last[1]
        else:
            shared = _shared(self.ctx, shape, self.info, recorded)
        if shared is None:
            return False
        operation = self.operation
        if operation is not None and operation.completed:
            return True  # nothing more goes out for a completed operation
        return self.socket.send(shared.message(self.prefix))


def _direct(
    ctx: Context, shape: _Shape, info: GraphQLResolveInfo[Context], sink: FeedSink
) -> Callable[[RecordedEvent], bool] | None:
    """The fan-out's way to this subscriber's socket, where the transport offers one."""
    if sink.direct is None:
        return None
    # A bound method, made once: the fan-out calls it without looking ``__call__`` up.
    return _Delivery(ctx, shape, info, sink.direct, sink.operation, sink.prefix).deliver


async def case_events_stream(
    info: Info,
    after: str | None = None,
    event_types: list[str] | None = None,
    case_id: strawberry.ID | None = None,
) -> AsyncGenerator[CaseEvent, None]:
    """The subscription's source stream. With a WebSocket ``FEED_SINK`` the messages are sent
    from here, pre-serialised and shared (see the module's doc), and nothing is yielded."""
    ctx = info.context
    sink = FEED_SINK.get()
    raw_info = info._raw_info
    shape_key: Hashable | None = None
    try:
        principal, with_personal = await _authorise(ctx)
        start = _start(ctx.cursors, after, principal.tenant_id)
        flt = _filter(ctx, event_types, case_id)
        own_shape = _Shape(raw_info, principal.tenant_id, with_personal)
        # Subscriptions of one shape share one ``_Shape`` (and its last payload) while open.
        shape = ctx.feed.shapes.acquire(own_shape.key, own_shape)
        shape_key = shape.key
        direct = _direct(ctx, shape, raw_info, sink) if sink is not None else None
        async for recorded, opened in _events(ctx, principal, shape.personal, start, flt, direct):
            if sink is None:
                yield _case_event(ctx, recorded, shape.personal)
                continue
            # Opened for this subscriber: built for it alone, never kept.
            shared = None if opened else _shared(ctx, shape, raw_info, recorded)
            if shared is None:
                payload = await _render(
                    ctx, shape, raw_info, _case_event(ctx, recorded, shape.personal)
                )
            else:
                payload = shared.text
            try:
                await sink.send(sink.prefix + payload + "}")
            except Exception:
                # The socket is gone: its handler cancels this operation as it shuts down.
                await asyncio.sleep(_GONE_GRACE_SECONDS)
                return
    except ServiceError:
        raise
    except Exception as exc:
        # WebSocket errors bypass the HTTP error formatting: mask here, never show internals.
        log.error(
            "subscription failed",
            extra={"request_id": ctx.request_id, "error_type": type(exc).__name__},
        )
        raise InternalError(ctx.request_id) from None
    finally:
        if shape_key is not None:
            ctx.feed.shapes.release(shape_key)


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
