"""How fast the engine talks to the provider: the in-flight limit (shrinks on 429, recovers) and the poll schedule.

The limit counts tasks on the provider (from create to a terminal state). Waiters are served by priority (longest
remaining chain first), not by arrival, so the critical path is never stuck behind short branches.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

DEFAULT_CONCURRENCY = 10  # the provider's documented enterprise concurrency per model (reference §9)


@dataclass(frozen=True)
class PollSchedule:
    """Status checks of one task: the first after `first_s`, then each `growth` times longer, up to `max_s`.

    With the real service's defaults a 130 s task costs about 8 GETs and a 10 min task about 25: bounded, and
    never a storm. The simulator backend scales all three times by its speed.
    """

    first_s: float = 5.0
    growth: float = 1.5
    max_s: float = 30.0

    def delay(self, polls_done: int) -> float:
        """Seconds to wait before the next status check."""
        return min(self.max_s, self.first_s * self.growth ** min(polls_done, 64))  # no overflow on long tasks

    def scaled(self, factor: float) -> PollSchedule:
        """The same schedule with every time multiplied by `factor`."""
        return PollSchedule(self.first_s * factor, self.growth, self.max_s * factor)


class AdaptiveLimit:
    """A priority semaphore whose size halves on a rate-limit answer and grows back by one per quiet interval."""

    def __init__(self, ceiling: int, recover_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = self.ceiling
        self.in_flight = 0
        self.recover_s = recover_s
        self.lowest = self.ceiling  # the smallest the limit got, for the run summary
        self._clock = clock
        self._last_change = clock()
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def throttled(self) -> None:
        """The provider said 429: halve the limit (not below one)."""
        self._recover()
        self.limit = max(1, self.limit // 2)
        self.lowest = min(self.lowest, self.limit)
        self._last_change = self._clock()

    def _recover(self) -> None:
        now = self._clock()
        if self.limit < self.ceiling and now - self._last_change >= self.recover_s:
            steps = int((now - self._last_change) // self.recover_s)
            self.limit = min(self.ceiling, self.limit + steps)
            self._last_change += steps * self.recover_s

    @asynccontextmanager
    async def slot(self, priority: float) -> AsyncIterator[None]:
        """Hold one in-flight place; higher `priority` is served first."""
        await self._acquire(priority)
        try:
            yield
        finally:
            self.in_flight -= 1
            self._wake()

    async def _acquire(self, priority: float) -> None:
        self._recover()
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (-priority, next(self._order), future))
        self._wake()  # the limit may have grown back since the last release
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.in_flight -= 1  # granted just as we were cancelled: give the place back
                self._wake()
            raise

    def _wake(self) -> None:
        self._recover()
        while self._waiters and self.in_flight < self.limit:
            _, _, future = heapq.heappop(self._waiters)
            if future.done():
                continue
            self.in_flight += 1
            future.set_result(None)
