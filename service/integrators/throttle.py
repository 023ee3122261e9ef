"""Failed client authentications, counted per client id and per remote address.

The token endpoint is the one place where a secret can be guessed. Each failure is counted
against the client id tried and against the caller's address; once either has ``limit``
failures inside ``window`` seconds it is locked out until the oldest of them leaves the window,
and while locked even the right secret is refused (else guessing would only need patience).
Counts live in the process (one instance's view; each instance counts on its own), bounded in
memory: when ``max_keys`` keys are tracked the oldest is forgotten.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable


class FailureThrottle:
    def __init__(
        self,
        *,
        limit: int,
        window: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        cutoff = self._clock() - self.window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def retry_after(self, key: str) -> float | None:
        """Seconds until ``key`` may try again, or ``None`` when it is not locked out."""
        failures = self._recent(key)
        if len(failures) < self.limit:
            return None
        return max(0.0, failures[0] + self.window - self._clock())

    def fail(self, key: str) -> None:
        failures = self._failures.setdefault(key, deque())
        self._failures.move_to_end(key)
        failures.append(self._clock())
        while len(failures) > self.limit:
            failures.popleft()
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)
