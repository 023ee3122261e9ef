"""``/reports/...``: the reports as CSV and JSON over HTTP, with the same auth and protection.

``GET /reports/caseload.csv|json?year=2026&groupBy=SHELTER&groupBy=PHASE`` and
``GET /reports/indicators.csv|json?quarter=2026-Q1&byShelter=true``. The period is one of
``month``, ``quarter``, ``year``, or ``fromMonth`` with ``toMonth``; ``groupBy`` is repeated or
comma-separated. A bearer token of a CoMensha analyst is required, as for GraphQL.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.auth import Principal
from service.errors import BadUserInput, NotFound, ServiceError
from service.http_api import json_error, request_principal
from service.reports import export, queries
from service.reports.access import require_report_access
from service.reports.caseload import InvalidGrouping
from service.reports.model import Dimension
from service.reports.periods import InvalidPeriod, Period, parse_period

__all__ = ["routes"]


async def _analyst(request: Request) -> Principal:
    principal = await request_principal(request)
    require_report_access(principal)
    return principal


def _period(request: Request) -> Period:
    q = request.query_params
    year = q.get("year")
    if year is not None and not (year.strip().isascii() and year.strip().isdigit()):
        raise BadUserInput("year must be a whole number", field="year")
    try:
        return parse_period(
            month=q.get("month"),
            quarter=q.get("quarter"),
            year=int(year) if year is not None else None,
            from_month=q.get("fromMonth"),
            to_month=q.get("toMonth"),
        )
    except InvalidPeriod as exc:
        raise BadUserInput(str(exc), field="period") from None


def _group_by(request: Request) -> list[Dimension]:
    names = [n.strip() for raw in request.query_params.getlist("groupBy") for n in raw.split(",")]
    try:
        return [Dimension(n) for n in names if n]
    except ValueError:
        known = ", ".join(d.value for d in Dimension)
        raise BadUserInput(f"groupBy takes dimensions among {known}", field="groupBy") from None


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").strip().lower()
    if raw not in ("true", "false", "1", "0"):
        raise BadUserInput(f"{name} must be true or false", field=name)
    return raw in ("true", "1")


def _respond(
    fmt: str, name: str, csv_text: Callable[[], str], data: Callable[[], object]
) -> Response:
    if fmt == "csv":
        return Response(
            csv_text(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(json.dumps(data()), media_type="application/json")


def _endpoint(
    handler: Callable[[Request, str], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        fmt = request.path_params["fmt"]
        if fmt not in ("csv", "json"):
            return json_error(NotFound("reports come as .csv or .json"))
        try:
            await _analyst(request)
            return await handler(request, fmt)
        except ServiceError as exc:
            return json_error(exc)

    return endpoint


async def _caseload(request: Request, fmt: str) -> Response:
    state = request.app.state
    period = _period(request)
    try:
        report = await queries.caseload_report(
            state.deps.engine, state.settings.report_k, period, _group_by(request)
        )
    except InvalidGrouping as exc:
        raise BadUserInput(str(exc), field="groupBy") from None
    name = f"caseload-{period.label.replace('..', '_')}"
    return _respond(
        fmt, name, lambda: export.caseload_csv(report), lambda: export.caseload_json(report)
    )


async def _indicators(request: Request, fmt: str) -> Response:
    state = request.app.state
    period = _period(request)
    settings = state.settings
    report = await queries.indicators_report(
        state.deps.engine,
        settings.report_k,
        period,
        _flag(request, "byShelter"),
        settings.report_percentile_min_group,
    )
    name = f"indicators-{period.label.replace('..', '_')}"
    return _respond(
        fmt, name, lambda: export.indicators_csv(report), lambda: export.indicators_json(report)
    )


def routes() -> list[Route]:
    """The export routes, for the app's route list."""
    return [
        Route("/reports/caseload.{fmt}", _endpoint(_caseload), methods=["GET"]),
        Route("/reports/indicators.{fmt}", _endpoint(_indicators), methods=["GET"]),
    ]
