"""Keeping CPython's full garbage collections short while many subscriptions are open.

A full (oldest-generation) collection walks every tracked object the process holds and stops
the event loop for as long: ~1 s per million objects on the machines the bench runs on. An
open subscription holds a few hundred objects (its protocol, handler, task and generators), so
10,000 of them put ~3 million objects on the heap and each full collection would stop every
request and every delivery for seconds (``docs/performance.md``).

These objects live as long as their sockets. ``gc.freeze()`` moves every object tracked now
into a permanent generation that collections skip: the service freezes once after start-up
(its modules, schema and caches) and again each time the number of open subscriptions has
grown by a quarter above a floor, and after every full collection while it is above that
floor, so a full collection walks only what came after. Objects
frozen are still freed as soon as nothing refers to them; only reference cycles among them
wait, so when the subscriptions fall below half of what was frozen, the permanent generation
is handed back (``gc.unfreeze()``), collected at once, and what survives is frozen again, as
after start-up. The one full collection that takes the closed subscriptions' cycles happens
then, when they went, and not later in the middle of other work; and the start-up heap does
not stay in the collections' walk afterwards (handed back and left there, it was walked by
every later full collection until the count reached the floor again). The next freeze comes
once the count has grown by a quarter from there.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger("service.heap")

FREEZE_FROM_SUBSCRIPTIONS = 1000
CHECK_SECONDS = 2.0


def freeze_after_start_up() -> None:
    """Collect once, then leave what start-up built (modules, schema, caches) out of every
    later collection. Called from the service's start-up, not at import."""
    gc.collect()
    gc.freeze()


# Allocations (less deallocations) between two collections of the youngest generation; the
# older two keep CPython's default of one collection per ten of the younger one.
YOUNG_COLLECTION_EVERY = 10_000


def collect_less_often() -> None:
    """Collect the youngest generation every ``YOUNG_COLLECTION_EVERY`` allocations instead of
    CPython's 700, and so the older generations ten times less often too.

    A request allocates some thousands of objects that reference counting frees when it ends;
    at 700 they were collected several times over while still in use, and each tenth
    collection also walked the middle generation, where the streams and states kept for the
    next command (``service.events.stream_cache``) age into the oldest. A young collection now
    takes about 3.5 ms instead of 0.2 ms (measured over the command bench), ten times more
    rarely; full collections stay as ``SubscriptionHeap`` keeps them. The threshold holds for
    the whole process, so the server sets it (``safe-future serve``), not the code a test
    imports.
    """
    gc.set_threshold(YOUNG_COLLECTION_EVERY, 10, 10)


class SubscriptionHeap:
    """Freezes the heap as subscriptions accumulate, unfreezes it when most have gone."""

    def __init__(
        self,
        subscriptions: Callable[[], int],
        *,
        floor: int = FREEZE_FROM_SUBSCRIPTIONS,
        every: float = CHECK_SECONDS,
    ) -> None:
        self._subscriptions = subscriptions
        self.floor = floor
        self.every = every
        self.frozen_at = 0  # subscriptions open at the last freeze (0: none frozen since)
        self.last_collection_seconds = 0.0  # of the full collection at the last unfreeze

    def check(self) -> str | None:
        """Freeze or unfreeze if the count calls for it; returns what was done, if anything."""
        open_now = self._subscriptions()
        if open_now >= max(self.floor, self.frozen_at + self.frozen_at // 4 + 1):
            gc.freeze()
            self.frozen_at = open_now
            return "freeze"
        if self.frozen_at and open_now < self.frozen_at // 2:
            started = time.perf_counter()
            gc.unfreeze()
            gc.collect()  # the cycles that died while frozen
            gc.freeze()
            self.last_collection_seconds = time.perf_counter() - started
            self.frozen_at = open_now  # freeze again only after a quarter more
            return "unfreeze"
        return None

    def after_collection(self, phase: str, info: dict[str, int]) -> None:
        """A ``gc.callbacks`` hook: what survived a full collection while many subscriptions
        are open is frozen at once, so the next full collection walks only what came after
        (otherwise, with little left unfrozen, full collections come often and each walks
        everything allocated since the last freeze)."""
        if phase == "stop" and info.get("generation") == 2:
            open_now = self._subscriptions()
            if open_now >= self.floor:
                gc.freeze()
                self.frozen_at = max(self.frozen_at, open_now)

    async def run(self, stop: asyncio.Event) -> None:
        gc.callbacks.append(self.after_collection)
        try:
            await self._check_until(stop)
        finally:
            gc.callbacks.remove(self.after_collection)

    async def _check_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.every)
            except TimeoutError:
                done = self.check()
                if done is not None:
                    # Not ``gc.get_freeze_count()``: it counts the permanent generation by
                    # walking it, some 300 ms for the 3 million objects of 10,000
                    # subscriptions, in which the loop delivers nothing.
                    log.info(
                        "heap %s at %d subscriptions%s",
                        done,
                        self._subscriptions(),
                        f" (collected in {self.last_collection_seconds:.3f} s)"
                        if done == "unfreeze"
                        else "",
                    )
