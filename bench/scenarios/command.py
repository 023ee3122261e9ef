"""Scenario 2: full GraphQL mutations over HTTP, 8 concurrent clients.

Each client is a case worker of one shelter (its own token and keep-alive connection) who
walks cases through the whole method, one mutation per step, each with the version the
previous answer returned and an idempotency key, as a frontend does: open (with the client's
name and date of birth, so the personal part is sealed with a new per-client key), risk,
return conversation, consent to share with a partner organisation of the social map for
reintegration support, IOM reintegration support, a reintegration plan with that partner,
travel document, arrival arrangement, planned departure, the assisted departure (which the
readiness rules allow by then), follow-up, closing; then the next case. Every mutation is the whole
path: token verification, GraphQL, the handler (read stream, fold, decide), append, inline
projections, receipt, NOTIFY, and the report projection the NOTIFY wakes in the service.

The floor (``raw_floor``): the statements a command runs, as raw asyncpg on 8 connections
of the service role, one transaction per command: ``BEGIN``, ``set_config(app.tenant_id)``,
read the stream, insert the event (the store's statement: version check, insert, NOTIFY),
upsert the ``return_cases`` row, insert the ``case_timeline`` row, insert the receipt,
``COMMIT``. The events are decided by the pure domain and the read-model rows folded before
timing (JSON is encoded per command, as a handler must); no GraphQL, no token, no fold, no
sealing. Floor and mutations alternate (floor, mutations, floor), so both see the same machine.

Judged: mutations/s / floor commands/s, target >= 0.4. Also reported: the ratio to scenario 1's
raw INSERT rate, and the service process's CPU time per mutation over the timed window (from
``/proc``), which moves less from run to run than the ratio. ``bench/compare.py`` runs the same
walk against two checkouts side by side.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bench.common import (
    Budget,
    MemorySampler,
    Result,
    latency_summary,
    log,
    proc_cpu_seconds,
    run_workers,
)
from bench.database import BenchDatabase
from bench.http import GraphQL
from bench.scenarios.append import _stream
from bench.scenarios.read import shelters
from bench.server import Process
from service.domain import return_case as rc
from service.events.projections import return_cases, timeline
from service.events.store import COLUMNS as EVENT_COLUMNS
from service.events.types import EventRegistry, Metadata, RecordedEvent
from service.schema.ids import to_global_id

CLIENTS = 8
FIELDS = "version case { id version phase }"


def _mutation(name: str) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return f"mutation Run($input: {input_type}!) {{ {name}(input: $input) {{ {FIELDS} }} }}"


def _steps(partner: str) -> list[tuple[str, Callable[[int], dict[str, Any]]]]:
    """(mutation, input fields for the n-th case) for one case from intake to closing."""
    return [
        (
            "openReturnCase",
            lambda n: {
                "intakeDate": "2025-03-03",
                "pseudonym": f"B-{n}",
                "gender": "FEMALE",
                "birthYear": 1996,
                "nationality": "NG",
                "countryOfOrigin": "NG",
                "languages": ["en", "yo"],
                "exploitationForms": ["SEXUAL_EXPLOITATION"],
                "fullName": f"Bench Client {n}",
                "dateOfBirth": "1996-05-17",
            },
        ),
        (
            "assessRisk",
            lambda n: {
                "assessedOn": "2025-03-05",
                "level": "MEDIUM",
                "factors": ["DEBTS", "STIGMA"],
            },
        ),
        ("recordReturnConversation", lambda n: {"heldOn": "2025-03-10", "wish": "WANTS_TO_RETURN"}),
        (
            "giveConsent",
            lambda n: {
                "organisationId": partner,
                "purpose": "REINTEGRATION_SUPPORT",
                "givenOn": "2025-03-12",
                "transferRisksExplained": True,
            },
        ),
        (
            "arrangeReturnSupport",
            lambda n: {"kind": "IOM_REINTEGRATION", "arrangedOn": "2025-03-20"},
        ),
        (
            "agreeReintegrationPlan",
            lambda n: {
                "agreedOn": "2025-03-25",
                "partnerOrganisationId": partner,
                "goals": [
                    {
                        "domain": "INCOME_AND_WORK",
                        "responsibleOrganisationId": partner,
                        "budget": 1500,
                        "targetDate": "2025-10-31",
                        "description": "Start a tailoring business.",
                    }
                ],
            },
        ),
        (
            "recordTravelDocument",
            lambda n: {
                "status": "OWN_VALID",
                "recordedOn": "2025-03-26",
                "originalIdentityDocument": False,
            },
        ),
        (
            "recordArrivalArrangement",
            lambda n: {
                "arrangedOn": "2025-03-27",
                "destinationCountry": "NG",
                "destinationPlace": "Benin City",
                "receiver": "FAMILY",
            },
        ),
        (
            "planDeparture",
            lambda n: {"plannedOn": "2025-04-15", "destinationCountry": "NG", "mode": "ASSISTED"},
        ),
        (
            "recordDeparture",
            lambda n: {"departedOn": "2025-04-15", "mode": "ASSISTED", "destinationCountry": "NG"},
        ),
        (
            "recordFollowUp",
            lambda n: {
                "contactedOn": "2025-07-16",
                "reached": True,
                "situation": "STABLE",
                "reachedParties": ["PARTNER_ORGANISATION"],
            },
        ),
        ("closeReturnCase", lambda n: {"reason": "RETURNED", "closedOn": "2025-08-01"}),
    ]


FLOOR_STEPS = 12  # commands per case, as the mutations' walk
FLOOR_READ = f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY version"
FLOOR_INSERT = """
    WITH stream AS (
        SELECT coalesce(max(version), 0) AS version FROM events WHERE stream_id = $2
    ), inserted AS (
        INSERT INTO events (tenant_id, stream_id, stream_type, version, event_type,
                            schema_version, payload, personal, metadata, occurred_at)
        SELECT $1, $2, 'ReturnCase', $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, $9
        FROM stream WHERE stream.version = $3 - 1
        ON CONFLICT (tenant_id, stream_id, version) DO NOTHING
        RETURNING global_position, recorded_at, transaction_id::text::bigint AS transaction_id
    )
    SELECT global_position, recorded_at, transaction_id,
           pg_notify('safe_future_events', CAST($1 AS text))
    FROM inserted
