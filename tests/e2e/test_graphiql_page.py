"""The GraphiQL page over HTTP, security headers, and introspection in each mode.

The browser itself is exercised in ``test_graphiql_browser.py``; here the page's markup, its
Content-Security-Policy and assets, the headers every response carries, and what development
and production answer to introspection and to misspelt names.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query

from service.app import create_app
from service.auth import ensure_key_pair, load_signing_key
from service.config import Settings, load_settings
from service.graphiql import VENDOR_FILES
from service.privacy.keys import load_master_keyring
from tests.conftest import APP_PASSWORD, Database
from tests.e2e.conftest import codes

HTML = {"Accept": "text/html"}


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (p.split() for p in policy.split(";") if p.strip())
    return {name: sources for name, *sources in parts}


# --- the page ------------------------------------------------------------------------------------


async def test_page_loads_scripts_and_styles_from_its_own_origin_only(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/graphql", headers=HTML)

    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert sources, "the page references no script or style"
    assert all(s.startswith("/graphiql/") or s == "data:," for s in sources), sources
    assert not re.search(r"https?://|//[a-z]", page.text, re.IGNORECASE)
    assert "<script>" not in page.text  # no inline script
    assert "<style" not in page.text
    for source in sources:
        if source.startswith("/"):
            asset = await http.get(source)
            assert asset.status_code == 200, source
            assert asset.headers["content-type"].split(";")[0] in (
                "text/javascript", "application/javascript", "text/css",
            ), source  # fmt: skip


async def test_page_policy_allows_this_origin_only(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers=HTML)

    policy = _directives(page.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'", "ws://testserver"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert not any("unsafe" in s for sources in policy.values() for s in sources)


async def test_page_policy_ignores_a_host_header_that_is_not_a_host(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get(
        "/graphql", headers={**HTML, "Host": "evil.example; script-src *"}
    )  # fmt: skip

    policy = _directives(page.headers["content-security-policy"])
    assert policy["connect-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]


async def test_vendor_bundles_are_installed_and_served_compressed(
    http: httpx.AsyncClient,
) -> None:
    for name in VENDOR_FILES:
        response = await http.get(f"/graphiql/vendor/{name}", headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, f"{name}: run make install"
        assert response.headers["content-encoding"] == "gzip"
        assert "unpkg.com" not in response.text[:2000]


# --- headers on every response -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/graphql", {"headers": HTML}),
        ("POST", "/graphql", {"json": {"query": "{ me { subject } }"}}),  # 401
        ("POST", "/graphql", {"content": b"{" + b" " * (4 << 20) + b"}"}),  # 413
        ("GET", "/healthz", {}),
        ("GET", "/graphiql/boot.js", {}),
        ("GET", "/no-such-page", {}),
    ],
    ids=["page", "unauthenticated", "too-large", "health", "asset", "not-found"],
)
async def test_every_response_carries_the_security_headers(
    http: httpx.AsyncClient, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    response = await http.request(method, path, **kwargs)

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert len(response.headers.get_list("content-security-policy")) == 1


async def test_api_answers_carry_a_policy_that_loads_nothing(as_org: Any) -> None:
    response = await as_org("moviera").post("{ me { subject } }")

    assert response.status_code == 200
    policy = _directives(response.headers["content-security-policy"])
    assert policy == {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}


# --- introspection in development ----------------------------------------------------------------


async def test_the_standard_introspection_query_loads_the_schema(as_org: Any) -> None:
    """What GraphiQL, code generators and schemathesis send (15 levels deep)."""
    query = get_introspection_query(
        descriptions=True, specified_by_url=True, directive_is_repeatable=True,
        schema_description=True, input_value_deprecation=True,
    )  # fmt: skip

    body = await as_org("moviera").execute(query)

    assert "errors" not in body, body["errors"]
    root = next(t for t in body["data"]["__schema"]["types"] if t["name"] == "Query")
    assert {"me", "returnCase", "returnCases"} <= {f["name"] for f in root["fields"]}


@pytest.mark.parametrize(
    "query",
    [
        '{ __type(name: "ReturnCase") { fields { type { '
        + "ofType { " * 30
        + "name"
        + " }" * 30
        + " } } } }",
        "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }",
        "{ __schema { types { possibleTypes { interfaces { fields { name } } } } } }",
    ],
    ids=["of-type-30-deep", "fields-nested-3-times", "lists-nested-3-times"],
)
async def test_introspection_that_multiplies_or_nests_without_end_is_refused(
    as_org: Any, query: str
) -> None:
    body = await as_org("moviera").execute(query)

    assert body["data"] is None
    assert set(codes(body)) == {"BAD_USER_INPUT"}


async def test_introspection_does_not_lift_the_depth_limit_of_other_fields(as_org: Any) -> None:
    shallow = "{ __schema { queryType { name } } me { subject } }"
    deep = "{ __schema { queryType { name } } me { " + "a { " * 12 + "b" + " }" * 14

    assert (await as_org("moviera").execute(shallow)).get("errors") is None
    body = await as_org("moviera").execute(deep)
    assert body["data"] is None
    assert any("exceeds maximum operation depth" in e["message"] for e in body["errors"])


# --- production ----------------------------------------------------------------------------------


ProductionApp = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(scope="module")
def production_app(
    database: Database, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> ProductionApp:
    load_signing_key(settings)
    load_master_keyring(settings)
    ensure_key_pair(settings.jwt_private_key_file, settings.jwt_public_key_file)

    @asynccontextmanager
    async def start(**extra: str) -> AsyncIterator[httpx.AsyncClient]:
        data_dir: Path = tmp_path_factory.mktemp("prod")
        prod = load_settings({
            "SAFE_FUTURE_MODE": "production", "SAFE_FUTURE_DATA_DIR": str(data_dir),
            "DATABASE_URL": database.admin_url.render_as_string(hide_password=False),
            "SAFE_FUTURE_APP_DB_PASSWORD": APP_PASSWORD,
            "SAFE_FUTURE_JWT_PUBLIC_KEY_FILE": str(settings.jwt_public_key_file),
            "SAFE_FUTURE_SIGNING_KEY_FILE": str(settings.signing_key_file),
            "SAFE_FUTURE_MASTER_KEY_FILE": str(settings.generated_master_key_file),
            "SAFE_FUTURE_KEK_DIR": str(settings.kek_dir),
            **extra,
        })  # fmt: skip
        app = create_app(prod, database.app_url)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c

    return start


async def test_production_serves_no_graphiql_by_default(production_app: ProductionApp) -> None:
    async with production_app() as client:
        assert (await client.get("/graphql", headers=HTML)).status_code == 404
        assert (await client.get("/graphiql/boot.js")).status_code == 404
        assert (await client.get("/graphiql/vendor/graphiql.min.js")).status_code == 404


async def test_production_serves_graphiql_when_enabled_but_keeps_introspection_off(
    production_app: ProductionApp, make_token: Any
) -> None:
    auth = {"Authorization": f"Bearer {make_token('moviera')}"}
    async with production_app(SAFE_FUTURE_GRAPHIQL="on") as client:
        page = await client.get("/graphql", headers=HTML)
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert (await client.get("/graphiql/boot.js")).status_code == 200
        body = (await client.post(
            "/graphql", json={"query": get_introspection_query()}, headers=auth
        )).json()  # fmt: skip
        assert body["data"] is None
        assert set(codes(body)) == {"BAD_USER_INPUT"}


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ returnCasez { id } }", {}),
        ("{ returnCases(frist: 2) { edges { node { id } } } }", {}),
        (
            "query($f: ReturnCaseFilter) { returnCases(filter: $f) { edges { node { id } } } }",
            {"f": {"phases": ["INTAK"]}},
        ),
        (
            "query($f: ReturnCaseFilter) { returnCases(filter: $f) { edges { node { id } } } }",
            {"f": {"phase": ["INTAKE"]}},
        ),
    ],
    ids=["field", "argument", "enum-value-in-variables", "input-field-in-variables"],
)
async def test_production_suggests_no_names_development_does(
    production_app: ProductionApp, as_org: Any, make_token: Any,
    query: str, variables: dict[str, Any],
) -> None:  # fmt: skip
    development = await as_org("moviera").execute(query, variables)
    assert "Did you mean" in development["errors"][0]["message"]

    auth = {"Authorization": f"Bearer {make_token('moviera')}"}
    async with production_app() as client:
        body = (await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=auth
        )).json()  # fmt: skip
    assert body["errors"]
    assert not any("Did you mean" in e["message"] for e in body["errors"]), body
