"""Mutation ``revokeIntegratorClient``: end a client's access, open subscriptions included."""

from __future__ import annotations

from typing import Annotated

import strawberry

from service.integrators import clients
from service.schema.context import Info
from service.schema.integrators import IntegratorClient


@strawberry.input(description="The integrator client to revoke.")
class RevokeIntegratorClientInput:
    client_id: str = strawberry.field(description="The client's id (IntegratorClient.clientId).")


@strawberry.type(description="The revoked client.")
class RevokeIntegratorClientPayload:
    client: IntegratorClient = strawberry.field(description="The client, now revoked.")


async def revoke_integrator_client(
    info: Info,
    input: Annotated[
        RevokeIntegratorClientInput, strawberry.argument(description="The client to revoke.")
    ],
) -> RevokeIntegratorClientPayload:
    """Revoke a client (tenant admins only); its subscriptions close within seconds."""
    client = await clients.revoke(info.context.deps.engine, info.context.principal, input.client_id)
    return RevokeIntegratorClientPayload(client=IntegratorClient.of(client))
