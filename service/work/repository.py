"""Loading what the work rules need, inside a tenant transaction (row-level security applies).

Case states are folded from the events, never read from a column a person typed: the work
list follows the facts. Personal parts stay sealed; the rules never need them.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.domain.return_case import ReturnCase, fold, folds_without_personal_values
from service.domain.work import DEFAULT_POLICY, WorkPolicy
from service.events.store import COLUMNS, EventStore

__all__ = ["CaseUnderWork", "StateCache", "policy", "set_policy", "states", "with_states"]


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


class StateCache:
    """Folded case states by (tenant, case, version), least recently used dropped first.

    A state at a given version is a fact of the append-only log and holds no personal data
    (see ``service.domain.return_case.state``), so it never goes stale and may be kept: a work
    list then folds only the cases that changed since it was last asked, and a command starts
    from the state the previous one left. Only true states are kept: one folded from events
    read unopened only when that fold is the true one (``folds_without_personal_values``).
    """

    def __init__(self, size: int = 50_000) -> None:
        self._size = size
        self._states: OrderedDict[tuple[uuid.UUID, uuid.UUID, int], ReturnCase] = OrderedDict()

    def get(self, key: tuple[uuid.UUID, uuid.UUID, int]) -> ReturnCase | None:
        state = self._states.get(key)
        if state is not None:
            self._states.move_to_end(key)
        return state

    def put(self, key: tuple[uuid.UUID, uuid.UUID, int], state: ReturnCase) -> None:
        self._states[key] = state
        self._states.move_to_end(key)
        while len(self._states) > self._size:
            self._states.popitem(last=False)

    def advance(
        self,
        before: tuple[uuid.UUID, uuid.UUID, int],
        key: tuple[uuid.UUID, uuid.UUID, int],
        state: ReturnCase,
    ) -> None:
        """Keep ``state`` at ``key`` in place of the same case's state at ``before``."""
        self._states.pop(before, None)
        self.put(key, state)


async def states(
    conn: AsyncConnection,
    store: EventStore,
    tenant_id: uuid.UUID,
    cases: Sequence[tuple[uuid.UUID, int]],
    cache: StateCache,
) -> dict[uuid.UUID, ReturnCase]:
    """The states of the ``(case id, version)`` cases that exist, folded from their events.

    ``conn`` is a transaction of ``tenant_id``. Cases whose state at that version is not
    cached are read in one statement; a case read at a later version is returned as it is.
    """
    found: dict[uuid.UUID, ReturnCase] = {}
    missing: list[uuid.UUID] = []
    for case_id, version in cases:
        state = cache.get((tenant_id, case_id, version))
        if state is None:
            missing.append(case_id)
        else:
            found[case_id] = state
    if not missing:
        return found
    result = await conn.execute(
        text(
            f"SELECT {COLUMNS} FROM events WHERE stream_type = 'ReturnCase' "  # noqa: S608
            "AND stream_id = ANY(:ids) ORDER BY stream_id, version"
        ),
        {"ids": missing},
    )
    streams: dict[uuid.UUID, list[Any]] = {}
    for raw in result:
        recorded = store.recorded(raw)
        streams.setdefault(recorded.stream_id, []).append(recorded.event)
    for case_id, events in streams.items():
        folded = fold(events)
        if folded is None:
            continue
        # Read unopened, a stream with an erasure folds to a state that may miss later
        # personal data (the work lists never read that part): used here, never kept.
        if folds_without_personal_values(type(e).event_type for e in events):
            cache.put((tenant_id, case_id, folded.version), folded)
        found[case_id] = folded
    return found


async def with_states(
    conn: AsyncConnection, store: EventStore, rows: Sequence[dict[str, Any]], cache: StateCache
) -> list[CaseUnderWork]:
    """``rows`` of cases (of one tenant), each with its state folded from its events."""
    if not rows:
        return []
    found = await states(
        conn, store, rows[0]["tenant_id"], [(r["case_id"], r["version"]) for r in rows], cache
    )
    return [CaseUnderWork(row, found[row["case_id"]]) for row in rows if row["case_id"] in found]
