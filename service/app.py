"""The Starlette application: routes, lifespan (engine, tenants, token verifier), auth gate."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

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
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from service.auth import Principal, Tenant, TokenVerifier, bearer_token
from service.config import Settings
from service.db import create_app_engine
from service.domain.return_case import EVENT_TYPES
from service.errors import Unauthenticated
from service.events.store import EventStore
from service.events.types import EventRegistry
from service.handlers.return_case import Dependencies
from service.schema import build_schema
from service.schema.context import Context
from service.schema.errors import format_error


class SafeFutureGraphQL(GraphQL[Context, None]):
    """strawberry's ASGI view with our context and error format."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(
            build_schema(), graphql_ide=None if settings.production else "graphiql", **kwargs
        )
        self.settings = settings

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
        deps: Dependencies = request.app.state.deps
        return Context(
            request=request,
            response=response,
            deps=deps,
            settings=self.settings,
            request_id=state.get("request_id", uuid.uuid4().hex),
            principal_or_none=state.get("principal"),
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
                principal: Principal = verifier.verify(token)
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
        engine = create_app_engine(app_db_url, settings.db_pool_size)
        try:
            tenants = await load_tenants(engine)
            app.state.verifier = TokenVerifier(
                settings.jwt_public_key_file.read_bytes(),
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                tenants=tenants,
            )
            app.state.deps = Dependencies(
                engine=engine, store=EventStore(EventRegistry(EVENT_TYPES)), tenants=tenants
            )
            yield
        finally:
            await engine.dispose()

    graphql = AuthGate(SafeFutureGraphQL(settings))
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )
