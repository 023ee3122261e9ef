"""Mutation ``importOrganisations``: bulk import from CSV or JSON, all or nothing (editors)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from service.schema.context import Info
from service.schema.socialmap.payloads import today
from service.socialmap import editing, importer
from service.socialmap import vocabulary as sv


@strawberry.input(description="A bulk import of organisations: all rows or none.")
class ImportOrganisationsInput:
    format: sv.ImportFormat = strawberry.field(
        description="CSV (with a header row) or JSON (a list of objects)."
    )
    content: str = strawberry.field(
        description=f"The file's text (at most {importer.MAX_BYTES // (1024 * 1024)} MB and "
        f"{importer.MAX_ROWS} rows). Columns: {', '.join(importer.COLUMNS)}."
    )
    dry_run: bool = strawberry.field(
        default=False, description="Validate and count only; write nothing."
    )


@strawberry.type(description="What an import did (or, in a dry run, would do).")
class ImportOrganisationsPayload:
    dry_run: bool = strawberry.field(description="True when nothing was written.")
    rows: int = strawberry.field(description="How many rows the content held.")
    created: int = strawberry.field(description="Rows that added a new organisation.")
    updated: int = strawberry.field(description="Rows that changed an existing organisation.")
    unchanged: int = strawberry.field(description="Rows equal to what the map already held.")
    skipped_retired: int = strawberry.field(
        description="Rows naming a retired organisation: left as they are."
    )


async def import_organisations(
    info: Info,
    input: Annotated[
        ImportOrganisationsInput, strawberry.argument(description="The content to import.")
    ],
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
