"""Work shared between this process and new ones: every item claimed once, failures raised
here, and no new process left running after a failure."""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import time
from pathlib import Path

import pytest

from service.events.projections.processes import Claims, FillProcessFailed, alongside


async def _claims_nothing(_claims: Claims[int]) -> list[tuple[int, int]]:
    return []


def _claim_all(claims: Claims[int]) -> list[tuple[int, int]]:
    claimed = []
    for item in claims:
        claimed.append((os.getpid(), item))
        time.sleep(0.001)  # the other new process claims meanwhile
    return claimed


def _fail_on_first(claims: Claims[int]) -> int:
    raise ValueError(f"item {next(iter(claims))} is wrong")


def _fail_unpicklably(_claims: Claims[int]) -> int:
    class Local(Exception):  # a class pickle cannot find by name
        pass

    raise Local("made where pickle cannot reach it")


def _end_without_result(_claims: Claims[int]) -> int:
    os._exit(3)


def _note_pid_and_wait(pid_file: Path, _claims: Claims[int]) -> int:
    pid_file.write_text(str(os.getpid()))
    threading.Event().wait()  # until stopped
    return 0


async def test_every_item_is_claimed_exactly_once_across_the_new_processes() -> None:
    here, *beside = await alongside(_claims_nothing, _claim_all, list(range(200)), 3)

    assert here == []
    assert len(beside) == 2
    claimed = [item for result in beside for _pid, item in result]
    assert sorted(claimed) == list(range(200))
    assert os.getpid() not in {pid for result in beside for pid, _item in result}


async def test_items_this_process_claimed_are_not_claimed_again_by_a_new_one() -> None:
    async def claim_here(claims: Claims[int]) -> list[tuple[int, int]]:
        return _claim_all(claims)  # all or most of them before the new process has started

    results = await alongside(claim_here, _claim_all, list(range(50)), 2)

    assert sorted(item for result in results for _pid, item in result) == list(range(50))


async def test_no_more_processes_start_than_there_are_items() -> None:
    results = await alongside(_claims_nothing, _claim_all, [7], 4)

    assert results == [[]]  # one item: no new process, and this one claimed nothing


async def test_a_new_process_s_error_is_raised_here_with_its_traceback() -> None:
    with pytest.raises(ValueError, match="item 0 is wrong") as raised:
        await alongside(_claims_nothing, _fail_on_first, [0, 1], 2)

    assert "_fail_on_first" in "".join(raised.value.__notes__)


async def test_an_error_that_cannot_cross_is_raised_as_its_type_and_text() -> None:
    with pytest.raises(FillProcessFailed, match="Local: made where pickle cannot reach it"):
        await alongside(_claims_nothing, _fail_unpicklably, [0, 1], 2)


async def test_a_new_process_that_ends_without_a_result_fails_the_work() -> None:
    with pytest.raises(FillProcessFailed, match=r"without a result \(exit code 3\)"):
        await alongside(_claims_nothing, _end_without_result, [0, 1], 2)


async def test_a_failure_here_stops_the_new_processes(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"

    async def fail_once_the_new_process_runs(_claims: Claims[int]) -> int:
        while not pid_file.exists() or not pid_file.read_text():  # noqa: ASYNC110 (another process)
            await asyncio.sleep(0.05)
        raise RuntimeError("this process failed")

    beside = functools.partial(_note_pid_and_wait, pid_file)
    with pytest.raises(RuntimeError, match="this process failed"):
        await alongside(fail_once_the_new_process_runs, beside, [0, 1], 2)

    with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(int(pid_file.read_text()), 0)
