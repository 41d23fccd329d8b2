"""The persistent store: tasks outlive the simulator that made them, as the provider keeps them for 7 days, and two
simulators may share one store at the same time (two runs of different storyboards)."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrator.simulator.backend import Backend
from orchestrator.simulator.config import SimConfig
from orchestrator.simulator.errors import ProviderError
from orchestrator.simulator.records import MediaBytes
from orchestrator.simulator.server import SimulatorServer, control
from orchestrator.simulator.validation import validate_create
from tests.simulator.conftest import BENIGN, data_url

TASKS = "/contents/generations/tasks"
AUTH = {"Authorization": "Bearer k"}
M20 = "dreamina-seedance-2-0-260128"
BODY: dict[str, Any] = {
    "model": M20, "resolution": "480p", "duration": 4, "seed": 99, "return_last_frame": True,
    "content": [{"type": "text", "text": "a kettle"},
                {"type": "image_url", "image_url": {"url": data_url()}, "role": "first_frame"}],
}


def config(store: Path, **changes: Any) -> SimConfig:
    settings: dict[str, Any] = {"speed": 1000.0, "queue_seconds": 0.0, "list_qps": None, "store_dir": store,
                                **BENIGN}
    return SimConfig(**{**settings, **changes})


def create(sim: SimulatorServer, **fields: Any) -> str:
    response = httpx.post(sim.base_url + TASKS, json={**BODY, **fields}, headers=AUTH)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["id"]
    return task_id


def get(sim: SimulatorServer, task_id: str) -> httpx.Response:
    return httpx.get(f"{sim.base_url}{TASKS}/{task_id}", headers=AUTH)


def wait(sim: SimulatorServer, task_id: str, until: set[str] | None = None, timeout: float = 60.0) -> dict[str, Any]:
    until = until or {"succeeded", "failed", "expired", "cancelled"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task: dict[str, Any] = get(sim, task_id).json()
        if task.get("status") in until:
            return task
        time.sleep(0.05)
    raise AssertionError(f"{task_id} never reached {until}")


def listed_ids(sim: SimulatorServer) -> list[str]:
    return [t["id"] for t in httpx.get(sim.base_url + TASKS, headers=AUTH).json()["items"]]


def on(sim: SimulatorServer, url: str) -> str:
    """The same file URL, served by another simulator instance."""
    return sim.root_url + url[url.index("/files/"):]


def test_a_later_simulator_serves_the_tasks_of_an_earlier_one(tmp_path: Path) -> None:
    with SimulatorServer(config(tmp_path)) as first:
        task_id = create(first)
        done = wait(first, task_id)
        video = httpx.get(done["content"]["video_url"]).content
    with SimulatorServer(config(tmp_path)) as second:
        assert second.root_url != first.root_url
        again = get(second, task_id).json()
        assert (again["status"], again["seed"], again["usage"]) == ("succeeded", 99, done["usage"])
        assert again["content"]["video_url"].startswith(second.root_url)  # signed for the serving instance
        assert httpx.get(again["content"]["video_url"]).content == video
        assert httpx.get(on(second, done["content"]["video_url"])).content == video  # the store keeps the key
        frame = httpx.get(again["content"]["last_frame_url"])
        assert frame.status_code == 200 and frame.content[:4] == b"\x89PNG"
        assert listed_ids(second) == [task_id]
        handed_on = {"type": "image_url", "image_url": {"url": done["content"]["last_frame_url"]},
                     "role": "first_frame"}
        chained = httpx.post(second.base_url + TASKS, headers=AUTH,
                             json={**BODY, "content": [{"type": "text", "text": "go on"}, handed_on]})
        # The provider's URLs outlive its front ends: the last frame handed on from the earlier port still works.
        assert chained.status_code == 200, chained.text
        wait(second, chained.json()["id"])
        assert httpx.delete(f"{second.base_url}{TASKS}/{chained.json()['id']}", headers=AUTH).status_code == 200
        assert httpx.delete(f"{second.base_url}{TASKS}/{task_id}", headers=AUTH).json() == {}
        assert get(second, task_id).status_code == 404
        assert httpx.get(again["content"]["video_url"]).status_code == 404
    assert not (tmp_path / "tasks" / task_id).exists()


def test_a_task_left_running_is_rendered_again_to_the_same_bytes(tmp_path: Path) -> None:
    with SimulatorServer(config(tmp_path, speed=1.0)) as first:  # a 4 s 480p run takes ~48 s at speed 1
        task_id = create(first)
        wait(first, task_id, {"running"})
    folder = tmp_path / "tasks" / task_id
    for name in ("video.mp4", "last_frame.png"):  # as if the process had died mid-render
        (folder / name).unlink(missing_ok=True)
    with SimulatorServer(config(tmp_path)) as second:
        assert second.stats()["counters"].get("tasks_adopted", 0) == 0  # taken over when first looked at
        done = wait(second, task_id)
        assert done["status"] == "succeeded"
        counters = second.stats()["counters"]
        assert (counters["tasks_adopted"], counters["rerenders"]) == (1, 1)
        twin = wait(second, create(second))  # the same request and seed, rendered from scratch
        for name in ("video_url", "last_frame_url"):
            assert httpx.get(done["content"][name]).content == httpx.get(twin["content"][name]).content


def test_two_simulators_on_one_store_see_each_others_tasks(tmp_path: Path) -> None:
    with SimulatorServer(config(tmp_path)) as one, SimulatorServer(config(tmp_path)) as two:
        mine = create(one)
        seen = wait(two, mine)  # `one` advances it; `two` reads its record
        assert seen["status"] == "succeeded"
        assert seen["content"]["video_url"].startswith(two.root_url)
        assert httpx.get(seen["content"]["video_url"]).status_code == 200
        theirs = create(two)
        assert wait(one, theirs)["status"] == "succeeded"
        assert sorted(listed_ids(one)) == sorted(listed_ids(two)) == sorted([mine, theirs])
        assert httpx.delete(f"{two.base_url}{TASKS}/{mine}", headers=AUTH).status_code == 200
        assert get(one, mine).status_code == 404  # deleted by the other: gone for its maker too
        assert one.stats()["counters"].get("tasks_adopted", 0) == 0  # nothing was taken from a live simulator
        one.backend.config.queue_seconds = 10_000.0  # stays queued, so the delete is a cancel
        queued = create(one)
        assert httpx.delete(f"{two.base_url}{TASKS}/{queued}", headers=AUTH).status_code == 200
        assert get(one, queued).json()["status"] == "cancelled"
        one.backend.config.queue_seconds = 0.0
        time.sleep(0.2)
        assert get(one, queued).json()["status"] == "cancelled"  # its maker never starts it


def test_task_ids_stay_unique_across_backends_on_one_store(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    backends = [Backend(config(tmp_path, queue_seconds=1000.0), clock=lambda: now, rng=random.Random(5))
                for _ in range(2)]
    try:
        spec = validate_create(BODY)
        ids = [b.create(spec, MediaBytes(), BODY).id for b in backends]  # same clock, same rng: same first guess
        assert ids[0] != ids[1]
        assert sorted(p.name for p in (tmp_path / "tasks").iterdir()) == sorted(ids)
    finally:
        for backend in backends:
            backend.close()


@pytest.mark.parametrize(("cancel", "later", "kept"), [
    (False, 7 * 86_400.0 - 10, True), (False, 7 * 86_400.0 + 1, False),
    (True, 86_400.0 - 10, True), (True, 86_400.0 + 1, False),
])
def test_records_are_pruned_after_the_providers_retention(tmp_path: Path, cancel: bool, later: float,
                                                           kept: bool) -> None:
    now = [1_800_000_000.0]
    settings = config(tmp_path, queue_seconds=1000.0, speed=1.0)
    first = Backend(settings, clock=lambda: now[0])
    task = first.create(validate_create(BODY), MediaBytes(), BODY)
    if cancel:
        first.delete(task.id)
    first.close()
    now[0] += later
    second = Backend(settings, clock=lambda: now[0])
    try:
        if kept:
            assert second.get(task.id)["status"] in {"cancelled", "expired"}
        else:
            with pytest.raises(ProviderError) as caught:
                second.get(task.id)
            assert caught.value.status == 404
            assert not (tmp_path / "tasks" / task.id).exists()
    finally:
        second.close()


def test_reset_forgets_the_stores_tasks(tmp_path: Path) -> None:
    with SimulatorServer(config(tmp_path)) as first:
        task_id = create(first)
        control(first.root_url, "reset")
        assert get(first, task_id).status_code == 404
    assert list((tmp_path / "tasks").glob("*/task.json")) == []  # (a render under way may still leave its files)
    with SimulatorServer(config(tmp_path)) as second:
        assert get(second, task_id).status_code == 404
        assert listed_ids(second) == []


def test_without_a_store_nothing_outlives_the_simulator(tmp_path: Path) -> None:
    with SimulatorServer(config(tmp_path, store_dir=None, data_dir=tmp_path / "data")) as sim:
        task_id = create(sim)
        wait(sim, task_id)
        assert sim.backend.store is None
    with SimulatorServer(config(tmp_path, store_dir=None)) as later:
        assert get(later, task_id).status_code == 404
    assert not (tmp_path / "tasks").exists()
