"""Our client against the simulator over a real loopback socket: it survives every fault the control plane can
inject, and never loses or duplicates a task (the issue's "done when")."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from pathlib import Path

import httpx
import pytest

from orchestrator.api import AmbiguousCreate, ArkClient, CreateTaskRequest, Task
from orchestrator.api.reconcile import Verdict, reconcile
from orchestrator.errors import ConfigError
from orchestrator.simulator.faults import CallFault, TaskFault
from orchestrator.simulator.server import SimulatorServer
from tests.api.conftest import Sleeps

pytestmark = pytest.mark.anyio
MODEL = "dreamina-seedance-2-0-260128"


def request(seed: int = 4242) -> CreateTaskRequest:
    return CreateTaskRequest.model_validate({
        "model": MODEL, "content": [{"type": "text", "text": "a red apple"}], "resolution": "480p",
        "duration": 4, "ratio": "16:9", "seed": seed, "return_last_frame": True,
    })


def client(sim: SimulatorServer, sleeps: Sleeps, timeout: float = 5.0) -> ArkClient:
    return ArkClient("sim-key", base_url=sim.base_url, sleep=sleeps, rng=random.Random(1), timeout=timeout)


async def finished(ark: ArkClient, task_id: str) -> Task:
    """Poll (really sleeping a little: the simulator renders in real time) until the task is terminal."""
    import anyio

    for _ in range(600):
        task = await ark.get(task_id)
        if task.terminal:
            return task
        await anyio.sleep(0.05)
    raise AssertionError(f"{task_id} did not finish")


@pytest.mark.usefixtures("benign")  # about something else: no list lag, early 404s or seed replacement
async def test_create_get_list_download_delete(sim: SimulatorServer, sleeps: Sleeps, tmp_path: Path) -> None:
    async with client(sim, sleeps) as ark:
        task_id = await ark.create(request())
        task = await finished(ark, task_id)
        assert task.succeeded and task.usage is not None and task.usage.completion_tokens == 40594
        page = await ark.list(task_ids=[task_id, "cgt-20260101000000-zzzzz"], status="succeeded", model=MODEL)
        assert [t.id for t in page.items] == [task_id]
        assert task.content is not None and task.content.video_url and task.content.last_frame_url
        size = await ark.download(task.content.video_url, tmp_path / "clip.mp4")
        assert size == (tmp_path / "clip.mp4").stat().st_size > 1000
        await ark.delete(task_id)
    assert sim.stats()["counters"]["tasks_created"] == 1


@pytest.mark.usefixtures("benign")  # about something else: no list lag, early 404s or seed replacement
@pytest.mark.parametrize(
    "fault",
    [
        CallFault(endpoint="get", kind="429", count=2, retry_after="3"),
        CallFault(endpoint="get", kind="429", count=2),
        CallFault(endpoint="get", kind="500", count=2),
        CallFault(endpoint="get", kind="503", count=2),
        CallFault(endpoint="get", kind="drop", count=2),
        CallFault(endpoint="get", kind="stall", count=1, stall_seconds=1.5),
        CallFault(endpoint="list", kind="503", count=1),
        CallFault(endpoint="delete", kind="drop", count=1),
    ],
    ids=lambda f: f"{f.endpoint}-{f.kind}-{f.retry_after or ''}",
)
async def test_reads_recover_from_call_faults(sim: SimulatorServer, sleeps: Sleeps, fault: CallFault) -> None:
    async with client(sim, sleeps, timeout=0.5) as ark:
        task_id = await ark.create(request())
        await finished(ark, task_id)
        before = sim.stats()["counters"].get(f"requests.{fault.endpoint}", 0)
        sim.arm(fault)
        if fault.endpoint == "list":
            assert (await ark.list(task_ids=[task_id])).total == 1
        elif fault.endpoint == "delete":
            await ark.delete(task_id)
        else:
            assert (await ark.get(task_id)).succeeded
        calls = sim.stats()["counters"][f"requests.{fault.endpoint}"] - before
    assert calls == fault.count + 1  # each faulty answer was retried once, then the real one
    if fault.retry_after:
        assert sleeps.waits[-2:] == [3.0, 3.0]  # Retry-After honoured
    assert sim.stats()["counters"]["tasks_created"] == 1


@pytest.mark.usefixtures("benign")  # about something else: no list lag, early 404s or seed replacement
@pytest.mark.parametrize("kind", ["429", "503"])
async def test_create_refusals_are_retried_and_5xx_is_never_resent(
    sim: SimulatorServer, sleeps: Sleeps, kind: str
) -> None:
    sim.arm(CallFault(endpoint="create", kind=kind, count=2))  # type: ignore[arg-type]
    async with client(sim, sleeps) as ark:
        if kind == "429":
            task_id = await ark.create(request())
            assert (await finished(ark, task_id)).succeeded
            assert sim.stats()["counters"]["requests.create"] == 3
            assert sim.stats()["counters"]["tasks_created"] == 1
        else:  # a 5xx may hide a created task: the client must not resend, whatever actually happened
            with pytest.raises(AmbiguousCreate):
                await ark.create(request())
            assert sim.stats()["counters"]["requests.create"] == 1
            assert sim.stats()["counters"].get("tasks_created", 0) == 0


async def find(ark: ArkClient, caught: AmbiguousCreate, sent: float, exclude: set[str] | None = None) -> Verdict:
    """Reconcile as the engine does, against the simulator's hostile defaults (list lag, no seed echo): the window
    scaled to the simulator's speed, waiting for real."""
    return await reconcile(ark, caught.request, sent, exclude=exclude or set(), scale=0.05, clock=time.time,
                           sleep=asyncio.sleep)  # a 3 s window: longer than any lag these tests set


