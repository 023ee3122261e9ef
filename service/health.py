"""Operator endpoints: liveness, readiness (database and migrations) and metrics."""

from __future__ import annotations

import asyncio
import hmac

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.auth import bearer_token


async def healthz(request: Request) -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """The database answers and every migration this code knows is applied."""
    state = request.app.state
    try:
        async with asyncio.timeout(2):
            async with state.deps.engine.connect() as conn:
                applied = {
                    r[0]
                    for r in await conn.execute(text("SELECT version_num FROM alembic_version"))
                }
    except (SQLAlchemyError, OSError, TimeoutError):
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    expected = set(state.migration_heads)
    if applied != expected:
        return JSONResponse(
            {"status": "unavailable", "database": "ok", "migrations": "not current"},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok", "migrations": "current"})


LOOPBACK = frozenset({"127.0.0.1", "::1"})


def metrics_allowed(request: Request) -> bool:
    """With ``SAFE_FUTURE_METRICS_TOKEN`` set, that bearer token; without it, a client on
    loopback in development and nobody in production."""
    settings = request.app.state.settings
    token: str | None = settings.metrics_token
    if token is not None:
        sent = bearer_token(request.headers.get("authorization")) or ""
        return hmac.compare_digest(sent.encode(), token.encode())
    client = request.client.host if request.client else ""
    return not settings.production and client in LOOPBACK


async def metrics(request: Request) -> Response:
    """Prometheus metrics, for the operator's scraper only (see ``metrics_allowed``)."""
    if not metrics_allowed(request):
        return JSONResponse(
            {"errors": [{"message": "metrics need the operator's token",
                         "extensions": {"code": "UNAUTHENTICATED"}}]},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )  # fmt: skip
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