"""
_JSON_COLUMNS = {"referrals", "consents", "personal"}
FLOOR_UPSERT = (
    f"INSERT INTO return_cases ({', '.join(return_cases.COLUMNS)}) VALUES ("
    + ", ".join(
        f"${i}::jsonb" if c in _JSON_COLUMNS else f"${i}"
        for i, c in enumerate(return_cases.COLUMNS, start=1)
    )
    + ") ON CONFLICT (tenant_id, case_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in return_cases.COLUMNS[2:] if c != "opened_at")
)
FLOOR_TIMELINE = (
    f"INSERT INTO case_timeline ({', '.join(timeline.COLUMNS)}) VALUES ("
    + ", ".join(f"${i}" for i in range(1, len(timeline.COLUMNS) + 1))
    + ")"
)
FLOOR_RECEIPT = (
    "INSERT INTO command_receipts (tenant_id, idempotency_key, stream_id, command_type, "
    "fingerprint, result_version) VALUES ($1, $2, $3, $4, $5, $6)"
)


@dataclasses.dataclass(frozen=True)
class _Step:
    event_type: str
    schema_version: int
    payload: dict[str, Any]
    personal: dict[str, Any] | None
    row: dict[str, Any]  # the return_cases row after this event (template case)
    entry: dict[str, Any]  # the case_timeline row of this event (template case)


def _template(meta: Metadata) -> list[_Step]:
    """One case's commands, decided and folded once (outside the timing)."""
    registry = EventRegistry(rc.EVENT_TYPES)
    case_id, tenant = uuid.uuid4(), uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    recorded: list[RecordedEvent] = []
    steps = []
    for version, event in enumerate(_stream(case_id, FLOOR_STEPS), start=1):
        kind, schema, payload, personal = registry.encode(event)
        recorded.append(
            RecordedEvent(
                version,
                tenant,
                case_id,
                "ReturnCase",
                version,
                kind,
                schema,
                event,
                meta,
                now,
                now,
                version,
            )
        )
        steps.append(
            _Step(
                kind,
                schema,
                payload,
                personal,
                return_cases.case_row(recorded),
                timeline.entry(recorded[-1]),
            )
        )
    return steps


