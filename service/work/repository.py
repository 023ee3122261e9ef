"""Loading what the work rules need, inside a tenant transaction (row-level security applies).

Case states are folded from the events, never read from a column a person typed: the work
list follows the facts. Personal parts stay sealed; the rules never need them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.domain.return_case import ReturnCase, fold
from service.domain.work import DEFAULT_POLICY, WorkPolicy
from service.events.store import COLUMNS, EventStore

__all__ = ["CaseUnderWork", "policy", "set_policy", "states", "with_states"]


@dataclass(frozen=True, slots=True)
class CaseUnderWork:
    """A case's read-model row (to serve it) with its state folded from the events."""

    row: dict[str, Any]
    state: ReturnCase


_POLICY = text(
    "SELECT follow_up_months, follow_up_window_days, referral_answer_days FROM work_policies"
)


async def policy(conn: AsyncConnection) -> WorkPolicy:
    """The transaction's shelter's policy; the defaults when it has set none."""
    row = (await conn.execute(_POLICY)).first()
    if row is None:
        return DEFAULT_POLICY
    return WorkPolicy(
        follow_up_months=tuple(row.follow_up_months),
        follow_up_window_days=row.follow_up_window_days,
        referral_answer_days=row.referral_answer_days,
    )


_SET_POLICY = text(
    "INSERT INTO work_policies (tenant_id, follow_up_months, follow_up_window_days, "
    "referral_answer_days, updated_at) VALUES (:t, :months, :window, :answer, now()) "
    "ON CONFLICT (tenant_id) DO UPDATE SET follow_up_months = excluded.follow_up_months, "
    "follow_up_window_days = excluded.follow_up_window_days, "
    "referral_answer_days = excluded.referral_answer_days, updated_at = now()"
)


async def set_policy(conn: AsyncConnection, tenant_id: uuid.UUID, value: WorkPolicy) -> None:
    """Store a shelter's policy (the owner's connection: the service role only reads it)."""
    await conn.execute(
        _SET_POLICY,
        {
            "t": tenant_id,
            "months": list(value.follow_up_months),
            "window": value.follow_up_window_days,
            "answer": value.referral_answer_days,
        },
    )


async def states(
    conn: AsyncConnection, store: EventStore, case_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ReturnCase]:
    """The states of the cases ``case_ids`` that exist, folded from their events (one
    statement)."""
    if not case_ids:
        return {}
    result = await conn.execute(
        text(
            f"SELECT {COLUMNS} FROM events WHERE stream_type = 'ReturnCase' "  # noqa: S608
            "AND stream_id = ANY(:ids) ORDER BY stream_id, version"
        ),
        {"ids": list(case_ids)},
    )
    streams: dict[uuid.UUID, list[Any]] = {}
    for raw in result:
        recorded = store.recorded(raw)
        streams.setdefault(recorded.stream_id, []).append(recorded.event)
    folded = {case_id: fold(events) for case_id, events in streams.items()}
    return {case_id: state for case_id, state in folded.items() if state is not None}


async def with_states(
    conn: AsyncConnection, store: EventStore, rows: Sequence[dict[str, Any]]
) -> list[CaseUnderWork]:
    """``rows`` of cases, each with its state folded from its events (one statement)."""
    found = await states(conn, store, [r["case_id"] for r in rows])
    return [CaseUnderWork(row, found[row["case_id"]]) for row in rows if row["case_id"] in found]
