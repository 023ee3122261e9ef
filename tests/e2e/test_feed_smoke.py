"""A subscriber receives a case's events over graphql-transport-ws, live and from the log."""

from __future__ import annotations

import json
from typing import Any

import websockets

from tests.e2e.conftest import LiveServer
from tests.e2e.test_lifecycle import open_case, step

SUBSCRIBE = """
subscription($after: String, $caseId: ID) {
  caseEvents(after: $after, caseId: $caseId) { cursor caseId version eventType data personal }
}
"""


async def _next(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def test_subscriber_gets_log_then_live_events(
    as_org: Any, live_server: LiveServer, make_token: Any
) -> None:
    client = as_org("moviera")
    case = (await open_case(client))["case"]
    async with websockets.connect(live_server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps(
                {
                    "type": "connection_init",
                    "payload": {"Authorization": f"Bearer {make_token('moviera')}"},
                }
            )
        )
        assert (await _next(ws))["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"caseId": case["id"]}},
                }
            )
        )
        first = await _next(ws)
        assert first["payload"]["data"]["caseEvents"]["eventType"] == "ReturnCaseOpened"
        await step(client, "recordReturnConversation", case, heldOn="2026-01-10", wish="UNDECIDED")
        second = await _next(ws)
        event = second["payload"]["data"]["caseEvents"]
        assert (event["eventType"], event["version"]) == ("ReturnConversationRecorded", 2)
