"""Fault: the service is killed with SIGKILL during a write load, then started again.

Several clients step their own cases through one ``safe-future serve`` process; once enough
commands are acknowledged, the process gets SIGKILL (no shutdown of any kind) while requests
are in flight. A new process is started on the same data folder and database. Then:

* every mutation acknowledged before the kill is in the log at its version, with its
  idempotency key, exactly once, and in the read models (database and API of the new process);
* nothing is half-applied, for every return case in the database: stream versions 1..n,
  read-model version n, n timeline entries matching the events;
* each command that was in flight at the kill, sent again with its idempotency key to the new
  process, takes effect exactly once (replayed when its commit had reached the database).

The scenario runs once per module (``kill_run``); each test checks one promise.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.config import Settings
from tests.conftest import Database, TokenFactory
from tests.e2e.faults_support import (
    Ack,
    CaseFacts,
    Outcome,
    Writer,
    ack_problems,
    case_uuid,
    consistency_problems,
    log_facts,
    read_case,
    serve,
)

TENANT = "jade-zorggroep"
WRITERS = 6
KILL_AFTER_ACKS = 45  # openings included
MAX_STEPS = 400  # per writer: far more than the load reaches before the kill

log = logging.getLogger(__name__)


@dataclass
class KillRun:
    writers: list[Writer]
    returncode: int | None
    acks_before_kill: list[Ack]
    stopped_by_kill: dict[str, bool]
    facts_after_restart: dict[Any, CaseFacts]
    api_views: dict[str, Any]
    retried: dict[str, bool] = field(default_factory=dict)  # writer -> acknowledged now
    facts_after_retries: dict[Any, CaseFacts] = field(default_factory=dict)

    @property
    def outcomes(self) -> list[Outcome]:
        return [o for w in self.writers for o in w.outcomes]


@pytest.fixture(scope="module")
async def kill_run(
    settings: Settings,
    database: Database,
    make_token: TokenFactory,
    admin_engine: AsyncEngine,
    tmp_path_factory: pytest.TempPathFactory,
) -> KillRun:
    logs: Path = tmp_path_factory.mktemp("kill")
    token = make_token(TENANT)
    enough = asyncio.Event()
    writers: list[Writer] = []

    def count() -> None:
        if sum(len(w.acks) for w in writers) >= KILL_AFTER_ACKS:
            enough.set()

    async with (
        serve(settings, database, logs / "first.log") as first,
        httpx.AsyncClient(base_url=first.http_url) as http,
    ):
        writers += [
            Writer(http, token, f"k{i}", stop_on_transport_error=True, on_ack=count)
            for i in range(WRITERS)
        ]
        load = [asyncio.create_task(w.run(MAX_STEPS)) for w in writers]
        try:
            async with asyncio.timeout(30):
                await enough.wait()
            first.proc.send_signal(signal.SIGKILL)
            returncode = await first.wait_exit(10)
            async with asyncio.timeout(20):
                await asyncio.gather(*load)
        finally:
            for task in load:
                task.cancel()
    acks = [a for w in writers for a in w.acks]
    stopped = {w.name: w.stopped for w in writers}

    async with (
        serve(settings, database, logs / "second.log") as second,
        httpx.AsyncClient(base_url=second.http_url) as http,
    ):
        facts = await log_facts(admin_engine)
        views: dict[str, Any] = {}
        for writer in writers:
            if writer.case_id is None:
                continue
            views[writer.case_id], _ = await read_case(http, token, writer.case_id)
        run = KillRun(writers, returncode, acks, stopped, facts, views)
        committed_before_kill = {
            w.name: w.pending is not None
            and any(
                key == w.pending.variables["input"]["idempotencyKey"]
                for f in facts.values()
                for _, _, key in f.events
            )
            for w in writers
        }
        for writer in writers:
            writer.http = http
            run.retried[writer.name] = await writer.retry_pending()
        run.facts_after_retries = await log_facts(admin_engine)

    in_flight = [o for o in run.outcomes if o.status is None]
    log.warning(
        "kill: exit %s after %d acks; %d requests got no answer %s; in-flight command "
        "committed before the kill %s; acknowledged when resent %s",
        returncode,
        len(acks),
        len(in_flight),
        sorted({str(o.transport_error) for o in in_flight}),
        committed_before_kill,
        run.retried,
    )
    return run


async def test_the_process_was_killed_mid_load(kill_run: KillRun) -> None:
    assert kill_run.returncode == -signal.SIGKILL
    assert len(kill_run.acks_before_kill) >= KILL_AFTER_ACKS
    assert all(kill_run.stopped_by_kill.values()), "every writer lost the server"
    before_kill = [o for o in kill_run.outcomes if o.status is not None and not o.ok]
    assert not before_kill, "no request failed while the server ran"


async def test_every_acknowledged_mutation_survives_the_kill(kill_run: KillRun) -> None:
    facts = kill_run.facts_after_restart
    assert not ack_problems(kill_run.acks_before_kill, facts)
    for case_id, view in kill_run.api_views.items():
        events = facts[case_uuid(case_id)].events
        assert view["version"] == len(events)
        timeline = [(t["version"], t["eventType"]) for t in view["timeline"]]
        assert timeline == [(v, t) for v, t, _ in events]


async def test_nothing_is_half_applied(kill_run: KillRun) -> None:
    problems = consistency_problems(kill_run.facts_after_restart)
    assert not problems, "\n".join(problems[:20])


async def test_in_flight_commands_resent_with_their_keys_apply_once(kill_run: KillRun) -> None:
    assert all(kill_run.retried.values()), kill_run.retried
    acks = [a for w in kill_run.writers for a in w.acks]
    facts = kill_run.facts_after_retries
    assert not ack_problems(acks, facts)
    assert not consistency_problems(facts)
