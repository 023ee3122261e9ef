"""The ASGI app with its lifespan, and an HTTP client speaking GraphQL to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from service.app import create_app
from service.config import Settings
from service.graphql_view import SafeFutureGraphQL
from tests.conftest import Database, TokenFactory


@pytest.fixture(scope="session")
async def app(settings: Settings, database: Database) -> AsyncIterator[Starlette]:
    application = create_app(settings, database.app_url)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@dataclass
class GraphQLClient:
    """Posts GraphQL as one organisation's user."""

    http: httpx.AsyncClient
    token: str | None

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="session")
def as_org(http: httpx.AsyncClient, make_token: TokenFactory) -> Any:
    def client(org: str = "moviera", *roles: str) -> GraphQLClient:
        return GraphQLClient(http, make_token(org, *roles))

    return client


def graphql_view(app: Starlette) -> SafeFutureGraphQL:
    """The app's GraphQL endpoint."""
    for route in app.routes:
        if isinstance(route, Route) and route.path == "/graphql":
            endpoint = route.endpoint
            assert isinstance(endpoint, SafeFutureGraphQL)
            return endpoint
    raise AssertionError("no /graphql route")


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


@dataclass(frozen=True)
class LiveServer:
    """The app served by uvicorn on loopback, for real WebSocket round trips."""

    app: Starlette
    port: int

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"


@contextlib.asynccontextmanager
async def served(application: Starlette, **overrides: Any) -> AsyncIterator[int]:
    """``application`` served by uvicorn on loopback as ``safe-future serve`` serves it (its
    limits and timeouts, with ``overrides``); its port."""
    import uvicorn

    from service.serving import server_config

    config = server_config(
        application, "127.0.0.1", 0, log_level="warning", lifespan="on", **overrides
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the live server did not start")
        await asyncio.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
async def live_server(settings: Settings, database: Database) -> AsyncIterator[LiveServer]:
    application = create_app(settings, database.app_url)
    async with served(application) as port:
        yield LiveServer(application, port)
