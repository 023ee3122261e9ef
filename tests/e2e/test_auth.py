"""Who may talk to the API at all: a valid bearer token, or HTTP 401.

A request without a token, or with one that is forged, expired, meant for another service or
names an organisation the service does not know, is refused before any GraphQL runs: HTTP 401
with an UNAUTHENTICATED error and a ``WWW-Authenticate`` challenge, and nothing is written.
Only the GraphiQL page itself, which a browser fetches as HTML, needs no token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.utils import base64url_encode
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.auth import issue_token
from service.config import Settings
from tests.e2e.conftest import GraphQLClient

ME = "{ me { subject organisation { slug name kind } roles } }"
OPEN = """
mutation {
  openReturnCase(input: {intakeDate: "2026-01-05", pseudonym: "Client U", gender: FEMALE,
                         nationality: "NG", countryOfOrigin: "NG"}) { version }
}
"""


async def count_all_events(engine: AsyncEngine) -> int:
    """Every event of every tenant: in one statement as a superuser, else summed per tenant."""
    async with engine.begin() as conn:
        if await conn.scalar(text("SELECT current_setting('is_superuser') = 'on'")):
            return int(await conn.scalar(text("SELECT count(*) FROM events")) or 0)
        tenant_ids = (await conn.execute(text("SELECT id FROM tenants"))).scalars().all()
        total = 0
        for tenant_id in tenant_ids:
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
            )
            count = await conn.scalar(
                text("SELECT count(*) FROM events WHERE tenant_id = :t"), {"t": tenant_id}
            )
            total += int(count or 0)
        return total


@pytest.fixture(scope="module")
def sign(settings: Settings) -> Callable[..., str]:
    """Issue a token with the service's development key; keyword arguments override claims."""
    private_key = settings.jwt_private_key_file.read_bytes()

    def issue(**overrides: Any) -> str:
        claims: dict[str, Any] = {
            "issuer": settings.jwt_issuer,
            "audience": settings.jwt_audience,
            "subject": "user-of-moviera",
            "organisation": "moviera",
            "roles": ["caseworker"],
            **overrides,
        }
        key = claims.pop("key", private_key)
        return issue_token(key, **claims)

    return issue


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer"), response.headers
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], body
    assert "data" not in body or body["data"] is None, body


async def post(http: httpx.AsyncClient, query: str, headers: dict[str, str]) -> httpx.Response:
    return await http.post("/graphql", json={"query": query}, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- no usable token ------------------------------------------------------------------------------


async def test_request_without_authorization_header_gets_401_with_a_bearer_challenge(
    http: httpx.AsyncClient, admin_engine: AsyncEngine
) -> None:
    events = await count_all_events(admin_engine)

    read = await post(http, ME, {})
    write = await post(http, OPEN, {})

    assert_unauthenticated(read)
    assert_unauthenticated(write)
    assert await count_all_events(admin_engine) == events


AUTHORIZATION_WITHOUT_BEARER_TOKEN = {
    "empty": "",
    "scheme only": "Bearer",
    "blank token": "Bearer    ",
    "basic credentials": "Basic dXNlcjpwYXNzd29yZA==",
    "token without scheme": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
    "garbage token": "Bearer not-a-jwt",
}


@pytest.mark.parametrize(
    "authorization",
    AUTHORIZATION_WITHOUT_BEARER_TOKEN.values(),
    ids=AUTHORIZATION_WITHOUT_BEARER_TOKEN.keys(),
)
async def test_authorization_without_a_usable_bearer_token_gets_401(
    http: httpx.AsyncClient, authorization: str
) -> None:
    response = await post(http, ME, {"Authorization": authorization})

    assert_unauthenticated(response)


# --- tokens that must not be trusted --------------------------------------------------------------


def other_private_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


async def test_token_signed_by_another_key_gets_401(
    http: httpx.AsyncClient, sign: Callable[..., str], admin_engine: AsyncEngine
) -> None:
    events = await count_all_events(admin_engine)
    forged = sign(key=other_private_key())

    read = await post(http, ME, bearer(forged))
    write = await post(http, OPEN, bearer(forged))

    assert_unauthenticated(read)
    assert_unauthenticated(write)
    assert await count_all_events(admin_engine) == events


async def test_expired_token_gets_401(http: httpx.AsyncClient, sign: Callable[..., str]) -> None:
    issued = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    expired = sign(now=issued, lifetime=dt.timedelta(hours=1))

    assert_unauthenticated(await post(http, ME, bearer(expired)))


async def test_token_issued_in_the_future_gets_401(
    http: httpx.AsyncClient, sign: Callable[..., str]
) -> None:
    future = sign(now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))

    assert_unauthenticated(await post(http, ME, bearer(future)))


