"""Token verification and the principal it yields; role checks.

Tokens are JWTs signed with RS256. The embedded development set-up generates a key pair under
the data folder (``safe-future token`` signs with its private half); any deployment may instead
point ``SAFE_FUTURE_JWT_PUBLIC_KEY_FILE`` at its identity provider's public key.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from service.errors import Forbidden, Unauthenticated

ALGORITHMS = ["RS256"]
CASE_ROLES = frozenset({"caseworker", "tenant-admin"})
KNOWN_ROLES = frozenset(
    {"caseworker", "tenant-admin", "integrator", "comensha-analyst", "social-map-editor"}
)
LEEWAY_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Tenant:
    id: uuid.UUID
    slug: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a verified subject of one organisation, with roles."""

    subject: str
    organisation: Tenant
    roles: frozenset[str]

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.organisation.id

    def has_any(self, roles: Iterable[str]) -> bool:
        return not self.roles.isdisjoint(roles)

    def require_case_access(self) -> None:
        """Only case workers and tenant admins of a shelter work with cases."""
        if self.organisation.kind != "shelter" or not self.has_any(CASE_ROLES):
            raise Forbidden("this role may not work with return cases")

    @property
    def primary_role(self) -> str:
        return sorted(self.roles)[0] if self.roles else ""


def ensure_key_pair(private_file: Path, public_file: Path) -> None:
    """Generate the development signing key pair once."""
    if private_file.exists() and public_file.exists():
        return
    private_file.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    private_file.chmod(0o600)
    public_file.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def issue_token(
    private_key_pem: bytes,
    *,
    issuer: str,
    audience: str,
    subject: str,
    organisation: str,
    roles: Iterable[str],
    lifetime: dt.timedelta = dt.timedelta(hours=8),
    now: dt.datetime | None = None,
) -> str:
    now = now or dt.datetime.now(dt.UTC)
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "org": organisation,
        "roles": sorted(set(roles)),
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, private_key_pem, algorithm="RS256")


class TokenVerifier:
    """Verifies bearer tokens and resolves their organisation to a tenant."""

    def __init__(
        self,
        public_key_pem: bytes,
        *,
        issuer: str,
        audience: str,
        tenants: Mapping[str, Tenant],
    ) -> None:
        self._key = serialization.load_pem_public_key(public_key_pem)
        self._issuer = issuer
        self._audience = audience
        self._tenants = tenants

    def verify(self, token: str) -> Principal:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,  # type: ignore[arg-type]
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the token is invalid or expired") from exc
        org = claims.get("org")
        roles = claims.get("roles")
        if not isinstance(org, str) or not isinstance(roles, list):
            raise Unauthenticated("the token names no organisation or roles")
        tenant = self._tenants.get(org)
        if tenant is None:
            raise Unauthenticated("the token's organisation is unknown")
        known = frozenset(r for r in roles if isinstance(r, str) and r in KNOWN_ROLES)
        return Principal(subject=str(claims["sub"]), organisation=tenant, roles=known)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
