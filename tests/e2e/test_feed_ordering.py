"""Transactions commit out of position order; the feed still delivers every event once."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import uuid
from contextlib import AsyncExitStack
from typing import Any

import websockets
from sqlalchemy import text

from service.db import tenant_transaction
from service.domain import return_case as rc
from service.domain import vocabulary as v
from service.events.projections.inline import project_case
from service.events.types import Metadata, RecordedEvent
from service.schema.ids import from_global_id
from tests.e2e.conftest import LiveServer
from tests.e2e.test_lifecycle import open_case

SUBSCRIBE = "subscription { caseEvents { caseId eventType data } }"
META = Metadata(actor="ordering-test", organisation="moviera", role="caseworker",
                request_id="ordering", correlation_id="ordering")  # fmt: skip


def _opened(case_id: uuid.UUID) -> rc.ReturnCaseOpened:
    return rc.ReturnCaseOpened(
        case_id=case_id, intake_date=dt.date(2026, 3, 1), pseudonym="ordering",
        gender=v.Gender.FEMALE, birth_year=1990, nationality="NG", country_of_origin="NG",
        languages=("en",), exploitation_forms=(), full_name=None, date_of_birth=None, notes=None,
    )  # fmt: skip


async def _open_directly(
    deps: Any, conn: Any, tenant_id: uuid.UUID, case_id: uuid.UUID
) -> RecordedEvent:
    """Append a case's opening in ``conn``'s transaction and project it, as a handler would."""
    (recorded,) = await deps.store.append(
        conn, tenant_id=tenant_id, stream_id=case_id, stream_type="ReturnCase",
        expected_version=0, events=[_opened(case_id)], metadata=META,
        occurred_at=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    await project_case(conn, [recorded], [recorded])
    return recorded


async def _receive_until(ws: Any, wanted: set[str], seen: list[str], seconds: float) -> None:
    """Collect ids of opened cases until every wanted id arrived (or time runs out)."""
    async with asyncio.timeout(seconds):
        while not wanted <= set(seen):
            message = json.loads(await ws.recv())
            assert message["type"] == "next", message
            event = message["payload"]["data"]["caseEvents"]
            if event["eventType"] == "ReturnCaseOpened":
                seen.append(event["data"]["case_id"])


async def test_out_of_order_commits_are_delivered_once_each_in_commit_safe_order(
    as_org: Any, live_server: LiveServer, make_token: Any
) -> None:
    client = as_org("moviera")
    deps = live_server.app.state.deps
    tenant_id = deps.tenants["moviera"].id
    seen: list[str] = []
    async with websockets.connect(live_server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps(
                {
                    "type": "connection_init",
                    "payload": {"Authorization": f"Bearer {make_token('moviera')}"},
                }
            )
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
        marker = (await open_case(client))["case"]
        marker_id = str(rc_case_id(marker["id"]))
        await _receive_until(ws, {marker_id}, seen, 20)  # replayed the log, now live

        first, second = uuid.uuid4(), uuid.uuid4()
        async with AsyncExitStack() as stack:
            slow = await stack.enter_async_context(tenant_transaction(deps.engine, tenant_id))
            a = await _open_directly(deps, slow, tenant_id, first)
            async with tenant_transaction(deps.engine, tenant_id) as fast:
                b = await _open_directly(deps, fast, tenant_id, second)
            assert a.global_position < b.global_position  # the lower position commits last

            # The later position is committed, the earlier is not: nothing may jump ahead.
            with contextlib.suppress(TimeoutError):
                await _receive_until(ws, {str(second)}, seen, 0.7)
            assert str(second) not in seen
        # The slow transaction has committed now.
        await _receive_until(ws, {str(first), str(second)}, seen, 10)
        assert seen.index(str(first)) < seen.index(str(second))

        marker2 = (await open_case(client))["case"]
        await _receive_until(ws, {str(rc_case_id(marker2["id"]))}, seen, 10)
    assert seen.count(str(first)) == seen.count(str(second)) == 1


def rc_case_id(global_id: str) -> uuid.UUID:
    return from_global_id("ReturnCase", global_id)


async def test_a_reader_that_checkpoints_on_position_alone_would_skip_the_late_commit(
    as_org: Any, live_server: LiveServer
) -> None:
    """The hazard the feed guards against, shown on the same log."""
    deps = live_server.app.state.deps
    tenant_id = deps.tenants["moviera"].id
    first, second = uuid.uuid4(), uuid.uuid4()
    async with AsyncExitStack() as stack:
        slow = await stack.enter_async_context(tenant_transaction(deps.engine, tenant_id))
        await _open_directly(deps, slow, tenant_id, first)
        async with tenant_transaction(deps.engine, tenant_id) as fast:
            b = await _open_directly(deps, fast, tenant_id, second)
        async with tenant_transaction(deps.engine, tenant_id) as conn:
            naive_checkpoint = await conn.scalar(text("SELECT max(global_position) FROM events"))
        assert naive_checkpoint == b.global_position
    async with tenant_transaction(deps.engine, tenant_id) as conn:
        after_naive = await conn.scalar(
            text("SELECT count(*) FROM events WHERE global_position > :p AND stream_id = :s"),
            {"p": naive_checkpoint, "s": first},
        )
    assert after_naive == 0  # a position checkpoint would never read the first event
