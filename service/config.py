"""Settings, read once from the environment.

The service's own key (RS256, PEM) signs integrator tokens and seals feed cursors: every
instance of one deployment must share it. Allowed origins are comma-separated (the tenant
frontends that open WebSockets from their own origins).

Every setting has a documented default that suits the embedded development set-up; production
mode (``SAFE_FUTURE_MODE=production``) refuses defaults that are only safe on a laptop.

| variable | default | meaning |
|---|---|---|
| ``SAFE_FUTURE_MODE`` | ``development`` | ``development`` or ``production`` |
| ``SAFE_FUTURE_DATA_DIR`` | ``.data`` | embedded PostgreSQL, development keys |
| ``DATABASE_URL`` | unset | owner/admin URL of an external PostgreSQL; unset = embedded server |
| ``SAFE_FUTURE_APP_DB_ROLE`` | ``safe_future_app`` | least-privilege login role of the service |
| ``SAFE_FUTURE_APP_DB_PASSWORD`` | generated in the data folder | that role's password |
| ``SAFE_FUTURE_JWT_ISSUER`` | ``safe-future-dev`` | expected ``iss`` of tokens |
| ``SAFE_FUTURE_JWT_AUDIENCE`` | ``safe-future`` | expected ``aud`` of tokens |
| ``SAFE_FUTURE_JWKS_URL`` | unset | the identity provider's JWKS (preferred over a key file) |
| ``SAFE_FUTURE_JWKS_MIN_REFRESH_SECONDS`` | ``10`` | least time between two JWKS fetches |
| ``SAFE_FUTURE_JWT_ALGORITHMS`` | ``RS256`` | comma-separated allow-list (asymmetric only) |
| ``SAFE_FUTURE_JWT_LEEWAY_SECONDS`` | ``30`` | clock skew allowed on exp/nbf/iat |
| ``SAFE_FUTURE_JWT_MAX_LIFETIME_SECONDS`` | ``86400`` | longest token lifetime accepted |
| ``SAFE_FUTURE_REVOCATION_RECHECK_SECONDS`` | ``30`` | how often open feeds re-check revocation |
| ``SAFE_FUTURE_ORG_CLAIM`` / ``..._ROLES_CLAIM`` | ``org`` / ``roles`` | claim paths (dotted) |
| ``SAFE_FUTURE_JWT_PUBLIC_KEY_FILE`` | ``<data>/keys/jwt-public.pem`` | PEM public key for tokens |
| ``SAFE_FUTURE_SIGNING_KEY_FILE`` | ``<data>/keys/service-signing.pem`` | service's own key |
| ``SAFE_FUTURE_SERVICE_ISSUER`` | ``safe-future-service`` | ``iss`` of integrator tokens |
| ``SAFE_FUTURE_INTEGRATOR_TOKEN_SECONDS`` | ``600`` | lifetime of integrator tokens |
| ``SAFE_FUTURE_ALLOWED_ORIGINS`` | empty | origins that may open WebSockets |
| ``SAFE_FUTURE_MAX_BODY_BYTES`` | ``3145728`` | largest request body accepted |
| ``SAFE_FUTURE_MAX_PAGE_SIZE`` | ``100`` | hard maximum of ``first`` on connections |
| ``SAFE_FUTURE_RISK_ASSESSMENT_MAX_AGE_DAYS`` | ``90`` | oldest risk assessment for a departure |
| ``SAFE_FUTURE_DB_POOL_SIZE`` | ``10`` | connections per process |
| ``SAFE_FUTURE_MIGRATIONS_DIR`` | ``migrations`` beside ``service/`` | Alembic scripts |
| ``SAFE_FUTURE_HOST`` / ``SAFE_FUTURE_PORT`` | ``127.0.0.1`` / ``8000`` | where ``serve`` listens |
| ``SAFE_FUTURE_REPORT_K`` | ``11`` | reports: threshold k and rounding base |
| ``SAFE_FUTURE_REPORT_PERCENTILE_MIN_GROUP`` | ``0`` (3·k) | reports: least group for percentiles |
| ``SAFE_FUTURE_MASTER_KEY`` | unset | master key (base64, 32 bytes) wrapping per-client data keys |
| ``SAFE_FUTURE_MASTER_KEY_FILE`` | ``<data>/keys/master.key`` (made) | file holding it instead |
| ``SAFE_FUTURE_PREVIOUS_MASTER_KEYS`` | empty | older keys (comma-separated), during rotation |
| ``SAFE_FUTURE_RETENTION_YEARS`` | ``7`` | ``retention run`` erases cases closed longer ago |
| ``SAFE_FUTURE_SOCIAL_MAP_STALE_MONTHS`` | ``12`` | social-map entries unverified longer: stale |
| ``SAFE_FUTURE_KEK_DIR`` | ``<data>/keys/kek`` | key-encryption keys (shared by instances) |
| ``SAFE_FUTURE_KEK_MAX_AGE_HOURS`` | ``24`` | longest life of a key-encryption key |
| ``SAFE_FUTURE_KEK_CHECK_SECONDS`` | ``300`` | how often each instance checks whether to rotate |
| ``SAFE_FUTURE_METRICS_TOKEN`` | unset | ``/metrics`` token (unset: loopback, development only) |
| ``SAFE_FUTURE_GRAPHIQL`` | on in development, off in production | serve GraphiQL at ``/graphql`` |

Production needs ``SAFE_FUTURE_MASTER_KEY`` or ``SAFE_FUTURE_MASTER_KEY_FILE``; only development
generates a master key in the data folder (see ``service.privacy.keys``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(Exception):
    """A setting is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Settings:
    mode: str
    data_dir: Path
    database_url: str | None
    app_db_role: str
    app_db_password: str | None
    jwt_issuer: str
    jwt_audience: str
    jwt_public_key_file: Path
    jwks_url: str | None
    jwks_min_refresh_seconds: int
    jwt_algorithms: tuple[str, ...]
    jwt_leeway_seconds: int
    org_claim: str
    roles_claim: str
    max_page_size: int
    max_body_bytes: int
    risk_assessment_max_age_days: int
    db_pool_size: int
    host: str
    port: int
    migrations_dir: Path
    signing_key_file: Path
    service_issuer: str
    integrator_token_seconds: int
    allowed_origins: tuple[str, ...]
    report_k: int = 11
    report_percentile_min_group: int = 0  # 0: three times k
    # Secrets stay out of repr(): a logged Settings must not carry them.
    master_key: str | None = field(default=None, repr=False)
    master_key_file: Path | None = None
    previous_master_keys: tuple[str, ...] = field(default=(), repr=False)
    retention_years: int = 7
    social_map_stale_months: int = 12
    kek_dir_setting: Path | None = None
    kek_max_age_hours: int = 24
    kek_check_seconds: int = 300
    metrics_token: str | None = field(default=None, repr=False)
    # GraphiQL's page and assets; production keeps introspection off even when this is on.
    graphiql: bool = True
    jwt_max_lifetime_seconds: int = 86400
    revocation_recheck_seconds: int = 30

    @property
    def production(self) -> bool:
        return self.mode == "production"

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def jwt_private_key_file(self) -> Path:
        return self.data_dir / "keys" / "jwt-private.pem"

    @property
    def kek_dir(self) -> Path:
        """Where the key-encryption keys' files live (see ``service.privacy.kek``)."""
        return self.kek_dir_setting or self.data_dir / "keys" / "kek"

    @property
    def generated_master_key_file(self) -> Path:
        """Where development keeps the master key it generated itself."""
        return self.data_dir / "keys" / "master.key"


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number") from exc
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}")
    return value