@pytest.mark.parametrize(
    "fault",
    [CallFault(endpoint="create", kind="500", phase="after"), CallFault(endpoint="create", kind="drop", phase="after"),
     CallFault(endpoint="create", kind="stall", phase="after", stall_seconds=2.0)],
    ids=["500", "drop", "stall"],
)
async def test_ambiguous_create_is_reconciled_to_the_orphan(sim: SimulatorServer, sleeps: Sleeps,
                                                            fault: CallFault) -> None:
    sim.backend.config.list_lag_seconds = 1500.0  # 1.5 s at this speed: the first look misses it
    sim.arm(fault)
    async with client(sim, sleeps, timeout=0.5) as ark:
        sent = time.time()
        with pytest.raises(AmbiguousCreate) as caught:
            await ark.create(request(seed=777))
        assert caught.value.seed == 777
        verdict = await find(ark, caught.value, sent)
        assert verdict.found is not None
        assert sim.backend.tasks[verdict.found.id].seed == 777  # made from our request (the echo is not the seed)
        assert (await finished(ark, verdict.found.id)).succeeded
    stats = sim.stats()
    assert stats["counters"]["requests.create"] == 1  # never resent
    assert stats["counters"]["tasks_created"] == 1  # zero duplicates
    assert stats["counters"]["list_hidden"] >= 1  # the lag did hide it at first


async def test_ambiguous_create_that_made_nothing_reconciles_to_none(sim: SimulatorServer, sleeps: Sleeps) -> None:
    sim.arm(CallFault(endpoint="create", kind="500"))  # refused before any task existed
    async with client(sim, sleeps) as ark:
        sent = time.time()
        with pytest.raises(AmbiguousCreate) as caught:
            await ark.create(request(seed=9))
        assert await find(ark, caught.value, sent) == Verdict()
    assert sim.stats()["counters"].get("tasks_created", 0) == 0


async def test_reconcile_picks_the_orphan_among_tasks_the_caller_owns(sim: SimulatorServer, sleeps: Sleeps) -> None:
    async with client(sim, sleeps, timeout=0.5) as ark:
        others = {await ark.create(request(seed=s)) for s in (1, 2, 3)}  # alike in everything the list echoes
        sim.arm(CallFault(endpoint="create", kind="drop", phase="after"))
        sent = time.time()
        with pytest.raises(AmbiguousCreate) as caught:
            await ark.create(request(seed=5))
        unowned = await find(ark, caught.value, sent)
        verdict = await find(ark, caught.value, sent, exclude=others)
    assert unowned.ambiguous and len(unowned.candidates) == 4  # nothing tells them apart: reported, not guessed
    assert verdict.found is not None and verdict.found.id not in others
    assert sim.backend.tasks[verdict.found.id].seed == 5
    assert sim.stats()["counters"]["tasks_created"] == 4


