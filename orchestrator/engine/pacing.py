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


# Seconds a 5 s clip takes on the real service, queue included, by resolution: the reference's records (~50-230 s
# per clip, seedance-api.md); only a prior, corrected by what the run observes.
EXPECTED_5S_CLIP = {"480p": 65.0, "720p": 135.0, "1080p": 205.0, "4k": 405.0}
CHECKPOINTS = (0.6, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.4, 1.5)  # fractions of the expected latency


def expected_latency(resolution: str, seconds: float) -> float:
    """Prior for how long a task takes on the real service (queue + run)."""
    return EXPECTED_5S_CLIP.get(resolution, 135.0) * max(seconds, 1.0) / 5.0


@dataclass(frozen=True)
class PollSchedule:
    """When to check a task: nothing until most of its expected latency has passed, then densely around the
    expected end (so a finished task is seen within ~5 % of its latency), then backing off geometrically.

    About 6 GETs per task when the expectation is right, instead of one every 10 s as in the provider's samples;
    `scale` shrinks every time for a faster simulator.
    """

    scale: float = 1.0
    min_s: float = 1.0  # never two checks of one task closer than this (real-service seconds)
    max_s: float = 60.0  # never longer between checks once the task is overdue
    growth: float = 1.25  # past the last checkpoint, each wait this much longer than the elapsed time allows

    def delay(self, elapsed: float, expected: float) -> float:
        """Seconds to wait before the next check, `elapsed` seconds after submitting a task expected to take
        `expected` (both in this schedule's time)."""
        floor, cap = self.min_s * self.scale, self.max_s * self.scale
        upcoming = [f * expected for f in CHECKPOINTS if f * expected > elapsed + floor / 2]
        if upcoming:  # planned looks are taken however far apart: the first one may be minutes away
            return max(floor, upcoming[0] - elapsed)
        return min(cap, max(floor, max(elapsed, expected) * self.growth - elapsed))

    def scaled(self, factor: float) -> PollSchedule:
        """The same schedule with every time multiplied by `factor`."""
        return PollSchedule(self.scale * factor, self.min_s, self.max_s, self.growth)

    def expect(self, resolution: str, seconds: float) -> float:
        """The prior for a task, in this schedule's time."""
        return expected_latency(resolution, seconds) * self.scale


@dataclass
class LatencyModel:
    """Learns how the provider's latency compares with the prior, from the tasks this run saw finish."""

    ratio: float = 1.0
    seen: int = 0

    def observe(self, prior: float, actual: float) -> None:
        """One finished task: `actual` is when it was seen done, less half the last poll gap."""
        if prior <= 0 or actual <= 0:
            return
        weight = 1.0 / (self.seen + 1) if self.seen < 4 else 0.2  # a mean at first, then a moving average
        self.ratio += weight * (actual / prior - self.ratio)
        self.seen += 1

    def expect(self, prior: float) -> float:
        """The prior corrected by what was seen."""
        return prior * self.ratio


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
        self.paused = False  # while True, places are only queued for: a batch opens it once its shots are all in line

    @property
    def waiting(self) -> int:
        """Callers in line for a place."""
        return len(self._waiters)

    def open(self) -> None:
        """End a pause: serve the line, highest priority first."""
        self.paused = False
        self._wake()

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
        if self.in_flight < self.limit and not self._waiters and not self.paused:
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
        while self._waiters and self.in_flight < self.limit and not self.paused:
            _, _, future = heapq.heappop(self._waiters)
            if future.done():
                continue
            self.in_flight += 1
            future.set_result(None)