async def raw_floor(bench_db: BenchDatabase, *, seconds: float, max_requests: int) -> Budget:
    """Commands/s of the command path's statements as raw asyncpg (see the module text)."""
    places = await shelters(bench_db)
    meta = Metadata("bench-floor", "bench", "caseworker", "bench", "bench")
    meta_json = json.dumps(meta.to_json())
    steps = _template(meta)
    conns = [await bench_db.app_connect() for _ in range(CLIENTS)]

    async def worker(i: int, budget: Budget) -> None:
        conn = conns[i]
        tenant = places[i % len(places)][1]
        tenant_text = str(tenant)
        while True:
            case_id = uuid.uuid4()
            for version, step in enumerate(steps, start=1):
                if not budget.take():
                    return
                now = dt.datetime.now(dt.UTC)
                started = time.perf_counter()
                row = {**step.row, "tenant_id": tenant, "case_id": case_id}
                values = [
                    json.dumps(row[c]) if c in _JSON_COLUMNS and row[c] is not None else row[c]
                    for c in return_cases.COLUMNS
                ]
                entry = {**step.entry, "tenant_id": tenant, "case_id": case_id}
                async with conn.transaction():
                    await conn.execute(  # an event writer announces itself (migration 0010)
                        "SELECT set_config('app.tenant_id', $1, true), events_writer_begin()",
                        tenant_text,
                    )
                    await conn.fetch(FLOOR_READ, case_id)
                    inserted = await conn.fetchrow(
                        FLOOR_INSERT,
                        tenant,
                        case_id,
                        version,
                        step.event_type,
                        step.schema_version,
                        json.dumps(step.payload),
                        None if step.personal is None else json.dumps(step.personal),
                        meta_json,
                        now,
                    )
                    if inserted is None:
                        raise RuntimeError("floor: version conflict on a stream of its own")
                    await conn.execute(FLOOR_UPSERT, *values)
                    entry["global_position"] = inserted[0]
                    entry["recorded_at"] = inserted[1]
                    await conn.execute(FLOOR_TIMELINE, *(entry[c] for c in timeline.COLUMNS))
                    await conn.execute(
                        FLOOR_RECEIPT,
                        tenant,
                        uuid.uuid4().hex,
                        case_id,
                        step.event_type,
                        "0" * 64,
                        version,
                    )
                budget.record(time.perf_counter() - started)

    try:
        await run_workers(CLIENTS, worker, Budget(CLIENTS * 12, 1.0))  # warm-up
        return await run_workers(CLIENTS, worker, Budget(max_requests, seconds))
    finally:
        for conn in conns:
            await conn.close()


async def _partner(bench_db: BenchDatabase) -> str:
    conn = await bench_db.owner_connect()
    try:
        org = await conn.fetchval(
            "SELECT id FROM organisations WHERE country = 'NG' AND retired_at IS NULL "
            "ORDER BY id LIMIT 1"
        )
    finally:
        await conn.close()
    return to_global_id("Organisation", org)


@dataclasses.dataclass(frozen=True)
class CaseWalk:
    """Case workers walking cases through the whole method, one mutation per step (see the
    module text); one shelter, token and keep-alive connection per worker."""

    places: list[tuple[str, uuid.UUID]]
    tokens: dict[str, str]
    steps: list[tuple[str, Callable[[int], dict[str, Any]]]]
    mutations: dict[str, str]

    @classmethod
    async def prepare(cls, bench_db: BenchDatabase) -> CaseWalk:
        places = await shelters(bench_db)
        steps = _steps(await _partner(bench_db))
        return cls(
            places,
            {slug: bench_db.token(slug) for slug, _ in places},
            steps,
            {name: _mutation(name) for name, _ in steps},
        )

    def worker(
        self,
        port: int,
        on_step: Callable[[str, float], None] = lambda _name, _took: None,
        on_case: Callable[[], None] = lambda: None,
    ) -> Callable[[int, Budget], Awaitable[None]]:
        """A closed-loop worker against the service on ``port``, for ``run_workers``."""

        async def worker(i: int, budget: Budget) -> None:
            slug, _ = self.places[i % len(self.places)]
            client = GraphQL(port, self.tokens[slug])
            n = 0
            try:
                while True:
                    n += 1
                    case_id: str | None = None
                    version = 0
                    for name, fields in self.steps:
                        if not budget.take():
                            return
                        data = {**fields(n), "idempotencyKey": uuid.uuid4().hex}
                        if case_id is not None:
                            data |= {"caseId": case_id, "expectedVersion": version}
                        started = time.perf_counter()
                        status, body = await client.raw(self.mutations[name], {"input": data})
                        took = time.perf_counter() - started
                        if status != 200 or b'"errors"' in body:
                            budget.fail(f"{name}: HTTP {status} {body[:300]!r}")
                            break  # this case is stuck; start the next one
                        budget.record(took)
                        on_step(name, took)
                        payload = json.loads(body)["data"][name]
                        case_id, version = payload["case"]["id"], payload["version"]
                    else:
                        on_case()
            finally:
                client.close()

        return worker


