"""The cache of folded case states keeps the most recently used, up to its size."""

from __future__ import annotations

import datetime as dt
import uuid

from service.domain.return_case import ReturnCase
from service.work.repository import StateCache

TENANT = uuid.uuid4()


def state(version: int) -> ReturnCase:
    return ReturnCase(case_id=uuid.uuid4(), intake_date=dt.date(2026, 1, 5), version=version)


def test_the_least_recently_used_state_is_dropped_first() -> None:
    cache = StateCache(size=2)
    a, b, c = state(1), state(2), state(3)
    cache.put((TENANT, a.case_id, 1), a)
    cache.put((TENANT, b.case_id, 2), b)

    assert cache.get((TENANT, a.case_id, 1)) is a  # a is now the most recently used
    cache.put((TENANT, c.case_id, 3), c)

    assert cache.get((TENANT, b.case_id, 2)) is None
    assert cache.get((TENANT, a.case_id, 1)) is a
    assert cache.get((TENANT, c.case_id, 3)) is c


def test_a_state_is_found_only_at_its_own_tenant_and_version() -> None:
    cache = StateCache()
    a = state(4)
    cache.put((TENANT, a.case_id, 4), a)

    assert cache.get((TENANT, a.case_id, 5)) is None
    assert cache.get((uuid.uuid4(), a.case_id, 4)) is None
