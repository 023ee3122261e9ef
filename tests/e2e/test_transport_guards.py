"""One guard chain for every transport: HTTP and both WebSocket protocols refuse the same
documents with the same codes, and a WebSocket carries subscriptions only."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from service.schema.guards import MAX_DOCUMENT_CHARS
from tests.conftest import TokenFactory
from tests.e2e.conftest import LiveServer, codes
from tests.e2e.test_feed_ws_auth import (
    LEGACY_WS,
    SUBSCRIBE,
    TRANSPORT_WS,
    close_code,
    feed_socket,
    receive,
    send,
)

MARKER = "Zorbaclyde Quillfeather"


async def _transport_ws(live_server: LiveServer, token: str, payload: dict[str, Any]) -> Any:
    """The first message answering one ``subscribe`` over graphql-transport-ws."""
    async with feed_socket(live_server, token) as ws:
        await send(ws, {"id": "1", "type": "subscribe", "payload": payload})
        return await receive(ws)


async def _legacy_ws(live_server: LiveServer, token: str, payload: dict[str, Any]) -> Any:
    async with feed_socket(live_server, token, LEGACY_WS) as ws:
        await send(ws, {"id": "1", "type": "start", "payload": payload})
        for _ in range(20):
            message = await receive(ws)
            if message["type"] != "ka":
                return message
    raise AssertionError("no answer")


def _errors(message: dict[str, Any]) -> list[dict[str, Any]]:
    assert message["type"] == "error", message
    payload = message["payload"]
    return payload if isinstance(payload, list) else [payload]


@pytest.mark.parametrize(
    "query",
    ["{ me { subject } }", "mutation { withdrawConsent(input: {}) { __typename } }"],
    ids=["query", "mutation"],
)
async def test_a_websocket_refuses_queries_and_mutations_with_a_code(
    live_server: LiveServer, make_token: TokenFactory, query: str
) -> None:
    token = make_token("moviera")
    for answer in (
        await _transport_ws(live_server, token, {"query": query}),
        await _legacy_ws(live_server, token, {"query": query}),
    ):
        (error,) = _errors(answer)
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "rule": "OPERATION_NOT_ALLOWED"}


@pytest.mark.parametrize(
    ("query", "rule"),
    [
        ("subscription { caseEvents(", "SYNTAX"),
        ("subscription { " + "caseEvents { cursor } " * 2 + "}" + " " * MAX_DOCUMENT_CHARS,
         "DOCUMENT_TOO_LONG"),
        ("subscription { }", "EMPTY_SELECTION"),
        ("subscription A { caseEvents { cursor } } subscription B { caseEvents { cursor } }",
         "OPERATION_NAME_REQUIRED"),
    ],
    ids=["syntax", "too-long", "empty", "two-operations"],
)  # fmt: skip
async def test_both_websocket_protocols_refuse_bad_documents_with_a_code(
    live_server: LiveServer, make_token: TokenFactory, query: str, rule: str
) -> None:
    token = make_token("moviera")
    for answer in (
        await _transport_ws(live_server, token, {"query": query}),
        await _legacy_ws(live_server, token, {"query": query}),
    ):
        (error,) = _errors(answer)
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "rule": rule}


async def test_an_empty_selection_is_refused_over_http(as_org: Any) -> None:
    body = await as_org("moviera").execute("{ }")
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["rule"] == "EMPTY_SELECTION"


async def test_a_frame_nested_too_deeply_closes_the_socket_with_4400(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    async with feed_socket(live_server, make_token("moviera")) as ws:
        await ws.send("[" * 100_000)
        assert await close_code(ws) == 4400


async def test_subscription_errors_do_not_echo_the_values_sent(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    payload = {"query": SUBSCRIBE, "variables": {"caseId": {"fullName": MARKER}}}
    token = make_token("moviera")
    for answer in (
        await _transport_ws(live_server, token, payload),
        await _legacy_ws(live_server, token, payload),
    ):
        text = json.dumps(answer)
        assert "Zorbaclyde" not in text, text
        assert {e["extensions"]["code"] for e in _errors(answer)} == {"BAD_USER_INPUT"}


async def test_the_subscription_limit_is_an_error_with_a_code(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    from service.graphql_view import MAX_SUBSCRIPTIONS_PER_CONNECTION as LIMIT

    async with feed_socket(live_server, make_token("moviera")) as ws:
        for i in range(LIMIT):
            await send(ws, {"id": str(i), "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        await send(ws, {"id": "over", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        for _ in range(LIMIT * 50):
            message = await receive(ws)
            if message.get("id") == "over":
                break
        (error,) = _errors(message)
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "rule": "SUBSCRIPTION_LIMIT"}


async def test_a_subscription_still_works_over_both_protocols(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    async with feed_socket(live_server, make_token("moviera"), TRANSPORT_WS) as ws:
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        await send(ws, {"id": "1", "type": "complete"})
        await send(ws, {"id": "2", "type": "ping"})
        assert (await receive(ws))["type"] in ("pong", "next")


# --- HTTP edges -------------------------------------------------------------------------------


def _auth(make_token: TokenFactory) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('moviera')}"}


@pytest.mark.parametrize(
    ("content", "content_type", "status", "rule"),
    [
        (b"{not json", "application/json", 400, "INVALID_JSON"),
        (b'"a string"', "application/json", 400, "NOT_AN_OBJECT"),
        (b'[{"query": "{ me { subject } }"}]', "application/json", 400, "BATCH"),
        (b'{"query": "{ me { subject } }"}', "text/plain", 415, "UNSUPPORTED_CONTENT_TYPE"),
        (b'{"query": "{ me { subject } }", "variables": "x"}', "application/json", 400,
         "INVALID_PARAMETER"),
        (b'{"query": "{ me { subject } }", "variables": [1]}', "application/json", 400,
         "INVALID_PARAMETER"),
        (b"{}", "application/json", 400, "QUERY_MISSING"),
        (b'{"query": "query A { me { subject } } query B { me { subject } }"}',
         "application/json", 400, "OPERATION_NAME_REQUIRED"),
    ],
    ids=["bad-json", "not-object", "batch", "content-type", "variables-string",
         "variables-list", "no-query", "two-operations"],
)  # fmt: skip
async def test_malformed_http_requests_get_a_json_error_with_a_code(
    http: httpx.AsyncClient,
    make_token: TokenFactory,
    content: bytes,
    content_type: str,
    status: int,
    rule: str,
) -> None:
    response = await http.post(
        "/graphql", content=content, headers={**_auth(make_token), "Content-Type": content_type}
    )
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "rule": rule}


async def test_a_mutation_over_get_is_405_with_a_code(
    http: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    response = await http.get(
        "/graphql",
        params={"query": "mutation { withdrawConsent(input: {}) { __typename } }"},
        headers=_auth(make_token),
    )
    assert response.status_code == 405
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "rule": "OPERATION_NOT_ALLOWED"}


async def test_graphql_response_json_is_served_with_400_for_request_errors(
    http: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    headers = {**_auth(make_token), "Accept": "application/graphql-response+json"}
    ok = await http.post("/graphql", json={"query": "{ me { subject } }"}, headers=headers)
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("application/graphql-response+json")
    invalid = await http.post("/graphql", json={"query": "{ nope }"}, headers=headers)
    assert invalid.status_code == 400
    assert "data" not in invalid.json()
    assert codes(invalid.json()) == ["BAD_USER_INPUT"]


async def test_two_operations_run_the_one_named(as_org: Any) -> None:
    client = as_org("moviera")
    response = await client.http.post(
        "/graphql",
        json={
            "query": "query A { me { subject } } query B { me { roles } }",
            "operationName": "B",
        },
        headers={"Authorization": f"Bearer {client.token}"},
    )
    assert list(response.json()["data"]["me"]) == ["roles"]


@pytest.mark.parametrize(
    ("copies", "rule"),
    [(100, "REPEATED_FIELD_LIMIT"), (290, "FIELD_LIMIT")],
)
async def test_copies_of_a_list_field_are_refused_before_validation_on_every_transport(
    as_org: Any, live_server: LiveServer, make_token: TokenFactory, copies: int, rule: str
) -> None:
    selection = " ".join(["returnCases { edges { node { id } } }"] * copies)
    body = await as_org("moviera").execute("{ " + selection + " }")
    assert [e["extensions"].get("rule") for e in body["errors"]] == [rule]
    subscription = "subscription { " + " ".join(["caseEvents { cursor }"] * copies) + " }"
    answer = await _transport_ws(live_server, make_token("moviera"), {"query": subscription})
    # Two fields a copy: within the field limit, never within the repetition limit.
    assert [e["extensions"]["rule"] for e in _errors(answer)] == ["REPEATED_FIELD_LIMIT"]
