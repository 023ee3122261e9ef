"""The bulk readers' pause of the cyclic garbage collector (``collector_paused``)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from service.events.bulk_read import _Pause, collector_paused


@pytest.fixture(autouse=True)
def no_pause_held() -> Iterator[None]:
    """Each test starts with no pause held, and the pauses held before it are given back after.

    The end-to-end tests' app lives for the whole session, and its report projection may be
    in the middle of a batch (holding a pause) when the loop stops running for these tests;
    it carries on after them.
    """
    held, resume, was = _Pause.holders, _Pause.resume, gc.isenabled()
    _Pause.holders, _Pause.resume = 0, False
    if held and resume:
        gc.enable()  # as it was before the first of them paused it
    try:
        yield
    finally:
        _Pause.holders, _Pause.resume = held, resume
        if was:
            gc.enable()
        else:
            gc.disable()


@pytest.fixture
def collector_running() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        if not was:
            gc.disable()


@pytest.mark.usefixtures("collector_running")
def test_overlapping_pauses_resume_the_collector_when_the_last_one_ends() -> None:
    async def batch(hold: asyncio.Event, done: asyncio.Event) -> None:
        with collector_paused():
            done.set()
            await hold.wait()

    async def main() -> list[bool]:
        seen = []
        first_hold, second_hold = asyncio.Event(), asyncio.Event()
        first_in, second_in = asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(batch(first_hold, first_in))
        second = asyncio.create_task(batch(second_hold, second_in))
        await first_in.wait()
        await second_in.wait()
        seen.append(gc.isenabled())
        first_hold.set()
        await first  # the second batch still holds the pause
        seen.append(gc.isenabled())
        second_hold.set()
        await second
        seen.append(gc.isenabled())
        return seen

    assert asyncio.run(main()) == [False, False, True]


@pytest.mark.usefixtures("collector_running")
def test_a_pause_ended_by_an_error_resumes_the_collector() -> None:
    inside = []

    def fold() -> None:
        with collector_paused(), collector_paused():
            inside.append(gc.isenabled())
            raise RuntimeError("fold failed")

    with pytest.raises(RuntimeError):
        fold()
    assert inside == [False]
    assert gc.isenabled()


def test_a_pause_leaves_a_collector_that_was_off_off() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()
