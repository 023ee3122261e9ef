"""How many processes a rebuild fills in when the command line is not told."""

from __future__ import annotations

import os

import pytest

from service.cli import FILL_PROCESSES_AT_MOST, fill_processes, parser


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 2), (4, 4), (32, 4)])
def test_a_rebuild_fills_in_the_cores_it_may_use_and_at_most_four_processes(
    monkeypatch: pytest.MonkeyPatch, cores: int, expected: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)), raising=False)

    assert FILL_PROCESSES_AT_MOST == 4
    assert fill_processes() == expected
    assert parser().parse_args(["projections", "rebuild"]).processes == expected
