"""Operator endpoints: liveness, readiness (database and migrations) and metrics."""

from __future__ import annotations

import asyncio

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


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


async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
