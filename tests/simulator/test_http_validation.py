"""Every synchronous rule of the simulated provider answers the provider's status, code and param, over HTTP."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
import pytest
from PIL import Image

from orchestrator.simulator.server import SimulatorServer
from tests.simulator.conftest import data_url

TASKS = "/contents/generations/tasks"
AUTH = {"Authorization": "Bearer k"}
M20 = "dreamina-seedance-2-0-260128"
# The tests here are about other things: list lag, read-after-write 404s and seed replacement are off.
pytestmark = pytest.mark.usefixtures("benign")


def png_url(width: int, height: int, fmt: str = "png") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(buffer, "PNG")
    return f"data:image/{fmt};base64," + base64.b64encode(buffer.getvalue()).decode()


def text(prompt: str = "an apple") -> dict[str, Any]:
    return {"type": "text", "text": prompt}


def image(url: str, role: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "image_url", "image_url": {"url": url}}
    if role is not None:
        item["role"] = role
    return item


def body(**fields: Any) -> dict[str, Any]:
    return {"model": M20, "content": [text()], **fields}


CASES: list[tuple[str, dict[str, Any], int, str, str]] = [
    ("missing model", {"content": [text()]}, 400, "MissingParameter", "model"),
    ("unknown model", body(model="seedance-9"), 404, "InvalidEndpointOrModel.NotFound", "model"),
    ("missing content", {"model": M20}, 400, "MissingParameter", "content"),
    ("empty content", body(content=[]), 400, "MissingParameter", "content"),
    ("duration out of range", body(duration=20), 400, "InvalidParameter", "duration"),
    ("duration wrong type", body(duration="5"), 400, "InvalidParameter", "duration"),
    ("resolution per model", body(model="dreamina-seedance-2-0-fast-260128", resolution="1080p"), 400,
     "InvalidParameter", "resolution"),
    ("unknown ratio", body(ratio="5:4"), 400, "InvalidParameter", "ratio"),
    ("adaptive t2v on 1.0", body(model="seedance-1-0-pro-250528", ratio="adaptive"), 400, "InvalidParameter", "ratio"),
    ("frames on 2.0", body(frames=57), 400, "InvalidParameter", "frames"),
    ("frames not 25+4n", body(model="seedance-1-0-pro-250528", frames=30), 400, "InvalidParameter", "frames"),
    ("flex on 2.0", body(service_tier="flex"), 400, "InvalidParameter.UnsupportedParameter", "service_tier"),
    ("service_tier default on 2.0", body(service_tier="default"), 400, "InvalidParameter.UnsupportedParameter",
     "service_tier"),
    ("service_tier on 2.5", body(model="dreamina-seedance-2-5-260628", service_tier="default"), 400,
     "InvalidParameter.UnsupportedParameter", "service_tier"),
    ("unknown service_tier on 1.0 pro", body(model="seedance-1-0-pro-250528", service_tier="offline"), 400,
     "InvalidParameter", "service_tier"),
    ("priority range", body(priority=10), 400, "InvalidParameter", "priority"),
    ("expiry range", body(execution_expires_after=100), 400, "InvalidParameter", "execution_expires_after"),
    ("seed range", body(seed=2**32), 400, "InvalidParameter", "seed"),
    ("draft on 2.0", body(draft=True), 400, "InvalidParameter", "draft"),
    ("bool wrong type", body(return_last_frame="yes"), 400, "InvalidParameter", "return_last_frame"),
    ("unknown content type", body(content=[{"type": "gif"}]), 400, "InvalidParameter", "content[0].type"),
    ("frame mixed with reference",
     body(content=[text(), image(data_url(), "first_frame"), image(data_url(), "reference_image")]),
     400, "InvalidParameter", "content"),
    ("two images without roles", body(content=[text(), image(data_url(), None), image(data_url(), None)]),
     400, "InvalidParameter", "content"),
    ("too many reference images", body(content=[text(), *[image(data_url(), "reference_image")] * 10]),
     400, "InvalidParameter", "content"),
    ("reference audio alone on 2.0",
     body(content=[text(), {"type": "audio_url", "audio_url": {"url": "https://example.com/a.mp3"},
                            "role": "reference_audio"}]), 400, "InvalidParameter", "content"),
    ("references on 1.5 pro", body(model="seedance-1-5-pro-251215",
                                   content=[text(), image(data_url(), "reference_image")]),
     400, "InvalidParameter", "content"),
    ("first+last on 1.0 pro fast", body(model="seedance-1-0-pro-fast-251015",
                                        content=[text(), image(data_url(), "first_frame"),
                                                 image(data_url(), "last_frame")]),
     400, "InvalidParameter", "content"),
    ("camera_fixed with references",
     body(camera_fixed=True, content=[text(), image(data_url(), "reference_image")]),
     400, "InvalidParameter", "camera_fixed"),
    ("image too small", body(content=[text(), image(png_url(200, 200), "first_frame")]), 400, "InvalidParameter",
     "content[1].image_url"),
    ("image aspect", body(content=[text(), image(png_url(1500, 400), "first_frame")]), 400, "InvalidParameter",
     "content[1].image_url"),
    ("uppercase data url format", body(content=[text(), image(png_url(640, 640, "PNG"), "first_frame")]), 400,
     "InvalidImageURL.InvalidFormat", "content[1].image_url"),
    ("empty image url", body(content=[text(), image("", "first_frame")]), 400, "InvalidImageURL.EmptyURL",
     "content[1].image_url"),
    ("bad base64", body(content=[text(), image("data:image/png;base64,@@@", "first_frame")]), 400,
     "InvalidImageURL.InvalidFormat", "content[1].image_url"),
    ("unreachable image url", body(content=[text(), image("http://127.0.0.1:9/x.png", "first_frame")]), 400,
     "InvalidParameter", "content[1].image_url"),
]


@pytest.mark.parametrize(("case", "payload", "status", "code", "param"), CASES, ids=[c[0] for c in CASES])
def test_rule_answers_the_providers_error(sim: SimulatorServer, case: str, payload: dict[str, Any], status: int,
                                          code: str, param: str) -> None:
    response = httpx.post(sim.base_url + TASKS, json=payload, headers=AUTH)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == (code, param)
    assert error["type"] in {"BadRequest", "NotFound"}
    assert "Request id: 021" in error["message"]
    assert response.headers["x-request-id"].startswith("021")
    assert sim.stats()["counters"].get("tasks_created", 0) == 0


@pytest.mark.parametrize(
    ("model", "tier", "echoed"),
    [
        ("seedance-1-0-pro-250528", "default", "default"),
        ("seedance-1-0-pro-250528", "flex", "flex"),
        ("seedance-1-5-pro-251215", "flex", "flex"),
        (M20, None, "default"),  # null is absent: the official SDK sends every unset field as null
    ],
)
def test_service_tier_accepted_where_the_model_takes_it(sim: SimulatorServer, model: str, tier: str | None,
                                                        echoed: str) -> None:
    response = httpx.post(sim.base_url + TASKS, json=body(model=model, service_tier=tier), headers=AUTH)
    assert response.status_code == 200, response.text
    task = httpx.get(f"{sim.base_url}{TASKS}/{response.json()['id']}", headers=AUTH).json()
    assert task["service_tier"] == echoed


def test_missing_or_wrong_key_is_401(sim: SimulatorServer) -> None:
    response = httpx.post(sim.base_url + TASKS, json=body())
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationError"
    assert response.headers["x-error-code"] == "AuthN_MissOrInvalidAuthorizationHeader"
    sim.backend.config.api_key = "right"
    assert httpx.post(sim.base_url + TASKS, json=body(), headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.post(sim.base_url + TASKS, json=body(), headers={"Authorization": "Bearer right"}).status_code == 200


def test_unknown_keys_are_ignored_and_null_means_absent(sim: SimulatorServer) -> None:
    payload = body(fps=30, parameters={"resolution": "1080p"}, seed=None, resolution=None, ratio=None)
    response = httpx.post(sim.base_url + TASKS, json=payload, headers=AUTH)
    assert response.status_code == 200, response.text
    task = httpx.get(f"{sim.base_url}{TASKS}/{response.json()['id']}", headers=AUTH).json()
    assert (task["resolution"], task["duration"], task["generate_audio"]) == ("720p", 5, True)
    assert isinstance(task["seed"], int)


def test_body_that_is_not_json_or_too_large(sim: SimulatorServer) -> None:
    bad = httpx.post(sim.base_url + TASKS, content=b"{not json", headers=AUTH)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "InvalidParameter")
    huge = httpx.post(sim.base_url + TASKS, content=b" " * (64_000_001), headers=AUTH)
    assert huge.status_code == 413


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"page_size": "0"}, "page_size"),
        ({"page_num": "501"}, "page_num"),
        ({"filter.status": "done"}, "filter.status"),
    ],
)
def test_list_rejects_bad_paging_and_filters(sim: SimulatorServer, params: dict[str, str], param: str) -> None:
    response = httpx.get(sim.base_url + TASKS, params=params, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_unknown_task_is_404(sim: SimulatorServer) -> None:
    response = httpx.get(f"{sim.base_url}{TASKS}/cgt-20260101000000-abcde", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "NotFound"
