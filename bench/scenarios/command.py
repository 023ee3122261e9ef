"""Scenario 2: full GraphQL mutations over HTTP, 8 concurrent clients.

Each client is a case worker of one shelter (its own token and keep-alive connection) who
walks cases through the whole method, one mutation per step, each with the version the
previous answer returned and an idempotency key, as a frontend does: open (with the client's
name and date of birth, so the personal part is sealed with a new per-client key), risk,
legal position, return conversation, consent, referral to a partner organisation of the
social map (with personal data shared), return support, reintegration plan, planned
departure, departure, follow-up, closing; then the next case. Every mutation is the whole
path: token verification, GraphQL, the handler (read stream, fold, decide), append, inline
projections, receipt, NOTIFY, and the report projection the NOTIFY wakes in the service.

Reported: mutations/s, p50/p99, and the ratio to scenario 1's raw INSERT rate.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.common import Budget, MemorySampler, Result, latency_summary, log, run_workers
from bench.database import BenchDatabase
from bench.http import GraphQL
from bench.scenarios.read import shelters
from bench.server import Process
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
        (
            "recordLegalPosition",
            lambda n: {
                "recordedOn": "2025-03-06",
                "residenceStatus": "TEMPORARY_VICTIM_PERMIT",
                "proceedingsStage": "INVESTIGATION",
            },
        ),
        ("recordReturnConversation", lambda n: {"heldOn": "2025-03-10", "wish": "WANTS_TO_RETURN"}),
        (
            "giveConsent",
            lambda n: {
                "organisationId": partner,
                "purpose": "REFERRAL",
                "givenOn": "2025-03-12",
                "transferRisksExplained": True,
            },
        ),
        (
            "contactPartnerOrganisation",
            lambda n: {
                "organisationId": partner,
                "purpose": "REFERRAL",
                "contactedOn": "2025-03-13",
                "sharesPersonalData": True,
            },
        ),
        (
            "arrangeReturnSupport",
            lambda n: {"kind": "IOM_REINTEGRATION", "arrangedOn": "2025-03-20"},
        ),
        ("agreeReintegrationPlan", lambda n: {"agreedOn": "2025-03-25"}),
        ("planDeparture", lambda n: {"plannedOn": "2025-04-15", "destinationCountry": "NG"}),
        (
            "recordDeparture",
            lambda n: {"departedOn": "2025-04-15", "mode": "ASSISTED", "destinationCountry": "NG"},
        ),
        (
            "recordFollowUp",
            lambda n: {"contactedOn": "2025-07-16", "reached": True, "situation": "STABLE"},
        ),
        ("closeReturnCase", lambda n: {"reason": "RETURNED", "closedOn": "2025-08-01"}),
    ]


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


async def run(
    bench_db: BenchDatabase,
    service: Process,
    *,
    seconds: float,
    max_requests: int,
) -> tuple[list[Result], dict[str, int]]:
    places = await shelters(bench_db)
    tokens = {slug: bench_db.token(slug) for slug, _ in places}
    steps = _steps(await _partner(bench_db))
    mutations = {name: _mutation(name) for name, _ in steps}
    by_step: dict[str, list[float]] = {name: [] for name, _ in steps}
    cases_done = [0]

    async def worker(i: int, budget: Budget) -> None:
        slug, _ = places[i % len(places)]
        client = GraphQL(service.port, tokens[slug])
        n = 0
        try:
            while True:
                n += 1
                case_id: str | None = None
                version = 0
                for name, fields in steps:
                    if not budget.take():
                        return
                    data = {**fields(n), "idempotencyKey": uuid.uuid4().hex}
                    if case_id is not None:
                        data |= {"caseId": case_id, "expectedVersion": version}
                    started = time.perf_counter()
                    status, body = await client.raw(mutations[name], {"input": data})
                    took = time.perf_counter() - started
                    if status != 200 or b'"errors"' in body:
                        budget.fail(f"{name}: HTTP {status} {body[:300]!r}")
                        break  # this case is stuck; start the next one
                    budget.record(took)
                    by_step[name].append(took)
                    payload = json.loads(body)["data"][name]
                    case_id, version = payload["case"]["id"], payload["version"]
                else:
                    cases_done[0] += 1
        finally:
            client.close()

    warm = Budget(CLIENTS * 24, 3.0)  # warm-up: plans, caches, the first data keys
    await run_workers(CLIENTS, worker, warm)
    service.profile_on()
    with MemorySampler(service.pid) as sampler:
        budget = await run_workers(CLIENTS, worker, Budget(max_requests, seconds))
    service.profile_off()
    rate = budget.rate
    log(
        f"command: {budget.completed} mutations in {budget.elapsed:.1f} s ({rate:.1f}/s), "
        f"{budget.errors} errors"
    )
    summary = latency_summary(budget.latencies)
    return [
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
                "steps_per_case": len(steps),
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
        )
    ], {"peak_rss": sampler.peak_rss}
