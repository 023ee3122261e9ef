"""``GET /exports/htcds.csv|json``: a shelter's cases in HTCDS 2.0 names, streamed.

For a tenant admin of a shelter (a bearer token, as for GraphQL); others get 403. Without
``personal=true`` the export is pseudonymous. With it, names and dates of birth are included
and every case whose personal fields the export returns is recorded in the personal-data
access log, batch by batch, before the batch is sent. The cases are read with a server-side
cursor in batches, so memory stays constant whatever the number of cases.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from service.auth import Principal
from service.db import tenant_transaction
from service.errors import BadUserInput, Forbidden, NotFound, ServiceError
from service.events.sealing import is_sealed
from service.exports import htcds
from service.http_api import json_error, request_principal
from service.privacy import open_read_model_personal
from service.privacy.access_log import record_reads

__all__ = ["CASES", "routes"]

BATCH = 500
# A shelter's cases (row-level security) with their partner organisations, in one statement.
CASES = text(
    """
    SELECT rc.case_id, rc.phase, rc.gender, rc.nationality, rc.languages,
           rc.exploitation_forms, rc.intake_date, rc.closing_reason, rc.referrals, rc.personal,
           (SELECT coalesce(jsonb_object_agg(o.id::text, jsonb_build_object(
                'name', o.name, 'kind', o.kind, 'country', o.country, 'city', o.city,
                'region', o.region, 'latitude', o.latitude, 'longitude', o.longitude)), '{}')
            FROM organisations o WHERE o.id = ANY(rc.partner_organisation_ids)) AS partners
    FROM return_cases rc
    WHERE CAST(:case_id AS uuid) IS NULL OR rc.case_id = :case_id
    ORDER BY rc.intake_date, rc.case_id
    """
)
PERSONAL_NAMES = {"full_name": "fullName", "date_of_birth": "dateOfBirth"}


def require_export_access(principal: Principal) -> None:
    if principal.organisation.kind != "shelter" or "tenant-admin" not in principal.roles:
        raise Forbidden("only a shelter's tenant admins export its cases")


async def records(
    deps: Any,
    principal: Principal,
    *,
    with_personal: bool,
    request_id: str,
    id_of: Callable[[uuid.UUID], str],
    case_id: uuid.UUID | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The shelter's cases as HTCDS records, batch by batch (personal reads logged first)."""
    tenant = principal.tenant_id
    async with tenant_transaction(deps.engine, tenant) as conn:
        result = await conn.stream(
            CASES, {"case_id": case_id}, execution_options={"yield_per": BATCH}
        )
        async for batch in result.partitions(BATCH):
            rows: list[dict[str, Any]] = [dict(r._mapping) for r in batch]
            personal: dict[uuid.UUID, dict[str, Any] | None] = {}
            if with_personal:
                personal = await _open_and_log(deps, principal, rows, request_id)
            yield [
                htcds.record(
                    id_of(r["case_id"]),
                    r,
                    r["partners"],
                    personal.get(r["case_id"]),
                    with_personal=with_personal,
                )
                for r in rows
            ]


async def _open_and_log(
    deps: Any, principal: Principal, rows: list[dict[str, Any]], request_id: str
) -> dict[uuid.UUID, dict[str, Any] | None]:
    sealed = [
        (r["case_id"], r["personal"]) for r in rows if r["personal"] and is_sealed(r["personal"])
    ]
    if not sealed:
        return {}
    async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
        opened = await open_read_model_personal(conn, deps.store, principal.tenant_id, sealed)
        found = {case_id: plain for (case_id, _), plain in zip(sealed, opened, strict=True)}
        reads = {
            case_id: [PERSONAL_NAMES[k] for k in PERSONAL_NAMES if (plain or {}).get(k)]
            for case_id, plain in found.items()
        }
        await record_reads(
            conn,
            tenant_id=principal.tenant_id,
            actor=principal.subject,
            organisation=principal.organisation.slug,
            roles=principal.roles,
            request_id=request_id,
            reads=reads,
        )
    return found


def _personal_flag(request: Request) -> bool:
    raw = request.query_params.get("personal", "false").strip().lower()
    if raw not in ("true", "false"):
        raise BadUserInput("personal must be true or false", field="personal")
    return raw == "true"


async def _csv(batches: AsyncIterator[list[dict[str, Any]]], personal: bool) -> AsyncIterator[str]:
    yield htcds.csv_header(personal)
    async for batch in batches:
        yield htcds.csv_rows(batch, personal)


async def _json(batches: AsyncIterator[list[dict[str, Any]]]) -> AsyncIterator[str]:
    first = True
    yield '{"standard": "HTCDS 2.0", "cases": ['
    async for batch in batches:
        for rec in batch:
            yield ("" if first else ",") + json.dumps(rec, ensure_ascii=False)
            first = False
    yield "]}"


def routes(id_of: Callable[[uuid.UUID], str]) -> list[Route]:
    """The export route; ``id_of`` gives a case's global id (as the GraphQL API shows it)."""

    async def endpoint(request: Request) -> Response:
        fmt = request.path_params["fmt"]
        try:
            if fmt not in ("csv", "json"):
                raise NotFound("the HTCDS export comes as .csv or .json")
            principal = await request_principal(request)
            require_export_access(principal)
            personal = _personal_flag(request)
        except ServiceError as exc:
            return json_error(exc)
        request_id = str(request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex)
        batches = records(
            request.app.state.deps, principal, with_personal=personal, request_id=request_id,
            id_of=id_of,
        )  # fmt: skip
        if fmt == "csv":
            return StreamingResponse(
                _csv(batches, personal),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="htcds.csv"'},
            )
        return StreamingResponse(_json(batches), media_type="application/json")

    return [Route("/exports/htcds.{fmt}", endpoint, methods=["GET"])]
