"""Mutation ``createIntegratorClient``: credentials for one of the shelter's integrators."""

from __future__ import annotations

from typing import Annotated

import strawberry

from service.integrators import clients
from service.schema.context import Info
from service.schema.integrators import IntegratorClient, IntegratorScope


@strawberry.input(description="A new integrator client of your shelter.")
class CreateIntegratorClientInput:
    name: str = strawberry.field(description="A name that tells your admins which system this is.")
    scopes: list[IntegratorScope] = strawberry.field(
        description="events:read is required; personal-data:read only when truly needed."
    )


@strawberry.type(description="The new client and its secret.")
class CreateIntegratorClientPayload:
    client: IntegratorClient = strawberry.field(description="The client as registered.")
    client_secret: str = strawberry.field(
        description="Shown this once only; exchange it at /oauth/token for an access token."
    )


async def create_integrator_client(
    info: Info,
    input: Annotated[
        CreateIntegratorClientInput, strawberry.argument(description="The client to create.")
    ],
) -> CreateIntegratorClientPayload:
    """Create an integrator client of your shelter (tenant admins only)."""
    client, secret = await clients.create(
        info.context.deps.engine,
        info.context.principal,
        input.name,
        [s.value for s in input.scopes],
    )
    return CreateIntegratorClientPayload(client=IntegratorClient.of(client), client_secret=secret)
