"""A fan-out's sockets are handed to its writing threads in runs (``serving._Runs``): whoever
asks, in whatever order, every socket goes out in exactly one run."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service import serving


@given(count=st.integers(0, 500), run=st.integers(1, 64))
def test_runs_cover_every_socket_once_in_order(count: int, run: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(serving, "WRITE_RUN", run)
        runs = serving._Runs(count)
        taken = []
        while part := runs.take():
            assert len(part) <= run
            taken += part
        assert taken == list(range(count))
        assert not runs.take()  # and nothing after the last


def test_threads_taking_runs_together_take_each_socket_once() -> None:
    runs = serving._Runs(100_000)
    taken: list[list[int]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def take(mine: list[int]) -> None:
        start.wait()
        while part := runs.take():
            mine += part

    threads = [threading.Thread(target=take, args=(mine,)) for mine in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(i for mine in taken for i in mine) == list(range(100_000))
