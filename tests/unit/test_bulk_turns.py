"""A bulk reader in the service's process hands the event loop back in turns (``Turns``)."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from service.events.bulk_read import Turns

AN_HOUR = 3600.0


async def _ran_during_take(turns: Turns) -> bool:
    """Whether a callback scheduled before ``take`` ran before ``take`` returned."""
    ran = asyncio.Event()
    asyncio.get_running_loop().call_soon(ran.set)
    await turns.take()
    return ran.is_set()


class _Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_stretch_that_held_the_loop_its_seconds_hands_it_back() -> None:
    clock = _Clock()
    turns = Turns(seconds=2.0, clock=clock)
    clock.now = 2.0
    assert await _ran_during_take(turns)


async def test_a_stretch_that_held_the_loop_less_than_its_seconds_keeps_it() -> None:
    clock = _Clock()
    turns = Turns(seconds=2.0, clock=clock)
    clock.now = 1.9
    assert not await _ran_during_take(turns)


async def test_a_stretch_counts_its_seconds_again_from_each_turn() -> None:
    clock = _Clock()
    turns = Turns(seconds=2.0, clock=clock)
    clock.now = 3.0
    assert await _ran_during_take(turns)
    clock.now = 4.0  # four seconds into the stretch, one since its last turn
    assert not await _ran_during_take(turns)
    clock.now = 5.0
    assert await _ran_during_take(turns)


async def test_slices_hand_the_loop_back_between_them() -> None:
    """With every stretch long enough, other work runs between any two slices."""
    ticks: list[int] = []
    taken: list[int] = []

    async def tick() -> None:
        while True:
            ticks.append(len(taken))
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    try:
        async for part in Turns(seconds=0.0).slices(list(range(200))):
            taken.extend(part)
            assert ticks[-1] == len(taken) - len(part)  # the ticker ran since the last slice
    finally:
        ticker.cancel()
    assert len(taken) == 200


@given(st.lists(st.integers(), max_size=300), st.sampled_from([0.0, AN_HOUR]))
def test_slices_give_every_item_once_in_order(items: list[int], seconds: float) -> None:
    async def gather() -> list[int]:
        out: list[int] = []
        async for part in Turns(seconds=seconds).slices(items):
            assert part  # no empty slice
            out.extend(part)
        return out

    assert asyncio.run(gather()) == items
