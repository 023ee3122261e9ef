"""The Starlette application: routes, lifespan (engine, tenants, token verifier), auth gate."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from cross_web import HTTPException
from sqlalchemy import text
from sqlalchemy.engine import URL
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from service.auth import (
    Principal,
    Tenant,
    TokenVerifier,
    bearer_token,
    identity_provider,
    load_signing_key,
    service_issuer,
)
from service.config import Settings
from service.db import create_app_engine
from service.domain.return_case import EVENT_TYPES
from service.errors import Unauthenticated
from service.events.cursor import CursorSealer
from service.events.feed import FeedHub
from service.events.store import EventStore
from service.events.types import EventRegistry
from service.handlers.return_case import Dependencies
from service.integrators.oauth import token_endpoint
from service.schema import build_schema
from service.schema.context import Context
from service.schema.errors import format_error


def _connection_token(params: Mapping[str, Any] | None) -> str | None:
    """The bearer token a WebSocket client sent in ``connection_init``."""
    if not isinstance(params, Mapping):
        return None
    raw = params.get("Authorization") or params.get("authorization") or params.get("token")
    if not isinstance(raw, str):
        return None
    return bearer_token(raw) if " " in raw.strip() else (raw.strip() or None)


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
            build_schema(),
            graphql_ide=None if settings.production else "graphiql",
            allowed_origins=settings.allowed_origins,
            connection_init_wait_timeout=dt.timedelta(seconds=10),
            **kwargs,
        )
        self.settings = settings

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
        """A GraphQL request body is one JSON object in UTF-8; anything else is HTTP 400."""
        try:
            decoded = self.decode_json(data)
        except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
            raise HTTPException(400, "the request body is not valid JSON") from exc
        if not isinstance(decoded, dict):
            raise HTTPException(400, "the request body must be a JSON object")
        return decoded

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


def _unauthenticated(message: str, request_id: str) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}
    return JSONResponse(
        body,
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="safe-future"', "X-Request-ID": request_id},
    )


class AuthGate:
    """Verifies the bearer token of every HTTP GraphQL request; no valid token, HTTP 401.

    The GraphiQL page itself (a browser's GET asking for HTML) needs no token.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        wants_ide = (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
        )
        if not wants_ide:
            token = bearer_token(request.headers.get("authorization"))
            if token is None:
                await _unauthenticated("a bearer token is required", request_id)(
                    scope, receive, send
                )
                return
            verifier: TokenVerifier = scope["app"].state.verifier
            try:
                principal: Principal = await verifier.verify(token)
            except Unauthenticated as exc:
                await _unauthenticated(exc.message, request_id)(scope, receive, send)
                return
            scope["state"]["principal"] = principal

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


async def load_tenants(engine: Any) -> dict[str, Tenant]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, slug, name, kind FROM tenants"))
        return {r.slug: Tenant(id=r.id, slug=r.slug, name=r.name, kind=r.kind) for r in rows}


async def healthz(request: Request) -> Response:
    return Response(json.dumps({"status": "ok"}), media_type="application/json")


def create_app(settings: Settings, app_db_url: URL) -> Starlette:
    """The ASGI app, connecting as the service role at ``app_db_url``."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        signing_key = load_signing_key(settings)
        engine = create_app_engine(app_db_url, settings.db_pool_size)
        listen_dsn = app_db_url.set(drivername="postgresql").render_as_string(hide_password=False)
        feed: FeedHub | None = None
        try:
            tenants = await load_tenants(engine)
            store = EventStore(EventRegistry(EVENT_TYPES))
            app.state.settings = settings
            app.state.signing_key = signing_key
            app.state.verifier = TokenVerifier(
                [identity_provider(settings), service_issuer(settings, signing_key)],
                audience=settings.jwt_audience,
                tenants=tenants,
                leeway=settings.jwt_leeway_seconds,
            )
            app.state.deps = Dependencies(engine=engine, store=store, tenants=tenants)
            app.state.cursors = CursorSealer(signing_key)
            feed = FeedHub(engine, store, lambda: asyncpg.connect(listen_dsn))
            await feed.start()
            app.state.feed = feed
            yield
        finally:
            if feed is not None:
                await feed.close()
            await engine.dispose()

    graphql = AuthGate(SafeFutureGraphQL(settings))
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/oauth/token", token_endpoint, methods=["POST"]),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )
