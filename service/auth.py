"""Token verification and the principal it yields; role checks.

Tokens are JWTs signed with RS256. The embedded development set-up generates a key pair under
the data folder (``safe-future token`` signs with its private half); any deployment may instead
point ``SAFE_FUTURE_JWT_PUBLIC_KEY_FILE`` at its identity provider's public key.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from service.config import ConfigError, Settings
from service.errors import Forbidden, Unauthenticated
from service.oidc import JwksCache, JwksError

ALGORITHMS = ["RS256"]
CASE_ROLES = frozenset({"caseworker", "tenant-admin", "supervisor"})
KNOWN_ROLES = frozenset(
    {
        "caseworker",
        "tenant-admin",
        "supervisor",
        "integrator",
        "comensha-analyst",
        "social-map-editor",
    }
)
LEEWAY_SECONDS = 30
MAX_LIFETIME_SECONDS = 24 * 3600
# Verified tokens remembered by a verifier (``TokenVerifier._decoded``): how many, how long.
TOKEN_CACHE_SIZE = 1024
TOKEN_CACHE_SECONDS = 60.0
EVENTS_READ = "events:read"
PERSONAL_DATA_READ = "personal-data:read"
INTEGRATOR_SCOPES = frozenset({EVENTS_READ, PERSONAL_DATA_READ})


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
    scopes: frozenset[str] = frozenset()
    client_id: str | None = None
    # When the token stops being valid (seconds since the epoch); a subscription ends then.
    expires_at: float | None = None

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.organisation.id

    def has_any(self, roles: Iterable[str]) -> bool:
        return not self.roles.isdisjoint(roles)

    def require_case_access(self) -> None:
        """Only case workers and tenant admins of a shelter work with cases."""
        if self.organisation.kind != "shelter" or not self.has_any(CASE_ROLES):
            raise Forbidden("this role may not work with return cases")

    def feed_access(self) -> bool:
        """May read the tenant's event feed; returns whether personal data may be included.

        Integrators need the ``events:read`` scope and see personal data only with
        ``personal-data:read``; a shelter's case workers and admins see what they see anyway.
        """
        if self.organisation.kind == "shelter" and self.has_any(CASE_ROLES):
            return True
        if "integrator" in self.roles and EVENTS_READ in self.scopes:
            return PERSONAL_DATA_READ in self.scopes
        raise Forbidden("this token may not read case events")

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


def load_signing_key(settings: Settings) -> bytes:
    """The service's own private key (PEM): generated once in development, required otherwise."""
    path = settings.signing_key_file
    if not path.exists():
        if settings.production:
            raise ConfigError(f"SAFE_FUTURE_SIGNING_KEY_FILE ({path}) does not exist")
        ensure_key_pair(path, path.with_name(path.stem + ".pub.pem"))
    return path.read_bytes()


def public_pem(private_key_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
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
    scopes: Iterable[str] = (),
    client_id: str | None = None,
) -> str:
    now = now or dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
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
    if scopes:
        claims["scope"] = " ".join(sorted(set(scopes)))
    if client_id is not None:
        claims["client_id"] = client_id
    return jwt.encode(claims, private_key_pem, algorithm="RS256")


@dataclass(frozen=True, slots=True)
class ClaimNames:
    """Where a provider puts the organisation and the roles (dotted paths into the claims).

    The defaults suit the tokens this service issues; Keycloak puts roles under
    ``realm_access.roles``, Azure AD under ``roles``, and either can carry the organisation
    slug in a custom claim.
    """

    organisation: str = "org"
    roles: str = "roles"


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """An issuer whose tokens are accepted: its key (static or from a JWKS) and claim names."""

    issuer: str
    static_key: Any = None
    jwks: JwksCache | None = None
    claims: ClaimNames = ClaimNames()
    algorithms: tuple[str, ...] = tuple(ALGORITHMS)
    integrator_only: bool = False

    async def key_for(self, token: str) -> Any:
        if self.jwks is not None:
            try:
                return await self.jwks.key(jwt.get_unverified_header(token).get("kid"))
            except JwksError as exc:
                raise jwt.InvalidKeyError(str(exc)) from exc
        return self.static_key


