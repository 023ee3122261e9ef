"""Tokens of an OpenID Connect provider, verified against its JWKS served by the test."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from service.app import create_app
from service.auth import ensure_key_pair
from service.config import Settings, load_settings
from service.privacy.keys import load_master_keyring
from tests.conftest import Database

ISSUER = "https://idp.example.test/realms/safe-future"


@dataclass
class Provider:
    """A stand-in identity provider: key pairs and the JWKS document it publishes."""

    keys: dict[str, Any] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    fetches: int = 0

    def add_rsa(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid in self.published:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            out.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": out}

    def token(self, kid: str, *, alg: str = "RS256", **overrides: Any) -> str:
        now = dt.datetime.now(dt.UTC)
        claims = {
            "iss": ISSUER, "aud": "safe-future", "sub": f"kc-{uuid.uuid4().hex[:6]}",
            "iat": int(now.timestamp()), "exp": int((now + dt.timedelta(minutes=5)).timestamp()),
            "org": "moviera", "realm_access": {"roles": ["caseworker", "offline_access"]},
            **overrides,
        }  # fmt: skip
        return jwt.encode(claims, self.keys[kid], algorithm=alg, headers={"kid": kid})


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[Provider, str]]:
    idp = Provider()
    idp.add_rsa("key-1")
    idp.published.append("key-1")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            idp.fetches += 1
            body = json.dumps(idp.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield idp, f"http://127.0.0.1:{server.server_address[1]}/certs"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
async def oidc_client(
    provider: tuple[Provider, str],
    database: Database,
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[httpx.AsyncClient]:
    _, url = provider
    data_dir: Path = tmp_path_factory.mktemp("oidc")
    load_master_keyring(settings)  # the session's keys: one deployment shares them
    own: Settings = load_settings({
        "SAFE_FUTURE_DATA_DIR": str(data_dir), "SAFE_FUTURE_JWKS_URL": url,
        "SAFE_FUTURE_JWT_ISSUER": ISSUER, "SAFE_FUTURE_ROLES_CLAIM": "realm_access.roles",
        "SAFE_FUTURE_JWKS_MIN_REFRESH_SECONDS": "0",
        "SAFE_FUTURE_MASTER_KEY_FILE": str(settings.generated_master_key_file),
        "SAFE_FUTURE_KEK_DIR": str(settings.kek_dir),
    })  # fmt: skip
    ensure_key_pair(own.jwt_private_key_file, own.jwt_public_key_file)
    app = create_app(own, database.app_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": "{ me { organisation { slug } roles } }"},
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_token_of_the_provider_is_accepted_with_configured_claim_names(
    oidc_client: httpx.AsyncClient, provider: tuple[Provider, str]
) -> None:
    idp, _ = provider
    response = await _me(oidc_client, idp.token("key-1"))
    assert response.status_code == 200
    me = response.json()["data"]["me"]
    assert me == {"organisation": {"slug": "moviera"}, "roles": ["caseworker"]}


async def test_rotated_key_is_fetched_without_restart(
    oidc_client: httpx.AsyncClient, provider: tuple[Provider, str]
) -> None:
    idp, _ = provider
    idp.add_rsa("key-2")
    idp.published[:] = ["key-2"]
    before = idp.fetches
    assert (await _me(oidc_client, idp.token("key-2"))).status_code == 200
    assert idp.fetches == before + 1


@pytest.mark.parametrize(
    "forge",
    ["alg_none", "hs256_with_public_key", "expired", "wrong_audience", "wrong_issuer",
     "unknown_kid", "foreign_key"],
)  # fmt: skip
async def test_forged_or_stale_tokens_are_refused(
    oidc_client: httpx.AsyncClient, provider: tuple[Provider, str], forge: str
) -> None:
    idp, _ = provider
    kid = idp.published[0]
    now = int(dt.datetime.now(dt.UTC).timestamp())
    if forge == "alg_none":
        claims = jwt.decode(idp.token(kid), options={"verify_signature": False})
        token = jwt.encode(claims, None, algorithm="none", headers={"kid": kid})  # type: ignore[arg-type]
    elif forge == "hs256_with_public_key":
        public = (
            idp.keys[kid]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        claims = jwt.decode(idp.token(kid), options={"verify_signature": False})
        token = _hs256(claims, public, kid)
    elif forge == "expired":
        token = idp.token(kid, exp=now - 120, iat=now - 600)
    elif forge == "wrong_audience":
        token = idp.token(kid, aud="someone-else")
    elif forge == "wrong_issuer":
        token = idp.token(kid, iss="https://evil.example.test")
    elif forge == "unknown_kid":
        idp.add_rsa("never-published")
        token = idp.token("never-published")
    else:
        other = ec.generate_private_key(ec.SECP256R1())
        claims = jwt.decode(idp.token(kid), options={"verify_signature": False})
        token = jwt.encode(claims, other, algorithm="ES256", headers={"kid": kid})
    response = await _me(oidc_client, token)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def _hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """HS256 keyed with the provider's public key, built by hand (PyJWT refuses to)."""

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


async def test_small_clock_skew_is_allowed(
    oidc_client: httpx.AsyncClient, provider: tuple[Provider, str]
) -> None:
    idp, _ = provider
    now = int(dt.datetime.now(dt.UTC).timestamp())
    token = idp.token(idp.published[0], exp=now - 10, iat=now - 300)
    assert (await _me(oidc_client, token)).status_code == 200
