"""Mutation ``importOrganisations``: bulk import from CSV or JSON, all or nothing (editors)."""

from __future__ import annotations

import strawberry

from service.schema.context import Info
from service.schema.socialmap.payloads import today
from service.socialmap import editing, importer
from service.socialmap import vocabulary as sv


@strawberry.input
class ImportOrganisationsInput:
    format: sv.ImportFormat
    content: str = strawberry.field(
        description=f"The file's text (at most {importer.MAX_BYTES // (1024 * 1024)} MB and "
        f"{importer.MAX_ROWS} rows). Columns: {', '.join(importer.COLUMNS)}."
    )
    dry_run: bool = strawberry.field(
        default=False, description="Validate and count only; write nothing."
    )


@strawberry.type(description="What an import did (or, in a dry run, would do).")
class ImportOrganisationsPayload:
    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    skipped_retired: int = strawberry.field(
        description="Rows naming a retired organisation: left as they are."
    )


async def import_organisations(
    info: Info, input: ImportOrganisationsInput
) -> ImportOrganisationsPayload:
    """Import organisations; any bad row refuses the whole file (BAD_USER_INPUT with
    ``extensions.rowErrors``: line, column, rule and reason of every problem)."""
    ctx = info.context
    actor = editing.editor(ctx.principal, ctx.request_id)
    result = await importer.run_import(
        ctx.deps.engine, actor, input.format, input.content, dry_run=input.dry_run, today=today()
    )
    return ImportOrganisationsPayload(
        dry_run=result.dry_run,
        rows=result.rows,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        skipped_retired=result.skipped_retired,
    )