@pytest.mark.usefixtures("benign")  # about something else: no list lag, early 404s or seed replacement
async def test_truncated_download_is_retried_to_a_complete_file(sim: SimulatorServer, sleeps: Sleeps,
                                                                tmp_path: Path) -> None:
    async with client(sim, sleeps) as ark:
        task = await finished(ark, await ark.create(request()))
        assert task.content is not None and task.content.video_url
        whole = httpx.get(task.content.video_url).content
        sim.arm(CallFault(endpoint="download", kind="truncate", count=2))
        await ark.download(task.content.video_url, tmp_path / "clip.mp4")
    assert hashlib.sha256((tmp_path / "clip.mp4").read_bytes()).digest() == hashlib.sha256(whole).digest()
    assert list(tmp_path.iterdir()) == [tmp_path / "clip.mp4"]  # no temp file left behind


@pytest.mark.usefixtures("benign")  # about something else: no list lag, early 404s or seed replacement
@pytest.mark.parametrize(("outcome", "code"), [("failed", "OutputVideoSensitiveContentDetected"), ("expired", None)])
async def test_task_faults_surface_with_their_code(sim: SimulatorServer, sleeps: Sleeps, outcome: str,
                                                   code: str | None) -> None:
    sim.arm(TaskFault(outcome=outcome))  # type: ignore[arg-type]
    async with client(sim, sleeps) as ark:
        task = await finished(ark, await ark.create(request()))
    assert (task.status.value, task.terminal, task.succeeded) == (outcome, True, False)
    assert (task.error.code if task.error else None) == code


@pytest.mark.usefixtures("benign")  # about something else: no list lag, early 404s or seed replacement
async def test_delete_whose_answer_was_lost_still_succeeds(sim: SimulatorServer, sleeps: Sleeps) -> None:
    sim.backend.config.queue_seconds = 1000.0  # stays queued, so the delete is a cancel
    async with client(sim, sleeps) as ark:
        task_id = await ark.create(request())
        sim.arm(CallFault(endpoint="delete", kind="drop", phase="after"))
        await ark.delete(task_id)
        assert (await ark.get(task_id)).status.value == "cancelled"
    assert sim.stats()["counters"]["requests.delete"] == 2


async def test_reconcile_never_adopts_a_task_the_caller_already_owns(sim: SimulatorServer, sleeps: Sleeps) -> None:
    async with client(sim, sleeps, timeout=0.5) as ark:
        sibling = await ark.create(request(seed=42))  # another shot with the same pinned seed
        sim.arm(CallFault(endpoint="create", kind="500"))  # refused: no task made this time
        sent = time.time()
        with pytest.raises(AmbiguousCreate) as caught:
            await ark.create(request(seed=42))
        assert (await find(ark, caught.value, sent)).found is not None  # without exclusion the sibling looks like it
        assert await find(ark, caught.value, sent, exclude={sibling}) == Verdict()


@pytest.mark.parametrize("bad", ["key\nwith-newline-inside", "clé-non-ascii", "tab\tinside"])
def test_unsendable_api_key_is_a_config_error_that_does_not_echo_it(bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ArkClient(bad, base_url="http://127.0.0.1:9/api/v3")
    assert bad not in str(caught.value)
    assert "with-newline" not in str(caught.value) and "non-ascii" not in str(caught.value)


async def test_a_trailing_newline_from_an_env_file_is_stripped(sim: SimulatorServer, sleeps: Sleeps) -> None:
    sim.backend.config.api_key = "exact-key"
    async with ArkClient("exact-key\n", base_url=sim.base_url, sleep=sleeps) as ark:
        assert (await ark.list()).total == 0


async def test_an_ambiguous_create_through_an_endpoint_is_reconciled_to_a_task_reporting_the_model(
        sim: SimulatorServer, sleeps: Sleeps) -> None:
    """Through an endpoint the task reports the model it serves ("model name-version"), not the id we sent: the
    orphan is still found, by the list filtered on the endpoint id."""
    endpoint, served = "ep-20250611150425-abcde", "doubao-seedance-1-0-pro-250528"
    sim.backend.config.region = "volcengine"
    sim.backend.config.endpoints = {endpoint: served}
    sim.backend.config.list_lag_seconds = 1500.0
    sim.arm(CallFault(endpoint="create", kind="500", phase="after"))
    req = request(seed=31).model_copy(update={"model": endpoint, "duration": 2})
    async with client(sim, sleeps, timeout=0.5) as ark:
        sent = time.time()
        with pytest.raises(AmbiguousCreate) as caught:
            await ark.create(req)
        verdict = await find(ark, caught.value, sent)
        assert verdict.found is not None
        assert verdict.found.model == served
        assert sim.backend.tasks[verdict.found.id].seed == 31
    assert sim.stats()["counters"]["tasks_created"] == 1
