"""Mutation ``revokeIntegratorClient``: end a client's access, open subscriptions included."""

from __future__ import annotations

import strawberry

from service.integrators import clients
from service.schema.context import Info
from service.schema.integrators import IntegratorClient


@strawberry.input
class RevokeIntegratorClientInput:
    client_id: str


@strawberry.type
class RevokeIntegratorClientPayload:
    client: IntegratorClient


async def revoke_integrator_client(
    info: Info, input: RevokeIntegratorClientInput
) -> RevokeIntegratorClientPayload:
    """Revoke a client (tenant admins only); its subscriptions close within seconds."""
    client = await clients.revoke(info.context.deps.engine, info.context.principal, input.client_id)
    return RevokeIntegratorClientPayload(client=IntegratorClient.of(client))
