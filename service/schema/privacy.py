"""The personal-data access log in GraphQL: writing it for every response, and reading it.

``PersonalDataAccessLog`` (a schema extension) writes, once an operation has run, one access
record per case whose personal fields the response returned, in one statement. When that
write fails the response carries no data at all: personal data is never served unrecorded.

``personalDataAccessLog`` lets a shelter's tenant admin read its log, per case and per user.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

import strawberry
from strawberry.extensions import SchemaExtension

from service.auth import Principal
from service.db import tenant_transaction
from service.errors import BadUserInput, Forbidden, ServiceError
from service.privacy import access_log
from service.schema.context import Context, Info
from service.schema.ids import from_global_id, reject_nul, to_global_id
from service.schema.types import PageInfo

log = logging.getLogger("service.privacy")

ACCESS_LOG_ROLE = "tenant-admin"


class AccessNotRecorded(ServiceError):
    """Personal data was read but the access could not be recorded: nothing is returned."""


class PersonalDataAccessLog(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        yield
        ctx = self.execution_context.context
        if isinstance(ctx, Context):
            await record_personal_reads(ctx)


async def record_personal_reads(ctx: Context) -> None:
    """Write the access records of the personal fields this request returned (and forget
    them); ``AccessNotRecorded`` when the write fails."""
    if not ctx.personal_reads:
        return
    reads = dict(ctx.personal_reads)
    ctx.personal_reads.clear()
    principal = ctx.principal
    try:
        async with tenant_transaction(ctx.deps.engine, principal.tenant_id) as conn:
            await access_log.record_reads(
                conn,
                tenant_id=principal.tenant_id,
                actor=principal.subject,
                organisation=principal.organisation.slug,
                roles=principal.roles,
                request_id=ctx.request_id,
                reads=reads,
            )
    except Exception as exc:
        log.error("access log write failed", extra={"error_type": type(exc).__name__})
        raise AccessNotRecorded(
            f"the access to personal data could not be recorded (request id "
            f"{ctx.request_id}); nothing was returned"
        ) from None


@strawberry.type(description="A response that returned a client's personal fields.")
class PersonalDataAccess:
    id: strawberry.ID = strawberry.field(description="The record's id.")
    accessed_at: dt.datetime = strawberry.field(description="When the response was served.")
    actor: str = strawberry.field(description="The token's subject: who was shown the data.")
    organisation: str = strawberry.field(description="Slug of the reader's organisation.")
    roles: list[str] = strawberry.field(description="The reader's roles.")
    case_id: strawberry.ID = strawberry.field(
        description="The global ID of the case whose client's data was shown."
    )
    fields: list[str] = strawberry.field(description="Which personal fields (never values).")
    request_id: str = strawberry.field(
        description="The request's id (the x-request-id response header)."
    )

    @classmethod
    def of(cls, record: access_log.AccessRecord) -> PersonalDataAccess:
        return cls(
            id=strawberry.ID(to_global_id("PersonalDataAccess", record.id)),
            accessed_at=record.accessed_at,
            actor=record.actor,
            organisation=record.organisation,
            roles=list(record.roles),
            case_id=strawberry.ID(to_global_id("ReturnCase", record.case_id)),
            fields=list(record.fields),
            request_id=record.request_id,
        )


@strawberry.type(description="One record in a page of the access log.")
class PersonalDataAccessEdge:
    cursor: str = strawberry.field(description="Pass it as after to get the older records.")
    node: PersonalDataAccess = strawberry.field(description="The record.")


@strawberry.type(description="A page of the personal-data access log, newest first.")
class PersonalDataAccessConnection:
    edges: list[PersonalDataAccessEdge] = strawberry.field(description="The records of this page.")
    page_info: PageInfo = strawberry.field(
        description="Whether more follow, and the cursor to get them."
    )


def require_access_log_right(principal: Principal) -> None:
    if principal.organisation.kind != "shelter" or ACCESS_LOG_ROLE not in principal.roles:
        raise Forbidden("only a tenant admin of the shelter may read the access log")


def _cursor(record: access_log.AccessRecord) -> str:
    raw = f"a:{record.accessed_at.isoformat()}:{record.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _parse_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, rest = raw.split(":", 1)
        stamp, _, ident = rest.rpartition(":")
        if kind != "a":
            raise ValueError(kind)
        at = dt.datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            raise ValueError(stamp)
        return at, uuid.UUID(ident)
    except (binascii.Error, UnicodeError, ValueError):
        raise BadUserInput("after is not a valid cursor", field="after") from None


MAX_ACTOR_LENGTH = 255  # a token's subject (Keycloak and Azure AD ids are far shorter)


async def personal_data_access_log(
    info: Info,
    case_id: Annotated[
        strawberry.ID | None, strawberry.argument(description="Only reads of this case.")
    ] = None,
    actor: Annotated[
        str | None, strawberry.argument(description="Only reads by this user (token subject).")
    ] = None,
    first: Annotated[
        int,
        strawberry.argument(description="How many records to return (1 to the maximum page size)."),
    ] = 20,
    after: Annotated[
        str | None, strawberry.argument(description="The endCursor of the previous page.")
    ] = None,
) -> PersonalDataAccessConnection:
    principal = info.context.principal
    require_access_log_right(principal)
    max_page = info.context.settings.max_page_size
    if not 1 <= first <= max_page:
        raise BadUserInput(f"first must be between 1 and {max_page}", field="first")
    case = from_global_id("ReturnCase", case_id, field="caseId") if case_id is not None else None
    if actor is not None:
        reject_nul(actor, "actor")
        if not 1 <= len(actor) <= MAX_ACTOR_LENGTH:
            raise BadUserInput(
                f"actor must be 1 to {MAX_ACTOR_LENGTH} characters (a token's subject)",
                field="actor",
            )
    cursor = _parse_cursor(after) if after is not None else None
    async with tenant_transaction(info.context.deps.engine, principal.tenant_id) as conn:
        records = await access_log.list_records(
            conn, case_id=case, actor=actor, limit=first + 1, after=cursor
        )
    edges = [
        PersonalDataAccessEdge(cursor=_cursor(r), node=PersonalDataAccess.of(r))
        for r in records[:first]
    ]
    return PersonalDataAccessConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(records) > first,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
