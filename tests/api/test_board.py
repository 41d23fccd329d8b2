"""The status board against the simulator over a real socket: looks due together are answered by one list call,
and by GETs when too few, when the list pace is taken, when the list does not show a task yet, or when joining the
round would answer a look late. Real sleeps of a few milliseconds (the window), nothing mocked."""

from __future__ import annotations

import asyncio

import pytest

from orchestrator.api import ArkClient, CreateTaskRequest
from orchestrator.api.board import StatusBoard
from orchestrator.api.pacer import Pacer
from orchestrator.simulator.server import SimulatorServer

pytestmark = pytest.mark.anyio
WINDOW = 0.05


def request(seed: int) -> CreateTaskRequest:
    return CreateTaskRequest.model_validate({
        "model": "dreamina-seedance-2-0-260128", "content": [{"type": "text", "text": f"a kite {seed}"}],
        "resolution": "480p", "duration": 4, "ratio": "16:9", "seed": seed, "return_last_frame": True})


def counts(sim: SimulatorServer) -> tuple[int, int]:
    counters = sim.stats()["counters"]
    return counters.get("requests.list", 0), counters.get("requests.get", 0)


async def made(sim: SimulatorServer, ark: ArkClient, n: int) -> list[str]:
    sim.backend.config.prerendered = True  # the looks are what is tested, not the renders
    ids = [await ark.create(request(seed)) for seed in range(n)]
    await asyncio.sleep(0.05)  # past the simulator's list lag and read-after-write window (FAST: 10 ms, 5 ms)
    return ids


async def test_looks_due_together_are_answered_by_one_list_call(sim: SimulatorServer) -> None:
    async with ArkClient("k", base_url=sim.base_url, pacer=Pacer(0.0)) as ark:
        ids = await made(sim, ark, 5)
        board = StatusBoard(ark, window=WINDOW)
        before = counts(sim)

        got = await asyncio.gather(*(board.get(i, due_in=d) for i, d in zip(ids, (0.06, 0.07, 0.08, 0.09, 0.1),
                                                                               strict=True)))

        assert [t.id for t in got] == ids
        assert counts(sim) == (before[0] + 1, before[1])  # one list call, no GET
        assert board.listed == 5


async def test_too_few_looks_or_a_taken_pace_are_answered_by_get(sim: SimulatorServer) -> None:
    async with ArkClient("k", base_url=sim.base_url, pacer=Pacer(3600.0)) as ark:
        ids = await made(sim, ark, 4)
        board = StatusBoard(ark, window=WINDOW)
        before = counts(sim)

        await asyncio.gather(*(board.get(i, due_in=0.01) for i in ids[:2]))  # two: not worth a list call
        assert counts(sim) == (before[0], before[1] + 2)
        ark.pacer.claim()  # the account's list call of this hour is taken
        await asyncio.gather(*(board.get(i, due_in=0.01) for i in ids))
        assert counts(sim) == (before[0], before[1] + 6)
        assert board.listed == 0


async def test_a_task_the_list_does_not_show_yet_is_asked_by_get(sim: SimulatorServer) -> None:
    sim.backend.config.list_lag_seconds = 3600.0 * sim.backend.config.speed  # new tasks stay off the list
    async with ArkClient("k", base_url=sim.base_url, pacer=Pacer(0.0)) as ark:
        ids = await made(sim, ark, 3)
        board = StatusBoard(ark, window=WINDOW)
        before = counts(sim)

        got = await asyncio.gather(*(board.get(i, due_in=0.02) for i in ids))

        assert [t.id for t in got] == ids
        assert counts(sim) == (before[0] + 1, before[1] + 3)


async def test_a_look_due_before_the_round_goes_alone_and_never_late(sim: SimulatorServer) -> None:
    async with ArkClient("k", base_url=sim.base_url, pacer=Pacer(0.0)) as ark:
        ids = await made(sim, ark, 4)
        board = StatusBoard(ark, window=0.5)
        loop = asyncio.get_running_loop()
        started = loop.time()
        answered: dict[str, float] = {}

        async def look(task_id: str, due: float) -> None:
            await board.get(task_id, due_in=due)
            answered[task_id] = loop.time() - started

        first = [asyncio.create_task(look(i, 0.4)) for i in ids[:3]]  # a round at 0.4 s
        await asyncio.sleep(0.05)
        await look(ids[3], 0.05)  # due at 0.1 s: it cannot wait for the round
        await asyncio.gather(*first)

        assert answered[ids[3]] < 0.3
        assert all(answered[i] >= 0.35 for i in ids[:3])
        assert board.listed == 3
