"""Guards and operator endpoints: limits, production mode, CORS, readiness, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.auth import ensure_key_pair, load_signing_key
from service.config import Settings, load_settings
from service.privacy.keys import load_master_keyring
from service.schema import build_schema
from tests.conftest import APP_PASSWORD, Database
from tests.e2e.case_steps import OPENING, mutation, the_normal_way
from tests.e2e.conftest import codes


async def test_too_deep_a_query_is_refused() -> None:
    schema = build_schema(max_depth=3)
    result = await schema.execute(
        "{ returnCases { edges { node { timeline { version } } } } }", context_value=None
    )
    assert result.errors
    assert "exceeds maximum operation depth" in result.errors[0].message
    assert result.data is None


async def test_too_many_aliases_are_refused(as_org: Any) -> None:
    query = "{ " + " ".join(f"a{i}: me {{ subject }}" for i in range(40)) + " }"
    body = await as_org("moviera").execute(query)
    assert "BAD_USER_INPUT" in codes(body)


async def test_too_many_tokens_are_refused(as_org: Any) -> None:
    query = "{ me { " + "subject " * 6000 + "} }"
    body = await as_org("moviera").execute(query)
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_oversized_body_is_413_before_parsing(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", content=b"{" + b" " * (4 * 1024 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_batched_requests_are_refused(http: httpx.AsyncClient, make_token: Any) -> None:
    response = await http.post(
        "/graphql",
        json=[{"query": "{ me { subject } }"}, {"query": "{ me { subject } }"}],
        headers={"Authorization": f"Bearer {make_token('moviera')}"},
    )
    assert response.status_code == 400


async def test_readiness_reports_database_and_migrations(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "migrations": "current"}
    assert (await http.get("/healthz")).status_code == 200


async def test_metrics_count_operations_errors_and_events(
    as_org: Any, http: httpx.AsyncClient
) -> None:
    client = as_org("moviera")
    await client.execute("{ me { subject } }")
    await client.execute('{ returnCase(id: "bm90LWFuLWlk") { id } }')
    text = (await http.get("/metrics")).text
    assert 'safe_future_graphql_request_seconds_count{operation="query:me"}' in text
    assert 'safe_future_graphql_errors_total{code="BAD_USER_INPUT"}' in text
    assert "safe_future_events_appended_total" in text
    assert "safe_future_open_subscriptions" in text


@pytest.fixture(scope="module")
async def production(
    database: Database, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    load_signing_key(settings)
    load_master_keyring(settings)  # generates the development key file when not there yet
    data_dir: Path = tmp_path_factory.mktemp("prod")
    prod = load_settings({
        "SAFE_FUTURE_MODE": "production", "SAFE_FUTURE_DATA_DIR": str(data_dir),
        "DATABASE_URL": database.admin_url.render_as_string(hide_password=False),
        "SAFE_FUTURE_APP_DB_PASSWORD": APP_PASSWORD,
        "SAFE_FUTURE_JWT_PUBLIC_KEY_FILE": str(settings.jwt_public_key_file),
        "SAFE_FUTURE_SIGNING_KEY_FILE": str(settings.signing_key_file),
        "SAFE_FUTURE_ALLOWED_ORIGINS": "https://app.moviera.example",
        # Production needs a configured master key: the one the test database's data uses.
        "SAFE_FUTURE_MASTER_KEY_FILE": str(settings.generated_master_key_file),
        # and the key-encryption keys every instance of one deployment shares.
        "SAFE_FUTURE_KEK_DIR": str(settings.kek_dir),
    })  # fmt: skip
    ensure_key_pair(settings.jwt_private_key_file, settings.jwt_public_key_file)
    app = create_app(prod, database.app_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_production_mode_hides_introspection_and_graphiql(
    production: httpx.AsyncClient, make_token: Any
) -> None:
    headers = {"Authorization": f"Bearer {make_token('moviera')}"}
    body = (await production.post(
        "/graphql", json={"query": "{ __schema { types { name } } }"}, headers=headers
    )).json()  # fmt: skip
    assert set(codes(body)) == {"BAD_USER_INPUT"}
    assert body["data"] is None
    ide = await production.get("/graphql", headers={"Accept": "text/html"})
    assert ide.status_code == 404
    me = await production.post("/graphql", json={"query": "{ me { subject } }"}, headers=headers)
    assert me.json()["data"]["me"]["subject"] == "user-of-moviera"


async def test_production_answers_a_compiled_command_as_the_normal_execution(
    production: httpx.AsyncClient, make_token: Any
) -> None:
    headers = {"Authorization": f"Bearer {make_token('moviera')}"}

    async def both(name: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
        bodies = []
        for document in (mutation(name), the_normal_way(mutation(name))):
            response = await production.post(
                "/graphql", json={"query": document, "variables": variables}, headers=headers
            )
            bodies.append(response.json())
        return bodies

    opened = await both("openReturnCase", {"input": OPENING})
    cases = [body["data"]["openReturnCase"]["case"] for body in opened]
    assert {**cases[0], "id": None} == {**cases[1], "id": None}
    current = {"caseId": cases[0]["id"], "expectedVersion": cases[0]["version"]}
    risk = {"assessedOn": "2026-01-06", "level": "LOW"}
    refused = await both("assessRisk", {"input": {**current, **risk, "caseId": "bm90LWFuLWlk"}})
    assert refused[0] == refused[1]
    assert codes(refused[0]) == ["BAD_USER_INPUT"]
    unknown = await both("assessRisk", {"input": {**current, **risk, "level": "LOWEST"}})
    assert unknown[0] == unknown[1]
    assert "Did you mean" not in repr(unknown[0])


async def test_cors_allows_only_configured_origins(production: httpx.AsyncClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}  # fmt: skip
    allowed = await production.options(
        "/graphql", headers={"Origin": "https://app.moviera.example", **preflight}
    )
    assert allowed.headers.get("access-control-allow-origin") == "https://app.moviera.example"
    refused = await production.options(
        "/graphql", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in refused.headers


async def test_cors_names_an_allowed_origin_on_the_answer_itself(
    production: httpx.AsyncClient, make_token: Any
) -> None:
    """A browser reads the answer to a POST only when the answer names its origin."""
    headers = {"Authorization": f"Bearer {make_token('moviera')}"}
    query = {"query": "{ me { subject } }"}
    allowed = await production.post(
        "/graphql", json=query, headers={**headers, "Origin": "https://app.moviera.example"}
    )
    assert allowed.json()["data"]["me"]["subject"] == "user-of-moviera"
    assert allowed.headers["access-control-allow-origin"] == "https://app.moviera.example"
    assert allowed.headers["access-control-expose-headers"] == "X-Request-ID"
    assert allowed.headers["vary"] == "Origin"
    assert allowed.headers["x-content-type-options"] == "nosniff"
    foreign = await production.post(
        "/graphql", json=query, headers={**headers, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in foreign.headers
    assert foreign.headers["vary"] == "Origin"
    unauthenticated = await production.post(
        "/graphql", json=query, headers={"Origin": "https://app.moviera.example"}
    )
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["access-control-allow-origin"] == "https://app.moviera.example"


def test_production_refuses_to_start_without_a_database_password() -> None:
    from service.config import ConfigError

    with pytest.raises(ConfigError):
        load_settings({"SAFE_FUTURE_MODE": "production", "DATABASE_URL": "postgresql://x@y/z"})
