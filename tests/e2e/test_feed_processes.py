"""Stateless instances: an event written through one process reaches a subscriber on another."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from service.auth import load_signing_key
from service.config import Settings
from tests.conftest import APP_PASSWORD, Database
from tests.e2e.conftest import GraphQLClient
from tests.e2e.test_lifecycle import open_case, step

SUBSCRIBE = """
subscription($caseId: ID) { caseEvents(caseId: $caseId) { version eventType } }
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def two_processes(
    settings: Settings, database: Database, tmp_path: Path
) -> AsyncIterator[list[str]]:
    load_signing_key(settings)  # both processes must share the service key
    procs: list[asyncio.subprocess.Process] = []
    urls: list[str] = []
    logs = [(tmp_path / f"process-{i}.log").open("w") for i in range(2)]
    for log in logs:
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database.admin_url.render_as_string(hide_password=False),
            "SAFE_FUTURE_APP_DB_PASSWORD": APP_PASSWORD,
            "SAFE_FUTURE_DATA_DIR": str(settings.data_dir),
            "SAFE_FUTURE_PORT": str(port),
        }
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "service.cli", "serve", env=env, stdout=log, stderr=log
            )
        )
        urls.append(f"127.0.0.1:{port}")
    try:
        async with httpx.AsyncClient() as http:
            for url in urls:
                for _ in range(300):
                    try:
                        if (await http.get(f"http://{url}/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
                else:
                    raise RuntimeError(f"process at {url} did not start")
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            await asyncio.wait_for(proc.wait(), 20)
        for log in logs:
            log.close()


async def test_event_written_through_one_process_reaches_subscriber_on_another(
    two_processes: list[str], make_token: Any
) -> None:
    writer_url, reader_url = two_processes
    token = make_token("moviera")
    async with httpx.AsyncClient(base_url=f"http://{writer_url}") as http:
        writer = GraphQLClient(http, token)
        case = (await open_case(writer))["case"]
        async with websockets.connect(
            f"ws://{reader_url}/graphql", subprotocols=["graphql-transport-ws"]
        ) as ws:
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            await ws.send(json.dumps(init))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": SUBSCRIBE, "variables": {"caseId": case["id"]}}}))  # fmt: skip
            received: list[tuple[int, str]] = []
            async with asyncio.timeout(15):
                first = json.loads(await ws.recv())["payload"]["data"]["caseEvents"]
                received.append((first["version"], first["eventType"]))
                await step(writer, "recordReturnConversation", case, heldOn="2026-01-10",
                           wish="UNDECIDED")  # fmt: skip
                live = json.loads(await ws.recv())["payload"]["data"]["caseEvents"]
                received.append((live["version"], live["eventType"]))
    assert received == [(1, "ReturnCaseOpened"), (2, "ReturnConversationRecorded")]