class TokenVerifier:
    """Verifies bearer tokens and resolves their organisation to a tenant.

    Two issuers are trusted: the identity provider (people; a static key or a JWKS URL) and the
    service itself (tokens it issues to integrators at ``/oauth/token``), each with its key.
    Only asymmetric algorithms from the allow-list are accepted: ``alg: none`` and HMAC tokens
    (the "HS256 signed with the public key" trick) are refused, as are expired ones, with
    ``leeway`` seconds of clock skew allowed. ``exp``, ``nbf`` and ``iat`` must be JSON numbers
    (RFC 7519 NumericDate), and a token may not live longer than ``max_lifetime`` seconds
    (counted from ``iat`` and from now). An integrator token is refused once its client is
    revoked (``client_active``, asked on every verification).
    """

    def __init__(
        self,
        issuers: Iterable[TrustedIssuer],
        *,
        audience: str,
        tenants: Mapping[str, Tenant],
        leeway: int = LEEWAY_SECONDS,
        max_lifetime: int = MAX_LIFETIME_SECONDS,
        client_active: Callable[[Tenant, str], Awaitable[bool]] | None = None,
    ) -> None:
        self._issuers = {i.issuer: i for i in issuers}
        self._audience = audience
        self._tenants = tenants
        self._leeway = leeway
        self._max_lifetime = max_lifetime
        self._client_active = client_active
        self._cache: OrderedDict[str, tuple[float, TrustedIssuer, dict[str, Any]]] = OrderedDict()

    def _check_times(self, claims: Mapping[str, Any]) -> float:
        """The token's expiry, once its time claims are numbers and its lifetime is bounded."""
        for name in ("exp", "nbf", "iat"):
            value = claims.get(name)
            if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise Unauthenticated(f"the token's {name} must be a number")
        exp, iat = float(claims["exp"]), float(claims["iat"])
        if exp - iat > self._max_lifetime or exp - time.time() > self._max_lifetime + self._leeway:
            raise Unauthenticated("the token lives longer than this service accepts")
        return exp

    async def _decoded(self, token: str) -> tuple[TrustedIssuer, dict[str, Any]]:
        """The token's issuer and claims, its signature and registered claims verified.

        A token verified before is taken from a small cache (``TOKEN_CACHE_SIZE`` tokens, each
        for at most ``TOKEN_CACHE_SECONDS`` and never past its ``exp``): the signature check
        is the costly part of every request. Everything that can change while a token lives
        (its lifetime against the clock, its tenant, an integrator's revocation) is checked
        by ``verify`` on every request, cached or not.
        """
        now = time.time()
        cached = self._cache.get(token)
        if cached is not None:
            until, issuer, claims = cached
            if now < until:
                self._cache.move_to_end(token)
                return issuer, claims
            del self._cache[token]
        try:
            issuer_name = jwt.decode(token, options={"verify_signature": False}).get("iss")
            found = self._issuers.get(issuer_name) if isinstance(issuer_name, str) else None
            if found is None:
                raise jwt.InvalidIssuerError("unknown issuer")
            claims = jwt.decode(
                token,
                await found.key_for(token),
                algorithms=list(found.algorithms),
                audience=self._audience,
                issuer=found.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the token is invalid or expired") from exc
        exp = claims.get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            self._cache[token] = (min(now + TOKEN_CACHE_SECONDS, float(exp)), found, claims)
            while len(self._cache) > TOKEN_CACHE_SIZE:
                self._cache.popitem(last=False)
        return found, claims

    async def verify(self, token: str) -> Principal:
        issuer, claims = await self._decoded(token)
        expires_at = self._check_times(claims)
        org = _claim(claims, issuer.claims.organisation)
        roles = _claim(claims, issuer.claims.roles)
        if not isinstance(org, str) or not isinstance(roles, list):
            raise Unauthenticated("the token names no organisation or roles")
        tenant = self._tenants.get(org)
        if tenant is None:
            raise Unauthenticated("the token's organisation is unknown")
        known = frozenset(r for r in roles if isinstance(r, str) and r in KNOWN_ROLES)
        scope = claims.get("scope")
        scopes = frozenset(scope.split()) & INTEGRATOR_SCOPES if isinstance(scope, str) else None
        client_id = claims.get("client_id")
        if issuer.integrator_only:
            # Only the service's own integrator tokens carry a client id; revocation checks it.
            if not isinstance(client_id, str):
                raise Unauthenticated("the token names no integrator client")
            if self._client_active is not None and not await self._client_active(tenant, client_id):
                raise Unauthenticated("the integrator's credentials were revoked")
            return Principal(
                subject=str(claims["sub"]),
                organisation=tenant,
                roles=known & {"integrator"},
                scopes=scopes or frozenset(),
                client_id=client_id,
                expires_at=expires_at,
            )
        return Principal(
            subject=str(claims["sub"]),
            organisation=tenant,
            roles=known,
            scopes=scopes or frozenset(),
            expires_at=expires_at,
        )


def identity_provider(settings: Settings) -> TrustedIssuer:
    """The configured identity provider: a JWKS URL, or a public key file."""
    claims = ClaimNames(organisation=settings.org_claim, roles=settings.roles_claim)
    if settings.jwks_url:
        return TrustedIssuer(
            settings.jwt_issuer,
            jwks=JwksCache(
                settings.jwks_url, min_refresh_seconds=settings.jwks_min_refresh_seconds
            ),
            claims=claims,
            algorithms=settings.jwt_algorithms,
        )
    return TrustedIssuer(
        settings.jwt_issuer,
        static_key=serialization.load_pem_public_key(settings.jwt_public_key_file.read_bytes()),
        claims=claims,
        algorithms=settings.jwt_algorithms,
    )


def service_issuer(settings: Settings, signing_key_pem: bytes) -> TrustedIssuer:
    return TrustedIssuer(
        settings.service_issuer,
        static_key=serialization.load_pem_public_key(public_pem(signing_key_pem)),
        integrator_only=True,
    )


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