async def run(
    bench_db: BenchDatabase,
    service: Process,
    *,
    seconds: float,
    max_requests: int,
) -> tuple[list[Result], dict[str, int]]:
    walk = await CaseWalk.prepare(bench_db)
    by_step: dict[str, list[float]] = {name: [] for name, _ in walk.steps}
    cases_done = [0]

    def finished() -> None:
        cases_done[0] += 1

    worker = walk.worker(service.port, lambda name, took: by_step[name].append(took), finished)
    warm = Budget(CLIENTS * 24, 3.0)  # warm-up: plans, caches, the first data keys
    await run_workers(CLIENTS, worker, warm)
    floors = [await raw_floor(bench_db, seconds=seconds / 2, max_requests=max_requests // 2)]
    service.profile_on()
    cpu_before = proc_cpu_seconds(service.pid)
    with MemorySampler(service.pid) as sampler:
        budget = await run_workers(CLIENTS, worker, Budget(max_requests, seconds))
    cpu = proc_cpu_seconds(service.pid) - cpu_before
    service.profile_off()
    floors.append(await raw_floor(bench_db, seconds=seconds / 2, max_requests=max_requests // 2))
    rate = budget.rate
    floor_rate = sum(f.completed for f in floors) / sum(f.elapsed for f in floors)
    ratio = rate / floor_rate if floor_rate else 0.0
    cpu_ms = 1000 * cpu / budget.completed if budget.completed else 0.0
    log(
        f"command: {budget.completed} mutations in {budget.elapsed:.1f} s ({rate:.1f}/s), "
        f"{budget.errors} errors; raw command floor {floor_rate:.1f}/s (ratio {ratio:.2f}); "
        f"service CPU {cpu_ms:.2f} ms per mutation ({cpu / budget.elapsed:.2f} of a core)"
    )
    summary = latency_summary(budget.latencies)
    floor_summary = latency_summary([x for f in floors for x in f.latencies])
    return [
        Result(
            scenario="2 command",
            measure="GraphQL mutations over HTTP vs the command's statements raw",
            figure=round(rate, 1),
            unit="mutations/s",
            baseline=round(floor_rate, 1),
            baseline_measure="raw asyncpg: read, insert, upsert, timeline, receipt; 1 tx",
            ratio=round(ratio, 4),
            target=">= 0.4",
            met=ratio >= 0.4,
            details={
                "floor": {
                    **floor_summary,
                    "errors": sum(f.errors for f in floors),
                    "rates": [round(f.rate, 1) for f in floors],
                },
                "mutations": {**summary, "errors": budget.errors},
                "service_cpu_ms_per_mutation": round(cpu_ms, 3),
                "service_cores": round(cpu / budget.elapsed, 3) if budget.elapsed else 0.0,
            },
        ),
        Result(
            scenario="2 command",
            measure="GraphQL mutations over HTTP (auth, decide, append, projections)",
            figure=round(rate, 1),
            unit="mutations/s",
            baseline=None,  # filled in from scenario 1's raw INSERT rate
            baseline_measure="raw asyncpg INSERTs/s (scenario 1)",
            target="reported (ratio to raw INSERTs)",
            parameters={
                "clients": CLIENTS,
                "seconds": seconds,
                "max_requests": max_requests,
                "steps_per_case": len(walk.steps),
            },
            details={
                **summary,
                "errors": budget.errors,
                "first_error": budget.first_error,
                "cases_completed": cases_done[0],
                "p50_ms_by_mutation": {
                    k: latency_summary(v)["p50_ms"] for k, v in by_step.items() if v
                },
                "server_peak_rss_mib": round(sampler.peak_rss / (1024 * 1024), 1),
            },
        ),
    ], {"peak_rss": sampler.peak_rss}
