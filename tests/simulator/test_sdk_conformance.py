"""The official BytePlus SDK, unchanged, drives the simulator: create with every documented field, get, list
with filters, delete; its typed objects carry every field the simulator returns."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from byteplussdkarkruntime import Ark
from byteplussdkarkruntime._exceptions import ArkBadRequestError, ArkNotFoundError

from orchestrator.simulator.server import SimulatorServer
from tests.simulator.conftest import data_url

MODEL = "dreamina-seedance-2-0-260128"
KEY = "test-key-not-secret"
# The tests here are about other things: list lag, read-after-write 404s and seed replacement are off.
pytestmark = pytest.mark.usefixtures("benign")


@pytest.fixture
def ark(sim: SimulatorServer) -> Ark:
    """The SDK pointed at the simulator; no retries so each call is one request we can count."""
    return Ark(base_url=sim.base_url, api_key=KEY, max_retries=0)


def wait_done(ark: Ark, task_id: str, timeout: float = 30.0) -> Any:
    """Poll like the official samples, but also stop on expired/cancelled."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = ark.content_generation.tasks.get(task_id=task_id)
        if task.status in {"succeeded", "failed", "expired", "cancelled"}:
            return task
        time.sleep(0.05)
    raise AssertionError(f"{task_id} did not finish")


def test_create_with_every_documented_field_then_get(ark: Ark, sim: SimulatorServer) -> None:
    # service_tier=None: the 2.x models refuse the field itself, even "default"; null is how the SDK leaves it unset.
    created = ark.content_generation.tasks.create(
        model=MODEL,
        content=[
            {"type": "text", "text": "A dewy red apple on a wooden table, slow push-in"},
            {"type": "image_url", "image_url": {"url": data_url()}, "role": "first_frame"},
        ],
        safety_identifier="user-42", callback_url=None, return_last_frame=True, service_tier=None,
        execution_expires_after=3600, priority=3, generate_audio=True, draft=False, camera_fixed=False,
        watermark=False, seed=1234, resolution="480p", ratio="adaptive", duration=4,
    )
    assert created.id.startswith("cgt-")
    task = wait_done(ark, created.id)
    assert task.status == "succeeded"
    assert (task.model, task.seed, task.resolution, task.ratio, task.duration) == (MODEL, 1234, "480p", "16:9", 4)
    assert task.usage.completion_tokens == 864 * 496 * 97 // 1024
    assert task.safety_identifier == "user-42"
    assert (task.priority, task.execution_expires_after, task.framespersecond) == (3, 3600, 24)
    assert task.service_tier == "default"
    video = httpx.get(task.content.video_url)
    frame = httpx.get(task.content.last_frame_url)
    assert video.status_code == frame.status_code == 200
    assert video.content[4:8] == b"ftyp"
    assert frame.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_sdk_objects_carry_every_field_the_simulator_returns(ark: Ark, sim: SimulatorServer) -> None:
    created = ark.content_generation.tasks.create(
        model=MODEL, content=[{"type": "text", "text": "tea"}], resolution="480p", duration=4,
        return_last_frame=True,
    )
    wait_done(ark, created.id)
    raw = httpx.get(f"{sim.base_url}/contents/generations/tasks/{created.id}",
                    headers={"Authorization": f"Bearer {KEY}"}).json()
    typed = ark.content_generation.tasks.get(task_id=created.id)
    for key, value in raw.items():
        parsed = getattr(typed, key)
        as_data = parsed.model_dump() if hasattr(parsed, "model_dump") else parsed
        if isinstance(value, dict):
            assert {k: as_data[k] for k in value} == value, key
        else:
            assert as_data == value, key


def test_list_with_filters_and_paging(ark: Ark, sim: SimulatorServer) -> None:
    ids = [ark.content_generation.tasks.create(model=MODEL, content=[{"type": "text", "text": f"shot {i}"}],
                                               resolution="480p", duration=4).id for i in range(3)]
    for task_id in ids:
        wait_done(ark, task_id)
    everything = ark.content_generation.tasks.list(page_size=2, page_num=1)
    assert everything.total == 3
    assert len(everything.items) == 2
    picked = ark.content_generation.tasks.list(task_ids=ids[:2], status="succeeded", model=MODEL,
                                               service_tier="default")
    assert picked.total == 2
    assert {t.id for t in picked.items} == set(ids[:2])
    assert ark.content_generation.tasks.list(status="queued").total == 0
    assert ark.content_generation.tasks.list(model="seedance-1-0-pro-250528").total == 0


def test_delete_then_get_is_not_found(ark: Ark, sim: SimulatorServer) -> None:
    task_id = ark.content_generation.tasks.create(model=MODEL, content=[{"type": "text", "text": "x"}],
                                                  resolution="480p", duration=4).id
    wait_done(ark, task_id)
    ark.content_generation.tasks.delete(task_id)
    with pytest.raises(ArkNotFoundError):
        ark.content_generation.tasks.get(task_id=task_id)


def test_sdk_surfaces_provider_error_codes(ark: Ark) -> None:
    with pytest.raises(ArkBadRequestError) as caught:
        ark.content_generation.tasks.create(model=MODEL, content=[{"type": "text", "text": "x"}], duration=20)
    assert caught.value.code == "InvalidParameter"
    assert caught.value.param == "duration"
