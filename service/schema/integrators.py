"""Integrator clients as GraphQL types, and the tenant admin's list of them."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry

from service.integrators import clients
from service.schema.context import Info


@strawberry.enum(description="What an integrator may read.")
class IntegratorScope(enum.Enum):
    EVENTS_READ = "events:read"
    PERSONAL_DATA_READ = "personal-data:read"


@strawberry.type(description="Credentials of one of your shelter's integrators.")
class IntegratorClient:
    client_id: str
    name: str
    scopes: list[IntegratorScope]
    created_at: dt.datetime
    created_by: str
    revoked_at: dt.datetime | None

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