@pytest.mark.parametrize("organisation", ["no-such-shelter", "MOVIERA", "", "moviera "])
async def test_token_of_an_unknown_organisation_gets_401(
    http: httpx.AsyncClient, sign: Callable[..., str], organisation: str
) -> None:
    token = sign(organisation=organisation)

    assert_unauthenticated(await post(http, ME, bearer(token)))


async def test_token_for_another_audience_gets_401(
    http: httpx.AsyncClient, sign: Callable[..., str]
) -> None:
    token = sign(audience="some-other-service")

    assert_unauthenticated(await post(http, ME, bearer(token)))


async def test_token_from_another_issuer_gets_401(
    http: httpx.AsyncClient, sign: Callable[..., str]
) -> None:
    token = sign(issuer="https://idp.example.org/realms/elsewhere")

    assert_unauthenticated(await post(http, ME, bearer(token)))


def handmade_claims(settings: Settings, **overrides: Any) -> dict[str, Any]:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "user-of-moviera",
        "org": "moviera",
        "roles": ["caseworker"],
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
        **overrides,
    }
    return {k: v for k, v in claims.items() if v is not None}


async def test_unsigned_token_gets_401(http: httpx.AsyncClient, settings: Settings) -> None:
    token = jwt.encode(handmade_claims(settings), key="", algorithm="none")

    assert_unauthenticated(await post(http, ME, bearer(token)))


