"""The read scenario's floor: a minimal Starlette endpoint running the service's SQL.

``GET /cases?tenant=<uuid>&first=50`` answers with exactly the JSON ``data`` that the
service's ``returnCases(first: 50)`` query of ``bench/scenarios/read.py`` returns, computed
by the same read functions of the service (``return_cases.list_cases``,
``timeline.timelines``, ``socialmap.repository.get_many``) in one tenant transaction on an
engine made like the service's (``create_app_engine``, same pool size, same service role).
What it leaves out is exactly what the comparison is about: token verification, GraphQL
parsing, validation and execution, per-field resolvers and DataLoaders.
``&variant=simple`` answers the 3-field variant (``edges { node { id version phase } }``)
from the page's rows alone.

    BENCH_APP_DB_URL=... BENCH_POOL_SIZE=10 BENCH_PORT=8001 python -m bench.baseline_app
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from service.db import create_app_engine, tenant_transaction
from service.events.projections import return_cases, timeline
from service.schema.ids import case_cursor, to_global_id
from service.socialmap import repository

NO_FILTER = return_cases.CaseFilter()


async def simple_page(engine: Any, tenant: uuid.UUID, first: int) -> dict[str, Any]:
    """The data of the 3-field variant: ``edges { node { id version phase } }``."""
    async with tenant_transaction(engine, tenant) as conn:
        rows = await return_cases.list_cases(conn, NO_FILTER, first + 1, None)
    edges = [
        {
            "node": {
                "id": to_global_id("ReturnCase", r["case_id"]),
                "version": r["version"],
                "phase": r["phase"],
            }
        }
        for r in rows[:first]
    ]
    return {"returnCases": {"edges": edges}}


async def page(engine: Any, tenant: uuid.UUID, first: int) -> dict[str, Any]:
    async with tenant_transaction(engine, tenant) as conn:
        rows = await return_cases.list_cases(conn, NO_FILTER, first + 1, None)
        cases = rows[:first]
        timelines = await timeline.timelines(conn, [r["case_id"] for r in cases])
        wanted = [o for r in cases for o in r["partner_organisation_ids"]]
        organisations = await repository.get_many(conn, wanted) if wanted else {}
    edges = []
    for r in cases:
        partners = []
        for org_id in r["partner_organisation_ids"]:
            org = organisations.get(org_id)
            if org is not None:
                partners.append(
                    {
                        "id": to_global_id("Organisation", org.id),
                        "name": org.data.name,
                        "country": org.data.country,
                    }
                )
        edges.append(
            {
                "cursor": case_cursor(r["intake_date"], r["case_id"]),
                "node": {
                    "id": to_global_id("ReturnCase", r["case_id"]),
                    "version": r["version"],
                    "phase": r["phase"],
                    "countryOfOrigin": r["country_of_origin"],
                    "intakeDate": r["intake_date"].isoformat(),
                    "partnerOrganisations": partners,
                    "timeline": [{"version": e["version"]} for e in timelines[r["case_id"]]],
                },
            }
        )
    return {
        "returnCases": {
            "edges": edges,
            "pageInfo": {
                "hasNextPage": len(rows) > first,
                "endCursor": edges[-1]["cursor"] if edges else None,
            },
        }
    }


def create_app(db_url: str, pool_size: int) -> Starlette:
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        state["engine"] = create_app_engine(make_url(db_url), pool_size)
        try:
            yield
        finally:
            await state["engine"].dispose()

    async def cases(request: Request) -> Response:
        tenant = uuid.UUID(request.query_params["tenant"])
        first = int(request.query_params.get("first", "50"))
        make = simple_page if request.query_params.get("variant") == "simple" else page
        return JSONResponse({"data": await make(state["engine"], tenant, first)})

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/cases", cases), Route("/healthz", healthz)], lifespan=lifespan)


def main() -> None:
    import uvicorn

    from bench import patches

    patches.apply([p for p in os.environ.get("BENCH_PATCHES", "").split(",") if p])

    uvicorn.run(
        create_app(os.environ["BENCH_APP_DB_URL"], int(os.environ.get("BENCH_POOL_SIZE", "10"))),
        host="127.0.0.1",
        port=int(os.environ["BENCH_PORT"]),
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
