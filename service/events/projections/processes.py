"""Work shared out between this process and new ones, for folds bound by one core's Python.

A rebuild's fill decodes and folds rows in Python: one process runs it on one core at a time
however many cores the machine has, and the database waits for it. ``alongside`` runs the
same work in this process and in ``processes - 1`` new ones at once. Every process takes the
next item (a part of a tenant's log) from ``Claims`` when it is free, so a process that started
later (a new process first imports the service, about a second) or drew larger items takes
fewer.

New processes are started with ``spawn``: they inherit nothing of this process's event loop,
connections, threads or caches, and make their own from the picklable work they are given
(a module-level function, or a ``functools.partial`` of one with picklable arguments).

Failures: the first one, here or in a new process, is raised here as it was raised (an
exception that does not survive pickling arrives as ``FillProcessFailed`` with its type and
message), with the new process's traceback as a note. A new process that ends without a
result (killed) raises ``FillProcessFailed``. Either way the other processes are stopped
before it is raised, so that nothing keeps writing after the caller has given up.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
import traceback
from collections.abc import Callable, Coroutine, Iterator, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class FillProcessFailed(RuntimeError):
    """A new process of ``alongside`` failed in a way that could not be raised as it was."""


class Claims(Generic[T]):
    """``items`` handed out one at a time to whoever iterates, across processes: a counter in
    shared memory says which is next. It reaches a new process only as an argument given when
    that process starts (as ``multiprocessing`` shares a lock)."""

    def __init__(self, items: Sequence[T]) -> None:
        self._items = tuple(items)
        self._next = multiprocessing.get_context("spawn").Value("i", 0)

    def __iter__(self) -> Iterator[T]:
        while True:
            with self._next.get_lock():
                at = self._next.value
                if at >= len(self._items):
                    return
                self._next.value = at + 1
            yield self._items[at]


def _portable(exc: BaseException) -> BaseException:
    """``exc`` with its traceback as a note, if it survives pickling; else its type and text."""
    exc.add_note("".join(traceback.format_exception(exc)).rstrip())
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 (our own bytes)
    except Exception:
        return FillProcessFailed(f"{type(exc).__qualname__}: {exc}")
    return exc


def _run(work: Callable[[Claims[T]], R], claims: Claims[T], results: Connection) -> None:
    """A new process's life: the work, then its result or its failure sent back."""
    try:
        outcome: tuple[bool, Any] = (True, work(claims))
    except Exception as exc:
        outcome = (False, _portable(exc))
    results.send(outcome)
    results.close()


class _Process:
    """A new process running ``work`` and the end of the pipe its result comes back on."""

    def __init__(self, work: Callable[[Claims[T]], R], claims: Claims[T]) -> None:
        context = multiprocessing.get_context("spawn")
        self.results, sending = context.Pipe(duplex=False)
        self.process: BaseProcess = context.Process(
            target=_run, args=(work, claims, sending), daemon=True
        )
        self.process.start()
        sending.close()  # the new process holds it now: its end is the pipe's end of file

    async def outcome(self) -> Any:
        loop = asyncio.get_running_loop()
        readable = loop.create_future()
        fd = self.results.fileno()

        def ready() -> None:
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(fd, ready)
        try:
            await readable
        finally:
            loop.remove_reader(fd)
        try:
            done, value = self.results.recv()
        except EOFError:
            self.process.join()
            raise FillProcessFailed(
                f"a fill process ended without a result (exit code {self.process.exitcode})"
            ) from None
        if not done:
            raise value
        return value

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.process.close()
        self.results.close()


async def alongside(
    here: Callable[[Claims[T]], Coroutine[Any, Any, R]],
    beside: Callable[[Claims[T]], R],
    items: Sequence[T],
    processes: int,
) -> list[R]:
    """``here(claims)`` in this process and ``beside(claims)`` in up to ``processes - 1`` new
    ones (never more processes than ``items``), all claiming ``items``; their results, this
    process's first. See the module for failures."""
    claims = Claims(items)
    started: list[_Process] = []
    try:
        for _ in range(min(processes, len(items)) - 1):
            started.append(_Process(beside, claims))
        async with asyncio.TaskGroup() as group:
            tasks: list[asyncio.Task[Any]] = [group.create_task(here(claims))]
            tasks += [group.create_task(p.outcome()) for p in started]
    except ExceptionGroup as failed:  # raised as one failure alone would raise it
        raise failed.exceptions[0] from failed
    finally:
        for process in started:
            process.stop()
    results: list[R] = [tasks[0].result(), *(t.result() for t in tasks[1:])]
    return results
