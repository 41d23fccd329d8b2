"""Odd and hostile requests get the provider's 4xx answers, never a 500 or a reset connection."""

from __future__ import annotations

import base64
import io
import struct
import time
import zlib
from typing import Any

import httpx
import pytest
from PIL import Image

from orchestrator.simulator.server import SimulatorServer
from tests.conftest import data_url

TASKS = "/contents/generations/tasks"
AUTH = {"Authorization": "Bearer k"}
M20 = "dreamina-seedance-2-0-260128"
# The tests here are about other things: list lag, read-after-write 404s and seed replacement are off.
pytestmark = pytest.mark.usefixtures("benign")


def png_claiming(width: int, height: int) -> str:
    """A valid-looking PNG header that announces a huge image (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    raw = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return "data:image/png;base64," + base64.b64encode(raw).decode()


def truncated_png() -> str:
    buffer = io.BytesIO()
    Image.effect_noise((800, 600), 60).convert("RGB").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()[:3000]).decode()


def with_image(url: str) -> dict[str, Any]:
    return {"model": M20, "content": [{"type": "text", "text": "x"},
                                      {"type": "image_url", "image_url": {"url": url}, "role": "first_frame"}]}


RAW_CASES: list[tuple[str, bytes]] = [
    ("list-valued type", b'{"model": "%s", "content": [{"type": []}]}' % M20.encode()),
    ("dict-valued role", b'{"model": "%s", "content": [{"type": "image_url", "image_url": {"url": "asset://a"},'
                         b' "role": ["first_frame"]}]}' % M20.encode()),
    ("5000-digit seed", b'{"model": "%s", "content": [{"type": "text", "text": "x"}], "seed": %s}'
     % (M20.encode(), b"9" * 5000)),
    ("huge duration", b'{"model": "%s", "content": [{"type": "text", "text": "x"}], "duration": %s}'
     % (M20.encode(), b"9" * 40)),
    ("lone surrogate", b'{"model": "%s", "content": [{"type": "text", "text": "x"}], "safety_identifier": "\\ud800"}'
     % M20.encode()),
    ("surrogate model", b'{"model": "\\ud800", "content": [{"type": "text", "text": "x"}]}'),
]


@pytest.mark.parametrize(("case", "raw"), RAW_CASES, ids=[c[0] for c in RAW_CASES])
def test_malformed_bodies_are_400(sim: SimulatorServer, case: str, raw: bytes) -> None:
    response = httpx.post(sim.base_url + TASKS, content=raw, headers=AUTH)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "BadRequest"


@pytest.mark.parametrize(
    ("case", "payload", "param"),
    [
        ("decompression bomb", with_image(png_claiming(20_000, 20_000)), "content[1].image_url"),
        ("truncated image", with_image(truncated_png()), "content[1].image_url"),
        ("video that is not a URL", {"model": M20, "content": [
            {"type": "text", "text": "x"}, {"type": "video_url", "video_url": {"url": "not a url"},
                                            "role": "reference_video"}]}, "content[1].video_url"),
        ("draft task on 2.0", {"model": M20, "content": [{"type": "draft_task", "draft_task": {"id": "cgt-x"}}]},
         "content"),
        ("callback that is not a URL", {"model": M20, "content": [{"type": "text", "text": "x"}],
                                        "callback_url": "not a url"}, "callback_url"),
    ],
)
def test_unusable_inputs_are_refused_at_create(sim: SimulatorServer, case: str, payload: dict[str, Any],
                                               param: str) -> None:
    response = httpx.post(sim.base_url + TASKS, json=payload, headers=AUTH)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert sim.stats()["counters"].get("tasks_created", 0) == 0


def test_odd_query_and_signature_values(sim: SimulatorServer) -> None:
    assert httpx.get(sim.base_url + TASKS, params={"page_num": "\u00b2"}, headers=AUTH).status_code == 400
    assert httpx.get(f"{sim.root_url}/files/x/video.mp4", params={"signature": "\u00e9", "expires": "1"}
                     ).status_code == 403


def test_control_plane_rejects_bad_rules_with_400(sim: SimulatorServer) -> None:
    assert httpx.post(f"{sim.root_url}/_sim/faults", json={"endpoint": "nowhere", "kind": "429"}).status_code == 400
    assert httpx.post(f"{sim.root_url}/_sim/faults", content=b"{").status_code == 400
    assert httpx.post(f"{sim.root_url}/_sim/config", json={"speed": -1}).status_code == 400
    assert httpx.post(f"{sim.root_url}/_sim/config", json={"no_such": 1}).status_code == 400


def test_expired_or_deleted_chained_frame_is_a_failed_fetch(sim: SimulatorServer) -> None:
    """What a chained create sees when its parent's last-frame URL is no longer valid (DESIGN §6 fallback)."""
    payload = {"model": M20, "content": [{"type": "text", "text": "x"}], "resolution": "480p", "duration": 4,
               "return_last_frame": True}
    task_id = httpx.post(sim.base_url + TASKS, json=payload, headers=AUTH).json()["id"]
    for _ in range(300):
        task = httpx.get(f"{sim.base_url}{TASKS}/{task_id}", headers=AUTH).json()
        if task["status"] == "succeeded":
            break
        time.sleep(0.05)
    frame_url = task["content"]["last_frame_url"]
    httpx.delete(f"{sim.base_url}{TASKS}/{task_id}", headers=AUTH)
    response = httpx.post(sim.base_url + TASKS, json=with_image(frame_url), headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "content[1].image_url"
    assert "resource download failed" in response.json()["error"]["message"]


def test_create_echoes_the_safety_identifier(sim: SimulatorServer) -> None:
    payload = {"model": M20, "content": [{"type": "text", "text": "x"}], "safety_identifier": "user-1"}
    answer = httpx.post(sim.base_url + TASKS, json=payload, headers=AUTH).json()
    assert answer["safety_identifier"] == "user-1" and answer["id"].startswith("cgt-")


def test_list_rate_limit_when_enabled(sim: SimulatorServer) -> None:
    sim.backend.config.list_qps = 1.0
    assert httpx.get(sim.base_url + TASKS, headers=AUTH).status_code == 200
    second = httpx.get(sim.base_url + TASKS, headers=AUTH)
    assert (second.status_code, second.json()["error"]["code"]) == (429, "AccountRateLimitExceeded")


def test_exif_rotation_decides_the_adaptive_ratio(sim: SimulatorServer) -> None:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, displayed portrait
    Image.new("RGB", (1200, 675), (0, 0, 255)).save(buffer, "JPEG", exif=exif)
    url = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
    task_id = httpx.post(sim.base_url + TASKS, json=with_image(url), headers=AUTH).json()["id"]
    assert httpx.get(f"{sim.base_url}{TASKS}/{task_id}", headers=AUTH).json()["ratio"] == "9:16"
    assert data_url()  # the shared helper still works alongside
