"""Integrator clients as GraphQL types, and the tenant admin's list of them."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry

from service.integrators import clients
from service.schema.context import Info
from service.schema.enums import describe_values


@strawberry.enum(description="What an integrator may read.")
class IntegratorScope(enum.Enum):
    EVENTS_READ = "events:read"
    PERSONAL_DATA_READ = "personal-data:read"


describe_values(
    IntegratorScope,
    {
        "EVENTS_READ": "Read the shelter's case events (caseEvents), personal parts left out.",
        "PERSONAL_DATA_READ": "Also read the personal parts of the events (names, notes); "
        "every such read is recorded in the access log.",
    },
)


@strawberry.type(description="Credentials of one of your shelter's integrators.")
class IntegratorClient:
    client_id: str = strawberry.field(
        description="The OAuth client id the integrator authenticates with."
    )
    name: str = strawberry.field(description="The name your admins gave it.")
    scopes: list[IntegratorScope] = strawberry.field(description="What it may read.")
    created_at: dt.datetime = strawberry.field(description="When it was created.")
    created_by: str = strawberry.field(description="The admin (user id) who created it.")
    revoked_at: dt.datetime | None = strawberry.field(
        description="When it was revoked; null while it may read."
    )

    @classmethod
    def of(cls, client: clients.IntegratorClient) -> IntegratorClient:
        return cls(
            client_id=client.client_id,
            name=client.name,
            scopes=[IntegratorScope(s) for s in client.scopes],
            created_at=client.created_at,
            created_by=client.created_by,
            revoked_at=client.revoked_at,
        )


async def integrator_clients(info: Info) -> list[IntegratorClient]:
    found = await clients.list_clients(info.context.deps.engine, info.context.principal)
    return [IntegratorClient.of(c) for c in found]