def _metrics_token(env: Mapping[str, str]) -> str | None:
    token = env.get("SAFE_FUTURE_METRICS_TOKEN") or None
    if token is not None and len(token) < 24:
        raise ConfigError("SAFE_FUTURE_METRICS_TOKEN must be at least 24 characters")
    return token


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be on or off (true/false, yes/no, 1/0)")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (the process environment when omitted)."""
    env = os.environ if env is None else env
    mode = env.get("SAFE_FUTURE_MODE", "development")
    if mode not in ("development", "production"):
        raise ConfigError("SAFE_FUTURE_MODE must be 'development' or 'production'")
    data_dir = Path(env.get("SAFE_FUTURE_DATA_DIR", ".data")).resolve()
    database_url = env.get("DATABASE_URL") or None
    role = env.get("SAFE_FUTURE_APP_DB_ROLE", "safe_future_app")
    if not role.replace("_", "").isalnum() or not role[0].isalpha():
        raise ConfigError("SAFE_FUTURE_APP_DB_ROLE must be a plain identifier")
    password = env.get("SAFE_FUTURE_APP_DB_PASSWORD") or None
    if mode == "production" and database_url is None:
        raise ConfigError(
            "production mode needs DATABASE_URL (the embedded server is for development)"
        )
    if mode == "production" and password is None:
        raise ConfigError("production mode needs SAFE_FUTURE_APP_DB_PASSWORD")
    master_key = env.get("SAFE_FUTURE_MASTER_KEY") or None
    master_key_file = env.get("SAFE_FUTURE_MASTER_KEY_FILE") or None
    if mode == "production" and master_key is None and master_key_file is None:
        raise ConfigError(
            "production mode needs SAFE_FUTURE_MASTER_KEY or SAFE_FUTURE_MASTER_KEY_FILE"
        )
    key_file = env.get("SAFE_FUTURE_JWT_PUBLIC_KEY_FILE")
    algorithms = tuple(
        a.strip() for a in env.get("SAFE_FUTURE_JWT_ALGORITHMS", "RS256").split(",") if a.strip()
    )
    allowed = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
    if not algorithms or not set(algorithms) <= allowed | {"EdDSA"}:
        raise ConfigError("SAFE_FUTURE_JWT_ALGORITHMS must list asymmetric JWS algorithms only")
    return Settings(
        mode=mode,
        data_dir=data_dir,
        database_url=database_url,
        app_db_role=role,
        app_db_password=password,
        jwt_issuer=env.get("SAFE_FUTURE_JWT_ISSUER", "safe-future-dev"),
        jwt_audience=env.get("SAFE_FUTURE_JWT_AUDIENCE", "safe-future"),
        jwt_public_key_file=(Path(key_file) if key_file else data_dir / "keys" / "jwt-public.pem"),
        jwks_url=env.get("SAFE_FUTURE_JWKS_URL") or None,
        jwks_min_refresh_seconds=_int(env, "SAFE_FUTURE_JWKS_MIN_REFRESH_SECONDS", 10, 0, 3600),
        jwt_algorithms=algorithms,
        jwt_leeway_seconds=_int(env, "SAFE_FUTURE_JWT_LEEWAY_SECONDS", 30, 0, 300),
        revocation_recheck_seconds=_int(env, "SAFE_FUTURE_REVOCATION_RECHECK_SECONDS", 30, 1, 3600),
        jwt_max_lifetime_seconds=_int(
            env, "SAFE_FUTURE_JWT_MAX_LIFETIME_SECONDS", 86400, 60, 30 * 86400
        ),
        org_claim=env.get("SAFE_FUTURE_ORG_CLAIM", "org"),
        roles_claim=env.get("SAFE_FUTURE_ROLES_CLAIM", "roles"),
        max_page_size=_int(env, "SAFE_FUTURE_MAX_PAGE_SIZE", 100, 1, 1000),
        max_body_bytes=_int(env, "SAFE_FUTURE_MAX_BODY_BYTES", 3 * 1024 * 1024, 1024, 64 << 20),
        risk_assessment_max_age_days=_int(
            env, "SAFE_FUTURE_RISK_ASSESSMENT_MAX_AGE_DAYS", 90, 1, 3650
        ),
        db_pool_size=_int(env, "SAFE_FUTURE_DB_POOL_SIZE", 10, 1, 200),
        host=env.get("SAFE_FUTURE_HOST", "127.0.0.1"),
        port=_int(env, "SAFE_FUTURE_PORT", 8000, 1, 65535),
        signing_key_file=Path(
            env.get("SAFE_FUTURE_SIGNING_KEY_FILE") or data_dir / "keys" / "service-signing.pem"
        ),
        service_issuer=env.get("SAFE_FUTURE_SERVICE_ISSUER", "safe-future-service"),
        integrator_token_seconds=_int(env, "SAFE_FUTURE_INTEGRATOR_TOKEN_SECONDS", 600, 30, 86400),
        report_k=_int(env, "SAFE_FUTURE_REPORT_K", 11, 2, 1000),
        report_percentile_min_group=_int(
            env, "SAFE_FUTURE_REPORT_PERCENTILE_MIN_GROUP", 0, 0, 100000
        ),
        master_key=master_key,
        master_key_file=Path(master_key_file) if master_key_file else None,
        previous_master_keys=tuple(
            k.strip()
            for k in env.get("SAFE_FUTURE_PREVIOUS_MASTER_KEYS", "").split(",")
            if k.strip()
        ),
        retention_years=_int(env, "SAFE_FUTURE_RETENTION_YEARS", 7, 1, 100),
        social_map_stale_months=_int(env, "SAFE_FUTURE_SOCIAL_MAP_STALE_MONTHS", 12, 1, 120),
        kek_dir_setting=Path(env["SAFE_FUTURE_KEK_DIR"])
        if env.get("SAFE_FUTURE_KEK_DIR")
        else None,
        kek_max_age_hours=_int(env, "SAFE_FUTURE_KEK_MAX_AGE_HOURS", 24, 1, 24 * 30),
        kek_check_seconds=_int(env, "SAFE_FUTURE_KEK_CHECK_SECONDS", 300, 1, 3600),
        metrics_token=_metrics_token(env),
        graphiql=_bool(env, "SAFE_FUTURE_GRAPHIQL", mode != "production"),
        allowed_origins=tuple(
            o.strip() for o in env.get("SAFE_FUTURE_ALLOWED_ORIGINS", "").split(",") if o.strip()
        ),
        migrations_dir=Path(
            env.get("SAFE_FUTURE_MIGRATIONS_DIR")
            or Path(__file__).resolve().parent.parent / "migrations"
        ),
    )