async def test_hmac_token_keyed_with_the_public_key_gets_401(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    """The classic algorithm confusion: HS256 with the (public) RSA key as the secret."""
    public_pem = settings.jwt_public_key_file.read_bytes()
    header = base64url_encode(b'{"alg":"HS256","typ":"JWT"}')
    payload = base64url_encode(json.dumps(handmade_claims(settings)).encode())
    signature = hmac.new(public_pem, header + b"." + payload, hashlib.sha256).digest()
    token = b".".join([header, payload, base64url_encode(signature)]).decode()

    assert_unauthenticated(await post(http, ME, bearer(token)))


MISSING_OR_MALFORMED_CLAIMS = {
    "no organisation": {"org": None},
    "no roles": {"roles": None},
    "roles not a list": {"roles": "caseworker"},
    "organisation not a string": {"org": ["moviera"]},
    "no subject": {"sub": None},
    "no expiry": {"exp": None},
}


@pytest.mark.parametrize(
    "overrides", MISSING_OR_MALFORMED_CLAIMS.values(), ids=MISSING_OR_MALFORMED_CLAIMS.keys()
)
async def test_token_missing_or_with_malformed_claims_gets_401(
    http: httpx.AsyncClient, settings: Settings, overrides: dict[str, Any]
) -> None:
    private_key = settings.jwt_private_key_file.read_bytes()
    token = jwt.encode(handmade_claims(settings, **overrides), private_key, algorithm="RS256")

    assert_unauthenticated(await post(http, ME, bearer(token)))


# --- who the token says you are -------------------------------------------------------------------

PRINCIPALS = {
    "caseworker": ("moviera", ["caseworker"], "shelter"),
    "tenant admin and caseworker": ("het-kopland", ["caseworker", "tenant-admin"], "shelter"),
    "integrator": ("hvo-querido", ["integrator"], "shelter"),
    "comensha analyst": ("comensha", ["comensha-analyst"], "coordination"),
    "social-map editor": ("comensha", ["social-map-editor"], "coordination"),
}


@pytest.mark.parametrize(
    ("organisation", "roles", "kind"), PRINCIPALS.values(), ids=PRINCIPALS.keys()
)
async def test_me_returns_the_organisation_and_roles_of_the_token(
    http: httpx.AsyncClient,
    sign: Callable[..., str],
    organisation: str,
    roles: list[str],
    kind: str,
) -> None:
    token = sign(organisation=organisation, roles=roles, subject=f"someone-at-{organisation}")

    response = await post(http, ME, bearer(token))

    assert response.status_code == 200, response.text
    me = response.json()["data"]["me"]
    assert me["subject"] == f"someone-at-{organisation}"
    assert (me["organisation"]["slug"], me["organisation"]["kind"]) == (organisation, kind)
    assert me["roles"] == sorted(roles)


async def test_me_leaves_out_roles_the_service_does_not_know(
    http: httpx.AsyncClient, sign: Callable[..., str]
) -> None:
    token = sign(roles=["caseworker", "superuser", "admin"])

    response = await post(http, ME, bearer(token))

    assert response.json()["data"]["me"]["roles"] == ["caseworker"]


async def test_valid_token_answers_with_a_request_id(as_org: Any) -> None:
    client: GraphQLClient = as_org("moviera")

    response = await client.post(ME)

    assert response.status_code == 200
    assert response.headers.get("X-Request-ID")


# --- the GraphiQL page ----------------------------------------------------------------------------


async def test_graphiql_page_needs_no_token(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


@pytest.mark.parametrize(
    "query",
    ["{ me { subject } }", "{ __schema { queryType { name } } }"],
)
async def test_query_sent_by_get_asking_for_html_still_needs_a_token(
    http: httpx.AsyncClient, query: str
) -> None:
    """Only the page is public: a GET that carries a query is an API call like any other."""
    response = await http.get("/graphql", params={"query": query}, headers={"Accept": "text/html"})

    assert_unauthenticated(response)


async def test_get_without_a_token_that_does_not_ask_for_html_gets_401(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/graphql", headers={"Accept": "*/*"})

    assert_unauthenticated(response)


def _now() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp())


TIME_CLAIMS_THAT_ARE_NOT_NUMBERS = {
    "exp as a numeric string": lambda now: {"exp": str(now + 3600)},
    "nbf as a numeric string": lambda now: {"nbf": str(now)},
    "iat as a numeric string": lambda now: {"iat": str(now)},
    "exp as a boolean": lambda now: {"exp": True},
}


@pytest.mark.parametrize("claims", TIME_CLAIMS_THAT_ARE_NOT_NUMBERS.values(),
                         ids=TIME_CLAIMS_THAT_ARE_NOT_NUMBERS.keys())  # fmt: skip
async def test_time_claims_must_be_json_numbers(
    http: httpx.AsyncClient, settings: Settings, claims: Callable[[int], dict[str, Any]]
) -> None:
    private = settings.jwt_private_key_file.read_bytes()
    token = jwt.encode(handmade_claims(settings, **claims(_now())), private, algorithm="RS256")

    assert_unauthenticated(await post(http, ME, bearer(token)))


@pytest.mark.parametrize(
    "claims",
    [
        lambda now: {"exp": 32503680000},  # the year 3000
        lambda now: {"iat": now, "exp": now + 2 * 86400},
        lambda now: {"iat": now + 10 * 86400, "nbf": now, "exp": now + 10 * 86400 + 60},
    ],
    ids=["year 3000", "two days", "future iat hiding a long life"],
)
async def test_a_token_living_longer_than_the_maximum_gets_401(
    http: httpx.AsyncClient, settings: Settings, claims: Callable[[int], dict[str, Any]]
) -> None:
    private = settings.jwt_private_key_file.read_bytes()
    token = jwt.encode(handmade_claims(settings, **claims(_now())), private, algorithm="RS256")

    assert_unauthenticated(await post(http, ME, bearer(token)))


async def test_a_token_within_the_maximum_lifetime_is_accepted(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    now = _now()
    private = settings.jwt_private_key_file.read_bytes()
    token = jwt.encode(
        handmade_claims(settings, iat=now, exp=now + 86400 - 60), private, algorithm="RS256"
    )
    response = await post(http, ME, bearer(token))
    assert response.status_code == 200
    assert response.json()["data"]["me"]["subject"] == "user-of-moviera"
