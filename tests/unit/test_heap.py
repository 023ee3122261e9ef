"""The heap policy: freeze as subscriptions accumulate, hand the heap back when most have gone."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from collections.abc import Iterator

import pytest

from service.heap import YOUNG_COLLECTION_EVERY, SubscriptionHeap, collect_less_often


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_heap_is_frozen_from_the_floor_and_again_after_a_quarter_more(unfrozen: None) -> None:
    open_now = [10]
    heap = SubscriptionHeap(lambda: open_now[0], floor=100)
    assert heap.check() is None
    assert gc.get_freeze_count() == 0

    open_now[0] = 100
    assert heap.check() == "freeze"
    assert gc.get_freeze_count() > 0

    open_now[0] = 125  # a quarter more is not yet more than a quarter
    assert heap.check() is None
    open_now[0] = 126
    assert heap.check() == "freeze"


class _Cycle:
    """An object in a reference cycle with itself: only a collection frees it."""

    def __init__(self) -> None:
        self.me = self


def test_when_fewer_than_half_remain_the_dead_are_collected_and_the_rest_frozen_again(
    unfrozen: None,
) -> None:
    open_now = [200]
    heap = SubscriptionHeap(lambda: open_now[0], floor=100)
    closed = _Cycle()  # a subscription's objects: frozen with the heap, then closed
    gone = weakref.ref(closed)
    kept = _Cycle()
    assert heap.check() == "freeze"
    del closed
    gc.collect()
    assert gone() is not None  # frozen: no collection walks it

    open_now[0] = 100
    assert heap.check() is None
    open_now[0] = 99
    assert heap.check() == "unfreeze"
    assert gone() is None  # collected when the subscriptions went
    assert kept.me is kept
    assert gc.get_freeze_count() > 0  # what survived is out of the walk again
    assert heap.last_collection_seconds > 0

    # Frozen again only once the count has grown by a quarter from where it was handed back.
    open_now[0] = 110
    assert heap.check() is None
    open_now[0] = 124
    assert heap.check() == "freeze"


def test_what_survives_a_full_collection_with_many_subscriptions_open_is_frozen(
    unfrozen: None,
) -> None:
    open_now = [50]
    heap = SubscriptionHeap(lambda: open_now[0], floor=100)
    gc.callbacks.append(heap.after_collection)
    try:
        gc.collect()
        assert gc.get_freeze_count() == 0  # below the floor: nothing frozen
        open_now[0] = 150
        gc.collect(1)
        assert gc.get_freeze_count() == 0  # only a full collection's survivors
        gc.collect()
        assert gc.get_freeze_count() > 0
        assert heap.frozen_at == 150
    finally:
        gc.callbacks.remove(heap.after_collection)


def test_the_server_collects_the_youngest_generation_every_ten_thousand_allocations() -> None:
    before = gc.get_threshold()
    try:
        collect_less_often()
        assert gc.get_threshold() == (YOUNG_COLLECTION_EVERY, 10, 10)
        assert YOUNG_COLLECTION_EVERY == 10_000
        gc.collect(0)
        # 2,000 tracked objects: fewer than the threshold
        kept: list[list[int]] = [[] for _ in range(2_000)]
        assert len(kept) == 2_000
        assert gc.get_count()[0] > 1_500  # not collected at CPython's 700
    finally:
        gc.set_threshold(*before)


async def test_a_freeze_is_logged_without_walking_the_frozen_heap(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def walks_every_frozen_object() -> int:
        raise AssertionError("counting the frozen objects walks all of them")

    monkeypatch.setattr(gc, "get_freeze_count", walks_every_frozen_object)
    heap = SubscriptionHeap(lambda: 5, floor=1, every=0.01)
    stop = asyncio.Event()
    with caplog.at_level(logging.INFO, logger="service.heap"):
        task = asyncio.get_running_loop().create_task(heap.run(stop))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if task.done() or any(r.name == "service.heap" for r in caplog.records):
                break
        stop.set()
        await task
    assert heap.frozen_at == 5
    assert [r.getMessage() for r in caplog.records if r.name == "service.heap"] == [
        "heap freeze at 5 subscriptions"
    ]
