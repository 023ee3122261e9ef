"""GraphQL over HTTP conformance: the graphql-http audit, run against the real server.

The audit is the npm package ``graphql-http`` (``auditServer``), pinned in
``tests/conformance/package-lock.json`` and installed by ``make test`` (``npm ci``). It sends
its 61 requests to the app served by uvicorn on loopback, with a caseworker's bearer token.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

from tests.conftest import TokenFactory
from tests.e2e.conftest import LiveServer

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"


async def test_the_graphql_http_audit_passes_all_61_checks(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    node = shutil.which("node")
    assert node is not None, "Node.js is needed for the conformance audit"
    assert (CONFORMANCE / "node_modules" / "graphql-http").is_dir(), (
        "run `npm ci` in tests/conformance (make test does)"
    )
    process = await asyncio.create_subprocess_exec(
        node,
        str(CONFORMANCE / "audit.mjs"),
        f"{live_server.http_url}/graphql",
        cwd=CONFORMANCE,
        env={**os.environ, "GRAPHQL_TOKEN": make_token("moviera")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    results = [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]
    not_ok = [r for r in results if r["status"] != "ok"]
    assert not not_ok, json.dumps(not_ok, indent=1)
    assert len(results) == 61
