"""The GraphQL view: strawberry's ASGI app with our context, errors and WebSocket auth."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from service.auth import TokenVerifier, bearer_token
from service.config import Settings
from service.errors import BadUserInput, Unauthenticated
from service.graphiql import graphiql_page
from service.schema import build_schema
from service.schema.context import Context
from service.schema.errors import format_error
from service.textcheck import find_unstorable


def _connection_token(params: Mapping[str, Any] | None) -> str | None:
    """The bearer token a WebSocket client sent in ``connection_init``."""
    if not isinstance(params, Mapping):
        return None
    raw = params.get("Authorization") or params.get("authorization") or params.get("token")
    if not isinstance(raw, str):
        return None
    return bearer_token(raw) if " " in raw.strip() else (raw.strip() or None)


def _is_subscription(request_data: GraphQLRequestData) -> bool:
    try:
        document = parse(request_data.query or "", max_tokens=10_000)
    except GraphQLError:
        return False  # validation reports it
    operation = get_operation_ast(document, request_data.operation_name)
    return operation is not None and operation.operation == OperationType.SUBSCRIPTION


class _TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with 4401 for a missing or invalid token in ``connection_init``."""

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


class SafeFutureGraphQL(GraphQL[Context, None]):
    """strawberry's ASGI view with our context, error format and WebSocket authentication."""

    graphql_transport_ws_handler_class = _TransportWSHandler

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(
            build_schema(production=settings.production),
            graphql_ide="graphiql" if settings.graphiql else None,
            allowed_origins=settings.allowed_origins,
            connection_init_wait_timeout=dt.timedelta(seconds=10),
            **kwargs,
        )
        self.settings = settings

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

    def parse_json(self, data: str | bytes) -> Any:
        """A GraphQL request body is one JSON object in UTF-8; anything else is HTTP 400.

        UTF-16/32 bodies (which ``json.loads`` would sniff and accept) and nesting deep enough
        to exhaust the parser are refused here.
        """
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            decoded = self.decode_json(text)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise HTTPException(400, "the request body is not valid UTF-8 JSON") from exc
        if not isinstance(decoded, dict):
            raise HTTPException(400, "the request body must be a JSON object")
        return decoded

    async def execute_operation(
        self,
        request: Request,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> Any:
        """Refuse strings PostgreSQL cannot store (NUL, lone surrogates) and subscriptions
        over HTTP (they need a WebSocket) before executing."""
        if isinstance(request_data, GraphQLRequestData):
            refusal: BadUserInput | None = None
            found = find_unstorable([request_data.query, request_data.variables])
            if found is not None:
                rule, field = found
                refusal = BadUserInput(
                    f"{field or 'the request'} must not contain NUL characters or lone surrogates",
                    rule=rule,
                    field=field,
                )
            elif "subscription" in (request_data.query or "") and _is_subscription(request_data):
                refusal = BadUserInput(
                    "subscribe over a WebSocket (graphql-transport-ws); over HTTP page with "
                    "the caseEvents query"
                )
            if refusal is not None:
                return ExecutionResult(
                    data=None, errors=[GraphQLError(refusal.message, original_error=refusal)]
                )
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

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
            request_id=state.get("request_id", uuid.uuid4().hex),
            principal_or_none=state.get("principal"),
            feed=app_state.feed,
            cursors=app_state.cursors,
            metrics=app_state.metrics,
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        request_id = request.scope.get("state", {}).get("request_id", "-")
        data: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            data["errors"] = [format_error(e, request_id) for e in result.errors]
        if result.extensions:
            data["extensions"] = result.extensions
        return data
