"""A verifier remembers tokens it verified, but never past their expiry or a revocation."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from service.auth import Tenant, TokenVerifier, TrustedIssuer, issue_token
from service.errors import Unauthenticated

ISSUER = "https://idp.test"
AUDIENCE = "safe-future"
TENANT = Tenant(uuid.uuid4(), "moviera", "Moviera", "shelter")


def _key_pair() -> tuple[bytes, object]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, key.public_key()


PRIVATE, PUBLIC = _key_pair()


def _verifier(active: dict[str, bool] | None = None, *, integrators: bool = False) -> TokenVerifier:
    async def client_active(_tenant: Tenant, client_id: str) -> bool:
        return (active or {}).get(client_id, False)

    return TokenVerifier(
        [TrustedIssuer(ISSUER, static_key=PUBLIC, integrator_only=integrators)],
        audience=AUDIENCE,
        tenants={TENANT.slug: TENANT},
        leeway=0,
        client_active=client_active,
    )


def _token(lifetime: dt.timedelta, client_id: str | None = None) -> str:
    return issue_token(
        PRIVATE, issuer=ISSUER, audience=AUDIENCE, subject="worker", organisation=TENANT.slug,
        roles=["integrator" if client_id else "caseworker"], lifetime=lifetime,
        client_id=client_id,
    )  # fmt: skip


async def test_a_token_verified_before_is_refused_once_it_has_expired() -> None:
    verifier = _verifier()
    token = _token(dt.timedelta(seconds=2))
    first = await verifier.verify(token)
    assert (await verifier.verify(token)).subject == first.subject == "worker"  # remembered
    assert first.expires_at is not None
    await asyncio.sleep(max(0.0, first.expires_at - time.time()) + 0.05)  # past its expiry
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


async def test_an_altered_copy_of_a_verified_token_is_refused() -> None:
    verifier = _verifier()
    token = _token(dt.timedelta(minutes=5))
    await verifier.verify(token)
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    with pytest.raises(Unauthenticated):
        await verifier.verify(forged)


async def test_an_integrator_token_verified_before_is_refused_once_its_client_is_revoked() -> None:
    active = {"client-1": True}
    verifier = _verifier(active, integrators=True)
    token = _token(dt.timedelta(minutes=5), client_id="client-1")
    assert (await verifier.verify(token)).client_id == "client-1"
    active["client-1"] = False
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)
