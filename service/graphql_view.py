"""The GraphQL view: HTTP and both WebSocket protocols through one guard chain.

Every transport hands its request to ``service.schema.guards.prepare`` and formats errors
with ``service.schema.errors.format_error``. A WebSocket carries subscriptions only: queries
and mutations sent over one are refused (``BAD_USER_INPUT``, rule ``OPERATION_NOT_ALLOWED``).

HTTP follows GraphQL over HTTP: ``application/graphql-response+json`` when the client accepts
it (a request error, no ``data``, is then HTTP 400), ``application/json`` otherwise (HTTP 200
for any well-formed request). A request that is not well-formed (body not a JSON object, batch,
wrong content type, parameters of the wrong type) is HTTP 400 with a JSON error and a code.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any, cast

from graphql import GraphQLError, OperationType
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.async_base_view import AsyncWebSocketAdapter
from strawberry.schema.base import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    NextMessagePayload,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType as StrawberryOperationType
from strawberry.types.unset import UNSET, UnsetType

from service.auth import TokenVerifier, bearer_token
from service.config import Settings
from service.errors import BadUserInput, Unauthenticated
from service.graphiql import graphiql_page
from service.schema import build_schema
from service.schema.compiled import compiled_data
from service.schema.compiled_commands import Outcome, compiled_command
from service.schema.context import Context
from service.schema.errors import format_error, log_request_errors
from service.schema.extensions import observe_operation, operation_label
from service.schema.feed import FEED_SINK, DirectWriter, FeedSink
from service.schema.guards import OperationNotAllowed, Prepared, RequestRefused, prepare
from service.schema.privacy import AccessNotRecorded, record_personal_reads
from service.schema.redaction import enum_value_names
from service.serving import DIRECT_TEXT_EXTENSION

GRAPHQL_RESPONSE = "application/graphql-response+json"
refusals = logging.getLogger("service.graphql")
# A frontend follows a handful of feeds; more on one socket is refused with a code.
MAX_SUBSCRIPTIONS_PER_CONNECTION = 20


def _connection_token(params: Mapping[str, Any] | None) -> str | None:
    """The bearer token a WebSocket client sent in ``connection_init``."""
    if not isinstance(params, Mapping):
        return None
    raw = params.get("Authorization") or params.get("authorization") or params.get("token")
    if not isinstance(raw, str):
        return None
    return bearer_token(raw) if " " in raw.strip() else (raw.strip() or None)


def _formatted(errors: list[GraphQLError], context: Context) -> list[dict[str, Any]]:
    return [
        format_error(
            e,
            context.request_id,
            suggestions=not context.settings.production,
            enum_values=context.enum_values,
        )
        for e in errors
    ]


def _refused(errors: list[GraphQLError], context: Context) -> list[dict[str, Any]]:
    """Errors of a request the guard chain refused: logged and counted like the schema's own
    (which never saw the request), then formatted."""
    for error in errors:
        rule = getattr(error.original_error, "rule", None)
        refusals.info("request refused", extra={"code": "BAD_USER_INPUT", "reason": rule})
        if context.metrics is not None:
            context.metrics.errors.labels("BAD_USER_INPUT").inc()
    return _formatted(errors, context)


def _subscription_limit_error() -> GraphQLError:
    message = "this connection already runs as many subscriptions as it may"
    return GraphQLError(message, original_error=BadUserInput(message, rule="SUBSCRIPTION_LIMIT"))


def _prepare_ws(schema: BaseSchema, payload: object) -> Prepared | list[GraphQLError]:
    """The guard chain for a WebSocket operation: subscriptions only."""
    if not isinstance(payload, Mapping):
        payload = {}
    try:
        return prepare(
            schema._schema,  # type: ignore[attr-defined]
            payload.get("query"),
            payload.get("variables"),
            payload.get("operationName"),
            allowed=(OperationType.SUBSCRIPTION,),
            transport="websocket",
        )
    except RequestRefused as refused:
        return refused.errors


def _sink(
    websocket: AsyncWebSocketAdapter,
    head: dict[str, str],
    operation: Operation[Context, None] | None = None,
) -> FeedSink | None:
    """Shared feed messages go straight to the socket: ``head`` is the message without its
    payload (the operation's id and the message type), serialised once per operation."""
    if not isinstance(websocket, ASGIWebSocketAdapter):
        return None
    socket = websocket.ws
    prefix = json.dumps(head, separators=(",", ":"))[:-1] + ',"payload":'

    async def send(text: str) -> None:
        if operation is not None and operation.completed:
            return
        await socket.send_text(text)

    writer = socket.scope.get("extensions", {}).get(DIRECT_TEXT_EXTENSION)
    direct = cast(DirectWriter, writer) if callable(getattr(writer, "send", None)) else None
    return FeedSink(prefix, send, direct, operation)


class _GuardedOperation(Operation[Context, None]):
    """A graphql-transport-ws operation whose errors are formatted like HTTP's."""

    __slots__ = ()

    async def send_initial_errors(self, errors: list[GraphQLError]) -> None:
        context: Context = self.handler.context
        await self.send_operation_message(
            cast(Any, {"id": self.id, "type": "error", "payload": _formatted(errors, context)})
        )

    async def send_next(self, execution_result: ExecutionResult) -> None:
        context: Context = self.handler.context
        payload: NextMessagePayload = {"data": execution_result.data}
        if execution_result.errors:
            payload["errors"] = cast(Any, _formatted(execution_result.errors, context))
        await self.send_operation_message({"id": self.id, "type": "next", "payload": payload})


class _TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws: 4401 for a missing or invalid token in ``connection_init``;
    every ``subscribe`` goes through the guard chain (subscriptions only) and its errors are
    formatted like HTTP's."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if not self.connection_init_received:
            token = _connection_token(message.get("payload"))
            verifier: TokenVerifier = self.context.request.app.state.verifier
            try:
                if token is None:
                    raise Unauthenticated("no token")
                await verifier.verify(token)
            except Unauthenticated:
                if self.connection_init_timeout_task:
                    self.connection_init_timeout_task.cancel()
                await self.websocket.close(code=4401, reason="Unauthorized")
                return
        await super().handle_connection_init(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not self.connection_acknowledged:
            await self.websocket.close(code=4401, reason="Unauthorized")
            return
        operation_id: object = message.get("id")
        payload: object = message.get("payload")
        if not isinstance(operation_id, str) or not isinstance(payload, Mapping):
            await self.websocket.close(code=4400, reason="subscribe needs an id and a payload")
            return
        if operation_id in self.operations:
            reason = f"Subscriber for {operation_id} already exists"
            await self.websocket.close(code=4409, reason=reason)
            return
        limit = self.max_subscriptions_per_connection
        prepared: Prepared | list[GraphQLError]
        if limit is not None and len(self.operations) >= limit:
            prepared = [_subscription_limit_error()]
        else:
            prepared = _prepare_ws(self.schema, payload)
        if not isinstance(prepared, Prepared):
            error = {
                "id": operation_id,
                "type": "error",
                "payload": _refused(prepared, self.context),
            }
            await self.send_message(cast(Any, error))
            return
        variables = payload.get("variables")
        operation = _GuardedOperation(
            self,
            operation_id,
            prepared.query,
            variables if isinstance(variables, dict) else None,
            payload.get("operationName"),
        )
        self.operations[operation_id] = operation
        operation.task = asyncio.create_task(self._run_prepared(operation, prepared))
        operation.task.add_done_callback(self._task_done)

    async def _run_prepared(self, operation: Operation[Context, None], prepared: Prepared) -> None:
        self.context.prepared = prepared
        FEED_SINK.set(_sink(self.websocket, {"id": operation.id, "type": "next"}, operation))
        await self.run_operation(operation)


class _LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws protocol through the same guard chain and error format."""

    async def handle_start(self, message: StartMessage) -> None:
        if not self.connection_acknowledged:
            await self.websocket.close(code=4401, reason="Unauthorized")
            return
        operation_id: object = message.get("id")
        payload: object = message.get("payload")
        if not isinstance(operation_id, str):
            await self.websocket.close(code=4400, reason="start needs an id")
            return
        if operation_id in self.tasks:
            await self.cleanup_operation(operation_id)
        limit = self.max_subscriptions_per_connection
        prepared: Prepared | list[GraphQLError]
        if limit is not None and len(self.tasks) >= limit:
            prepared = [_subscription_limit_error()]
        else:
            prepared = _prepare_ws(self.schema, payload)
        if not isinstance(prepared, Prepared):
            await self._send_error(operation_id, prepared, refused=True)
            return
        assert isinstance(payload, Mapping)
        self.tasks[operation_id] = asyncio.create_task(
            self._run_prepared(operation_id, prepared, payload)
        )

    async def _send_error(
        self, operation_id: str, errors: list[GraphQLError], *, refused: bool = False
    ) -> None:
        formatted = (_refused if refused else _formatted)(errors, self.context)
        error = {
            "type": "error",
            "id": operation_id,
            "payload": formatted[0],
        }
        await self.send_message(cast(Any, error))

    async def _run_prepared(
        self, operation_id: str, prepared: Prepared, payload: Mapping[str, Any]
    ) -> None:
        variables = payload.get("variables")
        self.context.prepared = prepared
        FEED_SINK.set(_sink(self.websocket, {"type": "data", "id": operation_id}))
        try:
            source = await self.schema.subscribe(
                query=prepared.query,
                variable_values=variables if isinstance(variables, dict) else None,
                operation_name=payload.get("operationName"),
                context_value=self.context,
                root_value=self.root_value,
            )
            self.subscriptions[operation_id] = source
            first = True
            async for result in source:
                if first and isinstance(result, PreExecutionError):
                    await self._send_error(operation_id, list(result.errors or ()))
                    return
                first = False
                data: dict[str, Any] = {"data": result.data}
                if result.errors:
                    data["errors"] = _formatted(result.errors, self.context)
                await self.send_message(
                    cast(Any, {"type": "data", "id": operation_id, "payload": data})
                )
            await self.send_message({"type": "complete", "id": operation_id})
        except asyncio.CancelledError:
            await self.send_message({"type": "complete", "id": operation_id})
        finally:
            self.subscriptions.pop(operation_id, None)
            self.tasks.pop(operation_id, None)


class _TransportError(Exception):
    def __init__(self, status: int, message: str, rule: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.rule = rule


def _media_type(request: Request) -> str:
    accept = request.headers.get("accept", "")
    return GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else "application/json"


def _json_error(
    status: int, message: str, rule: str, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    body = {
        "errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT", "rule": rule}}]
    }
    return JSONResponse(body, status_code=status, media_type=media_type, headers=headers)


class SafeFutureGraphQL(GraphQL[Context, None]):
    """strawberry's ASGI app for the WebSocket protocols and GraphiQL; our own HTTP handling,
    both through the guard chain."""

    graphql_transport_ws_handler_class = _TransportWSHandler
    graphql_ws_handler_class = _LegacyWSHandler

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(
            build_schema(production=settings.production),
            graphql_ide="graphiql" if settings.graphiql else None,
            allowed_origins=settings.allowed_origins,
            connection_init_wait_timeout=dt.timedelta(seconds=10),
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
            **kwargs,
        )
        self.settings = settings
        # Every enum's values, for errors that refuse one (listed only in development).
        self.enum_values = enum_value_names(self.schema._schema)  # type: ignore[attr-defined]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        response = await self._http(request)
        await response(scope, receive, send)

    async def _http(self, request: Request) -> Response:
        media_type = _media_type(request)
        if request.method not in ("GET", "POST"):
            return _json_error(
                405, "use GET or POST", "METHOD_NOT_ALLOWED", media_type, {"Allow": "GET, POST"}
            )
        adapter = self.request_adapter_class(request)
        if self.should_render_graphql_ide(adapter):
            if self.graphql_ide:
                return await self.render_graphql_ide(request)
            return _json_error(404, "not found", "NOT_FOUND", media_type)
        try:
            params = await self._params(request)
        except _TransportError as error:
            return _json_error(error.status, error.message, error.rule, media_type)
        is_get = request.method == "GET"
        allowed = (
            (OperationType.QUERY,) if is_get else (OperationType.QUERY, OperationType.MUTATION)
        )
        context = await self.get_context(request, None)
        try:
            prepared = prepare(
                self.schema._schema,  # type: ignore[attr-defined]
                params.get("query"),
                params.get("variables"),
                params.get("operationName"),
                allowed=allowed,
                transport="get" if is_get else "post",
            )
        except RequestRefused as refused:
            original = refused.errors[0].original_error
            rule = getattr(original, "rule", None)
            # As the reference server does, a document without a single operation to run is
            # not a well-formed request: 400 under either media type.
            selection = rule in ("NO_OPERATION", "OPERATION_NAME_REQUIRED", "UNKNOWN_OPERATION")
            status = 400 if media_type == GRAPHQL_RESPONSE or selection else 200
            headers: dict[str, str] = {}
            if isinstance(original, OperationNotAllowed) and is_get:
                status, headers = 405, {"Allow": "POST"}
            body: dict[str, Any] = {"errors": _refused(refused.errors, context)}
            if media_type != GRAPHQL_RESPONSE:
                body = {"data": None, **body}
            return JSONResponse(body, status_code=status, media_type=media_type, headers=headers)
        context.prepared = prepared
        started = time.perf_counter()
        graphql_schema = self.schema._schema  # type: ignore[attr-defined]
        try:
            data = await compiled_data(
                graphql_schema,
                getattr(self.schema, "extra_rules", ()),
                context,
                prepared,
                params.get("variables"),
            )
        except Exception as error:  # e.g. the database is gone: the normal way reports it
            refusals.warning("compiled read failed", extra={"error": type(error).__name__})
            data = None
        if data is not None:
            if context.metrics is not None:
                label = operation_label(graphql_schema, prepared.operation)
                context.metrics.requests.labels(label).observe(time.perf_counter() - started)
            body_bytes = b'{"data":' + data.encode() + b"}"
            return Response(body_bytes, media_type=media_type)
        try:
            outcome = await compiled_command(
                graphql_schema,
                getattr(self.schema, "extra_rules", ()),
                context,
                prepared,
                params.get("variables"),
            )
        except Exception as error:  # before the resolver: the normal way runs it and reports
            refusals.warning("compiled command failed", extra={"error": type(error).__name__})
            outcome = None
        if outcome is not None:
            return await self._command_response(outcome, context, prepared, started, media_type)
        result = await self.schema.execute(
            prepared.query,
            variable_values=params.get("variables"),
            context_value=context,
            operation_name=params.get("operationName"),
            allowed_operation_types=[StrawberryOperationType(t.value) for t in allowed],
        )
        return self._result_response(result, context, media_type)

    async def _command_response(
        self,
        outcome: Outcome,
        context: Context,
        prepared: Prepared,
        started: float,
        media_type: str,
    ) -> Response:
        """A mutation run by ``compiled_command``, finished as the schema's extensions finish
        one: errors logged, personal reads recorded, the operation measured."""
        data, errors = outcome.data, outcome.errors
        log_request_errors(errors, context.request_id)
        try:
            await record_personal_reads(context)
        except AccessNotRecorded as refused:
            data, errors = None, [GraphQLError(str(refused), original_error=refused)]
            log_request_errors(errors, context.request_id)
        if context.metrics is not None:
            graphql_schema = self.schema._schema  # type: ignore[attr-defined]
            label = operation_label(graphql_schema, prepared.operation)
            observe_operation(context.metrics, label, time.perf_counter() - started, errors)
        result = ExecutionResult(data=data, errors=errors or None)
        return self._result_response(result, context, media_type)

    def _result_response(
        self, result: ExecutionResult, context: Context, media_type: str
    ) -> Response:
        errors = result.errors or []
        request_error = result.data is None and bool(errors) and all(e.path is None for e in errors)
        # A request error has no data entry under graphql-response+json; plain JSON keeps the
        # "data": null that clients of this API have always received.
        omit_data = request_error and media_type == GRAPHQL_RESPONSE
        body: dict[str, Any] = {} if omit_data else {"data": result.data}
        if errors:
            body["errors"] = _formatted(errors, context)
        status = 400 if request_error and media_type == GRAPHQL_RESPONSE else 200
        return JSONResponse(body, status_code=status, media_type=media_type)

    async def _params(self, request: Request) -> dict[str, Any]:
        """The request's parameters, or ``_TransportError`` when it is not well-formed."""
        if request.method == "GET":
            raw: dict[str, Any] = dict(request.query_params)
            for name in ("variables", "extensions"):
                if raw.get(name):
                    raw[name] = self._decode(raw[name], name)
        else:
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != "application/json":
                raise _TransportError(
                    415 if content_type else 400,
                    "send the request as application/json",
                    "UNSUPPORTED_CONTENT_TYPE",
                )
            decoded = self._decode(await request.body(), "body")
            if isinstance(decoded, list):
                raise _TransportError(
                    400, "send one operation per request: batches are not accepted", "BATCH"
                )
            if not isinstance(decoded, dict):
                raise _TransportError(
                    400, "the request body must be a JSON object", "NOT_AN_OBJECT"
                )
            raw = decoded
        checks = (
            ("query", str, "query must be a string holding the GraphQL document"),
            ("operationName", str, "operationName must be a string"),
            ("variables", dict, "variables must be a JSON object"),
            ("extensions", dict, "extensions must be a JSON object"),
        )
        for name, kind, message in checks:
            value = raw.get(name)
            if value is not None and not isinstance(value, kind):
                raise _TransportError(400, message, "INVALID_PARAMETER")
        if not raw.get("query"):
            raise _TransportError(400, "send the GraphQL document in query", "QUERY_MISSING")
        return raw

    def _decode(self, data: str | bytes, what: str) -> Any:
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            return json.loads(text)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise _TransportError(
                400, f"the {what} is not valid UTF-8 JSON", "INVALID_JSON"
            ) from None

    def decode_json(self, data: str | bytes) -> object:
        """WebSocket frames: nesting deep enough to exhaust the parser is invalid JSON (the
        socket closes with 4400), not a crash."""
        try:
            return json.loads(data)
        except RecursionError:
            raise json.JSONDecodeError("nested too deeply", "", 0) from None

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our own GraphiQL page: assets from this origin, a strict Content-Security-Policy."""
        return graphiql_page(request)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket from its ``connection_init`` payload."""
        token = _connection_token(context.connection_params)
        verifier: TokenVerifier = context.request.app.state.verifier
        try:
            if token is None:
                raise Unauthenticated("no token")
            context.principal_or_none = await verifier.verify(token)
        except Unauthenticated:
            raise ConnectionRejectionError({"reason": "a valid bearer token is required"}) from None
        no_payload: UnsetType = UNSET
        return no_payload

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        state = request.scope.get("state", {})
        app_state = request.app.state
        return Context(
            request=request,
            response=response,
            deps=app_state.deps,
            settings=self.settings,
            request_id=state.get("request_id") or uuid.uuid4().hex,
            principal_or_none=state.get("principal"),
            feed=app_state.feed,
            cursors=app_state.cursors,
            metrics=app_state.metrics,
            enum_values=self.enum_values,
        )
