"""Pacing: the poll schedule grows and caps; the adaptive limit bounds in-flight tasks, serves the critical path first,
halves on 429 and grows back one step per quiet interval (clock injected: nothing here sleeps for real)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from orchestrator.engine.pacing import AdaptiveLimit, LatencyModel, PollSchedule, expected_latency

T = TypeVar("T")


def run(main: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(main(), timeout=5)

    return asyncio.run(bounded())


async def settle(rounds: int = 5) -> None:
    """Let every ready task run until it blocks again."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def touch(limit: AdaptiveLimit) -> None:
    """Take and give back one place (the limit looks at its clock on every acquire)."""
    async with limit.slot(0):
        pass


# -- poll schedule -------------------------------------------------------------------------------------------------


def _checks(schedule: PollSchedule, expected: float, done_at: float) -> list[float]:
    """The moments a task finishing at `done_at` is looked at, up to and including the look that sees it done."""
    looks, now = [], 0.0
    while not looks or looks[-1] < done_at:
        now += schedule.delay(now, expected)
        looks.append(now)
    return looks


def test_polls_wait_for_most_of_the_expected_latency_then_look_densely() -> None:
    looks = _checks(PollSchedule(), expected=135.0, done_at=135.0)
    assert looks == pytest.approx([81.0, 108.0, 121.5, 128.25, 135.0])
    assert len(looks) <= 6  # the provider's samples would have made 14 GETs, one every 10 s


def test_a_task_is_seen_done_within_a_few_percent_of_its_latency_when_the_prior_is_right_to_20_percent() -> None:
    schedule = PollSchedule()
    for done_at in (108.0, 120.0, 140.0, 150.0, 162.0):
        looks = _checks(schedule, expected=135.0, done_at=done_at)
        assert looks[-1] - done_at <= 0.07 * 135.0, (done_at, looks)
        assert len(looks) <= 10


def test_polls_back_off_geometrically_past_the_expectation_up_to_the_cap() -> None:
    schedule = PollSchedule()
    assert schedule.delay(1000.0, 135.0) == 60.0
    assert schedule.delay(250.0, 135.0) == pytest.approx(60.0)
    assert schedule.delay(210.0, 135.0) == pytest.approx(52.5)  # 25 % of the elapsed time
    assert schedule.delay(10_000_000.0, 135.0) == 60.0  # however long a task runs (flex: up to 72 h)


def test_polls_never_come_closer_than_the_floor() -> None:
    schedule = PollSchedule()
    assert schedule.delay(0.0, 0.5) == 1.0
    assert schedule.delay(134.9, 135.0) == pytest.approx(6.85)


def test_scaled_schedule_multiplies_every_time() -> None:
    fast = PollSchedule().scaled(0.01)
    assert fast.expect("720p", 5) == pytest.approx(1.35)
    assert fast.delay(0.0, fast.expect("720p", 5)) == pytest.approx(0.81)
    assert fast.delay(100.0, 1.35) == pytest.approx(0.6)
    assert fast.delay(0.0, 0.001) == pytest.approx(0.01)


def test_expected_latency_scales_with_clip_length_and_resolution() -> None:
    assert expected_latency("720p", 5) == 135.0
    assert expected_latency("720p", 10) == 270.0
    assert expected_latency("480p", 5) < expected_latency("1080p", 5) < expected_latency("4k", 5)


def test_latency_model_learns_the_providers_speed() -> None:
    model = LatencyModel()
    assert model.expect(100.0) == 100.0
    for _ in range(3):
        model.observe(100.0, 50.0)
    assert model.expect(100.0) == pytest.approx(50.0)
    for _ in range(30):
        model.observe(100.0, 200.0)
    assert model.expect(100.0) == pytest.approx(200.0, rel=0.01)
    model.observe(0.0, 10.0)  # nonsense is ignored
    assert model.seen == 33


# -- adaptive limit: bounds and order --------------------------------------------------------------------------------


def test_never_more_holders_than_the_limit() -> None:
    async def main() -> tuple[int, int, int]:
        limit = AdaptiveLimit(3)
        holding = peak = finished = 0

        async def worker(i: int) -> None:
            nonlocal holding, peak, finished
            async with limit.slot(i % 4):
                holding += 1
                peak = max(peak, holding)
                assert limit.in_flight <= 3
                await settle(3)
                holding -= 1
            finished += 1

        await asyncio.gather(*(worker(i) for i in range(20)))
        return peak, finished, limit.in_flight

    assert run(main) == (3, 20, 0)


