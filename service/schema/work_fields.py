"""The follow-up schedule of one case (used by ``service.schema.types``).

A DataLoader folds the events of every case a response shows in one statement (cases whose
state at that version is cached need none), and reads the shelter's policy once: a list of
cases costs the same statements whatever its length.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import replace

import strawberry
from strawberry.dataloader import DataLoader

from service.db import tenant_transaction
from service.domain import work
from service.schema.context import Info
from service.work import repository

_LOADER = "follow_up_schedule"


@strawberry.type(description="A follow-up contact the shelter's schedule sets after departure.")
class ScheduledFollowUp:
    months_after_departure: int = strawberry.field(
        description="Which contact of the schedule: months after departure."
    )
    due_on: dt.date = strawberry.field(description="The day the contact falls due.")
    window_opens_on: dt.date = strawberry.field(
        description="From this day on, a contact that reaches someone completes it."
    )
    done_on: dt.date | None = strawberry.field(
        description="The day of the contact that completed it; null while it is still to do."
    )
    done_on_time: bool = strawberry.field(
        description="Completed no later than the shelter's window after the due day."
    )
    overdue: bool = strawberry.field(
        description="Still to do and the due day has passed (by the service's clock)."
    )


def _loader(info: Info) -> DataLoader[tuple[uuid.UUID, int], list[work.ScheduledContact]]:
    ctx = info.context
    loader = ctx.loaders.get(_LOADER)
    if loader is None:
        principal, deps = ctx.principal, ctx.deps

        async def load(
            cases: Sequence[tuple[uuid.UUID, int]],
        ) -> list[list[work.ScheduledContact]]:
            async with tenant_transaction(deps.engine, principal.tenant_id) as conn:
                policy = replace(await repository.policy(conn), readiness=deps.readiness_policy)
                found = await repository.states(
                    conn, deps.store, principal.tenant_id, cases, deps.state_cache
                )
            return [
                work.scheduled_follow_ups(found[c], policy) if c in found else [] for c, _ in cases
            ]

        loader = DataLoader(load_fn=load)
        ctx.loaders[_LOADER] = loader
    return loader


async def follow_up_schedule(
    info: Info, case_id: uuid.UUID, version: int
) -> list[ScheduledFollowUp]:
    today = info.context.deps.clock().date()
    return [
        ScheduledFollowUp(
            months_after_departure=c.months_after_departure,
            due_on=c.due_on,
            window_opens_on=c.window_opens_on,
            done_on=c.done_on,
            done_on_time=c.done_on_time,
            overdue=c.done_on is None and c.due_on < today,
        )
        for c in await _loader(info).load((case_id, version))
    ]
