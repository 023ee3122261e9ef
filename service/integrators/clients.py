"""Create, list, revoke and authenticate integrator clients (SQL and secrets live here).

A client id names its shelter (``<slug>.<random>``), so the token endpoint knows which tenant
to look in before anything is authenticated. Secrets are 256 random bits, shown once and
stored as SHA-256: a slow hash adds nothing against a secret that cannot be guessed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.auth import INTEGRATOR_SCOPES, Principal, Tenant
from service.db import tenant_transaction
from service.errors import BadUserInput, Forbidden, NotFound
from service.events.feed import REVOCATIONS_CHANNEL


@dataclass(frozen=True, slots=True)
class IntegratorClient:
    client_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    created_by: str
    revoked_at: dt.datetime | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _require_admin(principal: Principal) -> None:
    if principal.organisation.kind != "shelter" or "tenant-admin" not in principal.roles:
        raise Forbidden("only a tenant admin manages integrator clients")


_SELECT = (
    "SELECT client_id, name, scopes, created_at, created_by, revoked_at FROM integrator_clients"
)


def _client(row: object) -> IntegratorClient:
    r = row._mapping  # type: ignore[attr-defined]
    return IntegratorClient(
        r["client_id"], r["name"], tuple(r["scopes"]), r["created_at"], r["created_by"],
        r["revoked_at"],
    )  # fmt: skip


async def create(
    engine: AsyncEngine, principal: Principal, name: str, scopes: Iterable[str]
) -> tuple[IntegratorClient, str]:
    """A new client of the caller's shelter and its secret (returned this once only)."""
    _require_admin(principal)
    name = name.strip()
    if not 1 <= len(name) <= 200 or "\x00" in name:
        raise BadUserInput("name must be 1 to 200 characters", field="name")
    wanted = frozenset(scopes)
    if not wanted or not wanted <= INTEGRATOR_SCOPES:
        raise BadUserInput(
            f"scopes must be a non-empty subset of {sorted(INTEGRATOR_SCOPES)}", field="scopes"
        )
    if "events:read" not in wanted:
        raise BadUserInput("every integrator needs the events:read scope", field="scopes")
    client_id = f"{principal.organisation.slug}.{secrets.token_urlsafe(12)}"
    secret = secrets.token_urlsafe(32)
    async with tenant_transaction(engine, principal.tenant_id) as conn:
        row = (
            await conn.execute(
                text(
                    "INSERT INTO integrator_clients (tenant_id, client_id, name, secret_hash, "
                    "scopes, created_by) VALUES (:t, :c, :n, :h, :s, :by) "
                    "RETURNING client_id, name, scopes, created_at, created_by, revoked_at"
                ),
                {"t": principal.tenant_id, "c": client_id, "n": name, "h": _hash(secret),
                 "s": sorted(wanted), "by": principal.subject},
            )
        ).one()  # fmt: skip
    return _client(row), secret


async def list_clients(engine: AsyncEngine, principal: Principal) -> list[IntegratorClient]:
    _require_admin(principal)
    async with tenant_transaction(engine, principal.tenant_id) as conn:
        rows = await conn.execute(text(f"{_SELECT} ORDER BY created_at, client_id"))
        return [_client(r) for r in rows]


async def revoke(engine: AsyncEngine, principal: Principal, client_id: str) -> IntegratorClient:
    """Revoke a client; every process closes its open subscriptions at once (NOTIFY)."""
    _require_admin(principal)
    async with tenant_transaction(engine, principal.tenant_id) as conn:
        row = (
            await conn.execute(
                text(
                    "UPDATE integrator_clients SET revoked_at = coalesce(revoked_at, now()), "
                    "revoked_by = coalesce(revoked_by, :by) WHERE client_id = :c "
                    "RETURNING client_id, name, scopes, created_at, created_by, revoked_at"
                ),
                {"c": client_id, "by": principal.subject},
            )
        ).first()
        if row is None:
            raise NotFound("integrator client not found")
        await conn.execute(text(f"SELECT pg_notify('{REVOCATIONS_CHANNEL}', :c)"), {"c": client_id})
    return _client(row)


async def is_active(conn: AsyncConnection, client_id: str) -> bool:
    return bool(
        await conn.scalar(
            text(
                "SELECT EXISTS (SELECT 1 FROM integrator_clients "
                "WHERE client_id = :c AND revoked_at IS NULL)"
            ),
            {"c": client_id},
        )
    )


async def authenticate(
    engine: AsyncEngine, tenants: dict[str, Tenant], client_id: str, secret: str
) -> tuple[Tenant, tuple[str, ...]] | None:
    """The client's shelter and scopes when the credentials are right and not revoked."""
    slug, dot, _ = client_id.partition(".")
    tenant = tenants.get(slug)
    if not dot or tenant is None or tenant.kind != "shelter":
        return None
    async with tenant_transaction(engine, tenant.id) as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT secret_hash, scopes FROM integrator_clients "
                    "WHERE client_id = :c AND revoked_at IS NULL"
                ),
                {"c": client_id},
            )
        ).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
        return None
    return tenant, tuple(row.scopes)