def test_ceiling_below_one_still_allows_one() -> None:
    limit = AdaptiveLimit(0)
    assert (limit.ceiling, limit.limit, limit.lowest) == (1, 1, 1)


def test_waiters_are_served_by_priority_then_arrival() -> None:
    async def main() -> list[str]:
        limit = AdaptiveLimit(1)
        served: list[str] = []
        release = asyncio.Event()

        async def holder() -> None:
            async with limit.slot(0):
                await release.wait()

        async def waiter(name: str, priority: float) -> None:
            async with limit.slot(priority):
                served.append(name)
                await settle(1)

        first = asyncio.create_task(holder())
        await settle()
        tasks = []
        for name, priority in (("short", 1.0), ("long", 30.0), ("mid", 10.0), ("long-2", 30.0), ("tiny", 0.5)):
            tasks.append(asyncio.create_task(waiter(name, priority)))
            await settle()
        assert served == []
        assert limit.in_flight == 1
        release.set()
        await asyncio.gather(first, *tasks)
        assert limit.in_flight == 0
        return served

    assert run(main) == ["long", "long-2", "mid", "short", "tiny"]


def test_a_newcomer_does_not_jump_the_queue_when_a_place_frees() -> None:
    async def main() -> list[str]:
        limit = AdaptiveLimit(1)
        served: list[str] = []
        release = asyncio.Event()

        async def holder() -> None:
            async with limit.slot(0):
                await release.wait()

        async def waiter(name: str, priority: float) -> None:
            async with limit.slot(priority):
                served.append(name)

        first = asyncio.create_task(holder())
        await settle()
        queued = asyncio.create_task(waiter("queued", 1.0))
        await settle()
        release.set()
        late = asyncio.create_task(waiter("late", 100.0))  # arrives after the release was decided
        await asyncio.gather(first, queued, late)
        return served

    assert run(main) == ["queued", "late"]


# -- adaptive limit: throttling and recovery -------------------------------------------------------------------------


def test_throttled_halves_down_to_one_and_records_the_lowest() -> None:
    clock = Clock()
    limit = AdaptiveLimit(10, recover_s=10.0, clock=clock)
    seen = []
    for _ in range(5):
        limit.throttled()
        seen.append(limit.limit)
    assert seen == [5, 2, 1, 1, 1]
    assert limit.lowest == 1
    assert limit.ceiling == 10


def test_limit_recovers_one_step_per_quiet_interval() -> None:
    async def main() -> list[int]:
        clock = Clock()
        limit = AdaptiveLimit(8, recover_s=10.0, clock=clock)
        limit.throttled()
        limit.throttled()  # 8 -> 4 -> 2
        seen = []
        for t in (5.0, 9.99, 10.0, 19.0, 20.0, 40.0, 1000.0):
            clock.now = t
            await touch(limit)
            seen.append(limit.limit)
        assert limit.lowest == 2
        return seen

    assert run(main) == [2, 2, 3, 3, 4, 6, 8]


def test_recovery_does_not_depend_on_when_the_limit_is_looked_at() -> None:
    # Throttled at t=0 from 8 to 4; 20 quiet seconds at one step per 10 s must give 6, whether or not
    # some acquire happened at t=15 in between.
    async def at(times: list[float]) -> int:
        clock = Clock()
        limit = AdaptiveLimit(8, recover_s=10.0, clock=clock)
        limit.throttled()
        for t in times:
            clock.now = t
            await touch(limit)
        return limit.limit

    async def main() -> tuple[int, int]:
        return await at([20.0]), await at([15.0, 20.0])

    assert run(main) == (6, 6)


def test_a_429_after_a_long_quiet_spell_halves_the_recovered_limit() -> None:
    # 429s two minutes apart (polls of long tasks) with no acquire in between: the limit has grown back to the
    # ceiling by then, so the second 429 halves 8, not the stale 4.
    clock = Clock()
    limit = AdaptiveLimit(8, recover_s=10.0, clock=clock)
    limit.throttled()
    assert limit.limit == 4
    clock.now = 120.0
    limit.throttled()
    assert limit.limit == 4
    assert limit.lowest == 4


