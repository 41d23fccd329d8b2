"""The simulator as either region: it knows only its own region's model ids (the other region's get the provider's
404), and a task made through an endpoint reports the model it serves while the list finds it by either id."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from volcenginesdkarkruntime import Ark
from volcenginesdkarkruntime._exceptions import ArkNotFoundError

from orchestrator.simulator.server import SimulatorServer
from tests.simulator.conftest import AUTH, TASKS, finished

pytestmark = pytest.mark.usefixtures("benign")
ENDPOINT = "ep-20250611150425-abcde"


def create(sim: SimulatorServer, model: str) -> httpx.Response:
    body = {"model": model, "content": [{"type": "text", "text": "a red apple"}], "resolution": "480p",
            "ratio": "16:9", "duration": 2}
    return httpx.post(f"{sim.base_url}{TASKS}", json=body, headers=AUTH)


def as_volcengine(sim: SimulatorServer, endpoints: dict[str, str] | None = None) -> SimulatorServer:
    sim.backend.config.region = "volcengine"
    sim.backend.config.endpoints = endpoints or {}
    return sim


def listed(sim: SimulatorServer, model: str) -> list[dict[str, Any]]:
    page = httpx.get(f"{sim.base_url}{TASKS}", params={"filter.model": model}, headers=AUTH).json()
    items: list[dict[str, Any]] = page["items"]
    return items


@pytest.mark.parametrize(("region", "model"), [
    ("byteplus", "doubao-seedance-1-0-pro-250528"),
    ("volcengine", "seedance-1-0-pro-250528"),
    ("volcengine", "dreamina-seedance-2-0-260128"),
    ("volcengine", "ep-20250611150425-zzzzz"),  # an endpoint the account does not have
])
def test_an_id_of_the_other_region_is_not_found(sim: SimulatorServer, region: str, model: str) -> None:
    sim.backend.config.region = region  # type: ignore[assignment]
    answer = create(sim, model)
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert (error["code"], error["type"], error["param"]) == ("InvalidEndpointOrModel.NotFound", "NotFound", "model")
    assert error["message"].startswith(f"The model or endpoint {model} does not exist or you do not have access to it.")
    assert sim.stats()["counters"].get("tasks_created", 0) == 0


def test_volcengine_ids_make_tasks_that_report_them(sim: SimulatorServer) -> None:
    as_volcengine(sim)
    answer = create(sim, "doubao-seedance-1-0-pro-250528")
    assert answer.status_code == 200, answer.text
    task = finished(sim, answer.json()["id"])
    assert (task["status"], task["model"]) == ("succeeded", "doubao-seedance-1-0-pro-250528")
    assert task["usage"]["completion_tokens"] == 864 * 480 * 49 // 1024


def test_an_endpoint_task_reports_its_model_and_is_listed_by_either_id(sim: SimulatorServer) -> None:
    as_volcengine(sim, {ENDPOINT: "doubao-seedance-1-0-pro-250528"})
    answer = create(sim, ENDPOINT)
    assert answer.status_code == 200, answer.text
    task = finished(sim, answer.json()["id"])
    assert task["model"] == "doubao-seedance-1-0-pro-250528"  # "model name-version", not the endpoint id
    assert (task["resolution"], task["ratio"]) == ("480p", "16:9")
    assert [t["id"] for t in listed(sim, ENDPOINT)] == [task["id"]]
    assert [t["id"] for t in listed(sim, "doubao-seedance-1-0-pro-250528")] == [task["id"]]
    assert listed(sim, "doubao-seedance-1-0-pro-fast-251015") == []


def test_an_endpoint_serving_another_regions_model_is_not_found(sim: SimulatorServer) -> None:
    as_volcengine(sim, {ENDPOINT: "seedance-1-0-pro-250528"})
    assert create(sim, ENDPOINT).status_code == 404


def test_the_endpoint_model_s_rules_apply(sim: SimulatorServer) -> None:
    """1.0 pro has no reference scenario: through an endpoint it refuses reference images as it would directly."""
    as_volcengine(sim, {ENDPOINT: "doubao-seedance-1-0-pro-250528"})
    body = {"model": ENDPOINT, "content": [
        {"type": "text", "text": "x"},
        {"type": "image_url", "image_url": {"url": "asset://a-1"}, "role": "reference_image"}]}
    answer = httpx.post(f"{sim.base_url}{TASKS}", json=body, headers=AUTH)
    assert answer.status_code == 400
    assert "reference media is not supported by doubao-seedance-1-0-pro-250528" in answer.json()["error"]["message"]


def test_the_volcengine_sdk_drives_the_simulator_in_the_volcengine_profile(sim: SimulatorServer) -> None:
    """The official Volcengine SDK, unchanged: create, get, list by model, delete."""
    as_volcengine(sim)
    ark = Ark(base_url=sim.base_url, api_key="test-key-not-secret", max_retries=0)
    created = ark.content_generation.tasks.create(
        model="doubao-seedance-1-0-pro-fast-251015",
        content=[{"type": "text", "text": "A dewy red apple on a wooden table"}],
        return_last_frame=True, seed=7, resolution="480p", ratio="16:9", duration=2,
    )
    assert created.id.startswith("cgt-")
    finished(sim, created.id)
    task = ark.content_generation.tasks.get(task_id=created.id)
    assert (task.status, task.model, task.seed, task.duration) == ("succeeded", "doubao-seedance-1-0-pro-fast-251015",
                                                                  7, 2)
    assert task.usage.completion_tokens == 864 * 480 * 49 // 1024
    assert task.content.last_frame_url
    page = ark.content_generation.tasks.list(model="doubao-seedance-1-0-pro-fast-251015")
    assert [t.id for t in page.items] == [created.id]
    ark.content_generation.tasks.delete(created.id)
    with pytest.raises(ArkNotFoundError):
        ark.content_generation.tasks.get(task_id=created.id)
