"""``ReturnCase.htcds``: one case in HTCDS 2.0 names (a shelter's tenant admins only)."""

from __future__ import annotations

import uuid
from typing import Any

from strawberry.scalars import JSON

from service.errors import NotFound
from service.exports.http import records, require_export_access
from service.schema.context import Info
from service.schema.ids import to_global_id


async def htcds_record(info: Info, case_id: uuid.UUID, personal: bool) -> JSON:
    ctx = info.context
    principal = ctx.principal
    require_export_access(principal)
    found: list[dict[str, Any]] = []
    async for batch in records(
        ctx.deps,
        principal,
        with_personal=personal,
        request_id=ctx.request_id,
        id_of=lambda i: to_global_id("ReturnCase", i),
        case_id=case_id,
    ):
        found.extend(batch)
    if not found:
        raise NotFound("return case not found")
    return JSON(found[0])
