"""Queries of work to do: follow-ups due, my cases, my work list.

Every answer is computed on request from the cases' events, the shelter's policy and today's
date (the service's clock), so it changes as facts are recorded and as time passes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Annotated

import strawberry

from service.db import tenant_transaction
from service.domain import work
from service.events.projections import return_cases
from service.schema.context import Info
from service.schema.types import ReturnCase
from service.work import repository


@strawberry.type(description="A follow-up contact after return that is still to be made.")
class FollowUpDue:
    case: ReturnCase = strawberry.field(description="The case the contact belongs to.")
    months_after_departure: int = strawberry.field(
        description="Which contact of the shelter's schedule: months after departure."
    )
    due_on: dt.date = strawberry.field(description="The day the contact falls due.")
    overdue: bool = strawberry.field(description="True when the due day has passed.")


@strawberry.type(
    description="One open piece of work on a case, derived from the recorded facts and the "
    "shelter's rules; it disappears by itself once the facts settle it."
)
class WorkItem:
    code: str = strawberry.field(
        description="Stable code of the kind of work: READINESS_<code of a missing readiness "
        "item>, REINTEGRATION_PLAN_OVERDUE, FOLLOW_UP_DUE, REFERRAL_AWAITING_ANSWER, "
        "ESCALATION_PENDING."
    )
    case: ReturnCase = strawberry.field(description="The case the work belongs to.")
    sentence: str = strawberry.field(
        description="What is to be done, in plain English, without personal data."
    )
    due_on: dt.date | None = strawberry.field(
        description="The day by which it should be done; null when no rule sets one."
    )
    overdue: bool = strawberry.field(description="True when the due day has passed.")


def _today(info: Info) -> dt.date:
    return info.context.deps.clock().date()


async def follow_ups_due(
    info: Info,
    before: Annotated[
        dt.date,
        strawberry.argument(description="List contacts falling due before this day."),
    ],
) -> list[FollowUpDue]:
    principal = info.context.principal
    principal.require_case_access()
    deps = info.context.deps
    today = _today(info)
    async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
        policy = replace(await repository.policy(conn), readiness=deps.readiness_policy)
        cases = await repository.with_states(
            conn, deps.store, await return_cases.list_departed_open(conn), deps.state_cache
        )
    due = [
        FollowUpDue(
            case=ReturnCase.from_row(case.row),
            months_after_departure=contact.months_after_departure,
            due_on=contact.due_on,
            overdue=contact.due_on < today,
        )
        for case in cases
        for contact in work.follow_ups_due(case.state, policy, before)
    ]
    return sorted(due, key=lambda d: (d.due_on, d.case.id))


async def my_cases(info: Info) -> list[ReturnCase]:
    principal = info.context.principal
    principal.require_case_access()
    async with tenant_transaction(info.context.deps.engine, principal.tenant_id) as conn:
        rows = await return_cases.list_assigned_open(conn, principal.subject)
    return [ReturnCase.from_row(row) for row in rows]


async def my_work(info: Info) -> list[WorkItem]:
    principal = info.context.principal
    principal.require_case_access()
    deps = info.context.deps
    today = _today(info)
    async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
        policy = replace(await repository.policy(conn), readiness=deps.readiness_policy)
        cases = await repository.with_states(
            conn,
            deps.store,
            await return_cases.list_assigned_open(conn, principal.subject),
            deps.state_cache,
        )
    items: list[tuple[work.WorkItem, ReturnCase]] = []
    for case in cases:
        served = ReturnCase.from_row(case.row)
        items.extend((item, served) for item in work.work_items(case.state, policy, today))
    items.sort(key=lambda pair: (pair[0].due_on is None, pair[0].due_on or today, pair[0].code))
    return [
        WorkItem(
            code=item.code,
            case=served,
            sentence=item.sentence,
            due_on=item.due_on,
            overdue=item.overdue(today),
        )
        for item, served in items
    ]