def test_a_regrown_place_goes_to_a_queued_waiter_without_waiting_for_a_release() -> None:
    async def main() -> None:
        clock = Clock()
        limit = AdaptiveLimit(2, recover_s=10.0, clock=clock)
        limit.throttled()  # 2 -> 1
        release = asyncio.Event()
        got: list[str] = []

        async def hold(name: str, priority: float) -> None:
            async with limit.slot(priority):
                got.append(name)
                await release.wait()

        holder = asyncio.create_task(hold("holder", 0))
        await settle()
        queued = asyncio.create_task(hold("queued", 5))
        await settle()
        assert got == ["holder"]
        clock.now = 10.0  # the limit may grow back to 2 now
        newcomer = asyncio.create_task(hold("newcomer", 1))
        await settle()
        try:
            assert limit.limit == 2
            assert got == ["holder", "queued"], "a place is free but the queued waiter was not woken"
            assert limit.in_flight == 2
        finally:
            release.set()
            await asyncio.gather(holder, queued, newcomer)

    run(main)


# -- adaptive limit: cancellation ------------------------------------------------------------------------------------


def test_a_cancelled_waiter_does_not_leak_a_place() -> None:
    async def main() -> None:
        limit = AdaptiveLimit(1)
        release = asyncio.Event()
        entered: list[str] = []

        async def hold(name: str) -> None:
            async with limit.slot(1):
                entered.append(name)
                await release.wait()

        holder = asyncio.create_task(hold("holder"))
        await settle()
        doomed = asyncio.create_task(hold("doomed"))
        await settle()
        doomed.cancel()
        await asyncio.gather(doomed, return_exceptions=True)
        assert doomed.cancelled()
        assert limit.in_flight == 1
        release.set()
        await holder
        assert limit.in_flight == 0
        release.clear()
        after = asyncio.create_task(hold("after"))
        await settle()
        assert entered == ["holder", "after"]
        assert limit.in_flight == 1
        release.set()
        await after
        assert limit.in_flight == 0

    run(main)


def test_a_waiter_cancelled_just_as_it_is_granted_gives_the_place_back() -> None:
    async def main() -> None:
        limit = AdaptiveLimit(1)
        release = asyncio.Event()
        entered: list[str] = []
        tasks: dict[str, asyncio.Task[None]] = {}

        async def hold(name: str) -> None:
            async with limit.slot(1):
                entered.append(name)
                await release.wait()

        async def holder() -> None:
            async with limit.slot(1):
                entered.append("holder")
                await release.wait()
            # Leaving the slot granted the place to `doomed`, which has not run yet: cancel it right now.
            assert limit.in_flight == 1
            tasks["doomed"].cancel()

        first = asyncio.create_task(holder())
        await settle()
        tasks["doomed"] = asyncio.create_task(hold("doomed"))
        await settle()
        release.set()
        await first
        await asyncio.gather(tasks["doomed"], return_exceptions=True)
        assert tasks["doomed"].cancelled()
        assert entered == ["holder"]
        assert limit.in_flight == 0
        release.clear()
        after = asyncio.create_task(hold("after"))
        await settle()
        assert entered == ["holder", "after"]
        release.set()
        await after
        assert limit.in_flight == 0

    run(main)


def test_a_holder_cancelled_inside_its_slot_releases_it() -> None:
    async def main() -> None:
        limit = AdaptiveLimit(1)
        forever = asyncio.Event()

        async def hold() -> None:
            async with limit.slot(0):
                await forever.wait()

        task = asyncio.create_task(hold())
        await settle()
        assert limit.in_flight == 1
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert limit.in_flight == 0
        await touch(limit)
        assert limit.in_flight == 0

    run(main)


def test_a_paused_limit_only_queues_and_opening_it_serves_the_highest_priority_first() -> None:
    async def main() -> list[float]:
        limit = AdaptiveLimit(2)
        limit.paused = True
        order: list[float] = []

        async def holder(priority: float) -> None:
            async with limit.slot(priority):
                order.append(priority)
                await asyncio.sleep(0.01)

        tasks = [asyncio.create_task(holder(p)) for p in (1.0, 5.0, 3.0, 9.0)]
        await settle()
        assert order == [] and limit.waiting == 4 and limit.in_flight == 0
        limit.open()
        await asyncio.gather(*tasks)
        return order

    assert run(main) == [9.0, 5.0, 3.0, 1.0]
