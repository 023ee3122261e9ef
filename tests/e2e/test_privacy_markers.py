"""No echo of personal data, on any transport.

A marker value is sent through every input field of every mutation, in every invalid shape a
client can produce (wrong type, object or list where a scalar belongs, unknown field with a
suggestion, too long, a bad date, as a variable and as a literal), over HTTP; through the
subscription's arguments over both WebSocket protocols; in a WebSocket URL's query string and
in connection parameters; and at the OAuth endpoint. Neither any response nor the log (as the
server writes it, at INFO) may contain it.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import websockets
from graphql import GraphQLInputObjectType, get_named_type

from service.observability import configure_logging
from service.schema import build_schema
from tests.conftest import TokenFactory
from tests.e2e.conftest import LiveServer
from tests.e2e.test_feed_ws_auth import LEGACY_WS, TRANSPORT_WS, feed_socket, receive, send

MARKER = "Quorvexmarker"
SCHEMA = build_schema()._schema


def shapes() -> list[Any]:
    return [
        f"{MARKER} Pelloquin",
        {"fullName": f"{MARKER} Pelloquin", "notes": MARKER},
        [f"{MARKER}"],
        f"{MARKER} " * 400,
        f"2026-13-45 {MARKER}",
        12345.5,  # numbers are not personal, but must not break the shape either
    ]


def _literal(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return json.dumps(value)


def mutation_requests() -> Iterator[tuple[str, dict[str, Any] | None]]:
    """(document, variables) for every input field of every mutation, every shape."""
    mutation_type = SCHEMA.mutation_type
    assert mutation_type is not None
    for name, field in mutation_type.fields.items():
        arg = field.args.get("input")
        assert arg is not None, name
        input_type = get_named_type(arg.type)
        assert isinstance(input_type, GraphQLInputObjectType)
        declared = str(arg.type)
        document = f"mutation($input: {declared}) {{ {name}(input: $input) {{ __typename }} }}"
        for field_name in input_type.fields:
            for value in shapes():
                yield document, {"input": {field_name: value}}
                literal = _literal({field_name: value})
                yield f"mutation {{ {name}(input: {literal}) {{ __typename }} }}", None
            # An unknown field close to a real one: "Did you mean ...?"
            misspelt = {field_name + "x": f"{MARKER} Pelloquin"}
            yield document, {"input": misspelt}
            yield f"mutation {{ {name}(input: {_literal(misspelt)}) {{ __typename }} }}", None


@contextmanager
def server_log() -> Iterator[io.StringIO]:
    """The log as the server writes it (JSON lines at INFO, uvicorn's own included)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    uvicorn_levels = {n: logging.getLogger(n).level for n in ("uvicorn", "uvicorn.error")}
    stream = io.StringIO()
    handler = configure_logging(logging.INFO, stream)
    for name in uvicorn_levels:
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for name, old in uvicorn_levels.items():
            logging.getLogger(name).setLevel(old)
        handler.close()


async def test_no_marker_is_echoed_on_any_transport_or_logged(
    http: httpx.AsyncClient, live_server: LiveServer, make_token: TokenFactory
) -> None:
    token = make_token("moviera")
    headers = {"Authorization": f"Bearer {token}"}
    answers: list[str] = []
    with server_log() as log:
        sent = 0
        for document, variables in mutation_requests():
            response = await http.post(
                "/graphql", json={"query": document, "variables": variables}, headers=headers
            )
            answers.append(response.text)
            sent += 1
        # The subscription's arguments over both protocols, as variables and as literals.
        for protocol in (TRANSPORT_WS, LEGACY_WS):
            async with feed_socket(live_server, token, protocol) as ws:
                kind = "subscribe" if protocol == TRANSPORT_WS else "start"
                for i, value in enumerate(shapes()):
                    for argument, declared in (
                        ("after", "String"), ("caseId", "ID"), ("eventTypes", "[String!]"),
                        ("caseld", "String"),
                    ):  # fmt: skip
                        literal = _literal(value)
                        queries = [
                            (f"query: subscription($v: {declared}) {{ caseEvents("
                             f"{argument}: $v) {{ cursor }} }}", {"v": value}),
                            (f"subscription {{ caseEvents({argument}: {literal}) {{ cursor }} }}",
                             None),
                        ]  # fmt: skip
                        for j, (query, variables) in enumerate(queries):
                            payload = {
                                "query": query.removeprefix("query: "),
                                "variables": variables,
                            }
                            op_id = f"{i}-{argument}-{j}"
                            await send(ws, {"id": op_id, "type": kind, "payload": payload})
                            answers.append(json.dumps(await _answer(ws, op_id)))
                # A mutation over the socket: refused before its values are looked at.
                document, variables = next(mutation_requests())
                payload = {"query": document, "variables": variables}
                await send(ws, {"id": "m", "type": kind, "payload": payload})
                answers.append(json.dumps(await _answer(ws, "m")))
        # The token in the URL is refused (4401 without a token in connection_init); the query
        # string must not reach the log.
        url = f"{live_server.ws_url}?token={MARKER}&name={MARKER}"
        async with websockets.connect(url, subprotocols=[TRANSPORT_WS]) as ws:
            await send(ws, {"type": "connection_init", "payload": {"name": MARKER}})
            with pytest.raises(websockets.ConnectionClosed) as closed:
                answers.append(str(await ws.recv()))
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401
        answers.append(closed.value.rcvd.reason)
        oauth = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": MARKER, "client_secret": MARKER,
                  "scope": MARKER},
        )  # fmt: skip
        answers.append(oauth.text)
        repeated = await http.post(
            "/oauth/token",
            content=f"{MARKER}=1&{MARKER}=2".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        answers.append(repeated.text)
    logged = log.getvalue()
    assert sent > 500
    assert '"status"' in logged  # the access log was captured
    assert "WebSocket /graphql" in logged  # and the server's handshake lines
    # The shapes were refused for the reasons they were built for.
    for reason in ("Did you mean", "cannot represent", "not repeated", "OPERATION_NOT_ALLOWED"):
        assert any(reason in a for a in answers), reason
    echoed = [a for a in answers if MARKER in a]
    assert not echoed, echoed[:3]
    assert MARKER not in logged, [line for line in logged.splitlines() if MARKER in line][:3]


async def _answer(ws: Any, op_id: str) -> dict[str, Any]:
    """The message that ends operation ``op_id`` (others' messages are skipped)."""
    for _ in range(200):
        message = await receive(ws)
        if message.get("id") != op_id:
            continue
        if message["type"] in ("next", "data") and "errors" not in message.get("payload", {}):
            continue
        return message
    raise AssertionError("no answer")
