"""Task lifecycle, account limits, files, callbacks and faults of the simulator, over a real socket."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
from PIL import Image

from orchestrator.simulator.backend import Backend
from orchestrator.simulator.config import SimConfig
from orchestrator.simulator.faults import CallFault, TaskFault
from orchestrator.simulator.server import SimulatorServer, control
from tests.simulator.conftest import APPLE, AUTH, BENIGN, TASKS, data_url, finished

M20 = "dreamina-seedance-2-0-260128"
# The tests here are about other things: list lag, read-after-write 404s and seed replacement are off.
pytestmark = pytest.mark.usefixtures("benign")


def create(sim: SimulatorServer, **fields: Any) -> httpx.Response:
    payload = {"model": M20, "content": [{"type": "text", "text": "tea"}], "resolution": "480p", "duration": 4,
               **fields}
    return httpx.post(sim.base_url + TASKS, json=payload, headers=AUTH)


def get(sim: SimulatorServer, task_id: str) -> dict[str, Any]:
    response = httpx.get(f"{sim.base_url}{TASKS}/{task_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_task_id_format_and_succeeded_shape(sim: SimulatorServer) -> None:
    task_id = create(sim, return_last_frame=True).json()["id"]
    assert len(task_id) == len("cgt-20260611150425-ggtng")
    assert task_id[:4] == "cgt-" and task_id[4:18].isdigit() and task_id[19:].isalnum()
    task = finished(sim, task_id)
    assert task["status"] == "succeeded"
    assert set(task["content"]) == {"video_url", "last_frame_url"}
    assert task["usage"] == {"completion_tokens": 40594, "total_tokens": 40594}
    assert "X-Tos-Expires=86400" in task["content"]["video_url"]


def test_queued_and_running_tasks_carry_no_content(sim: SimulatorServer) -> None:
    sim.backend.config.speed = 1.0
    sim.backend.config.queue_seconds = 30.0
    task = get(sim, create(sim).json()["id"])
    assert task["status"] == "queued"
    assert "content" not in task and "usage" not in task


def test_concurrency_limit_queues_the_rest_and_priority_orders_them(sim: SimulatorServer) -> None:
    sim.backend.config.concurrency = 1
    sim.backend.config.speed = 0.5  # long enough that the first stays running
    first = create(sim).json()["id"]
    low = create(sim, priority=0).json()["id"]
    high = create(sim, priority=9).json()["id"]
    time.sleep(0.2)
    assert [get(sim, t)["status"] for t in (first, low, high)] == ["running", "queued", "queued"]
    sim.backend.config.speed = 1000.0
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = httpx.get(sim.base_url + TASKS, params={"filter.task_ids": [low, high]}, headers=AUTH).json()
        status = {t["id"]: t["status"] for t in page["items"]}
        seen.append((status[high], status[low]))
        assert not (status[high] == "queued" and status[low] != "queued"), "low priority overtook high"
        if status[low] == "succeeded":
            break
        time.sleep(0.05)
    assert ("running", "queued") in seen
    assert seen[-1] == ("succeeded", "succeeded")


def test_rpm_limit_answers_429(sim: SimulatorServer) -> None:
    sim.backend.config.rpm_limit = 2
    assert [create(sim).status_code for _ in range(2)] == [200, 200]
    refused = create(sim)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "ModelAccountRpmRateLimitExceeded"
    assert sim.stats()["counters"]["tasks_created"] == 2


def test_queue_cap_answers_quota_exceeded(sim: SimulatorServer) -> None:
    sim.backend.config.speed = 1.0
    sim.backend.config.queue_seconds = 60.0
    sim.backend.config.queue_cap = 2
    assert [create(sim).status_code for _ in range(2)] == [200, 200]
    refused = create(sim)
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, "QuotaExceeded")


def test_delete_semantics(sim: SimulatorServer) -> None:
    sim.backend.config.speed = 1.0
    sim.backend.config.queue_seconds = 60.0
    queued = create(sim).json()["id"]
    assert httpx.delete(f"{sim.base_url}{TASKS}/{queued}", headers=AUTH).json() == {}
    assert get(sim, queued)["status"] == "cancelled"
    again = httpx.delete(f"{sim.base_url}{TASKS}/{queued}", headers=AUTH)
    assert again.status_code == 400
    listed = httpx.get(sim.base_url + TASKS, params={"filter.status": "cancelled"}, headers=AUTH).json()
    assert [t["id"] for t in listed["items"]] == [queued]
    sim.backend.config.queue_seconds = 0.0
    sim.backend.config.speed = 0.5
    running = create(sim).json()["id"]
    time.sleep(0.2)
    assert get(sim, running)["status"] == "running"
    assert httpx.delete(f"{sim.base_url}{TASKS}/{running}", headers=AUTH).status_code == 400
    sim.backend.config.speed = 1000.0
    finished(sim, running)
    assert httpx.delete(f"{sim.base_url}{TASKS}/{running}", headers=AUTH).status_code == 200
    assert httpx.get(f"{sim.base_url}{TASKS}/{running}", headers=AUTH).status_code == 404


def test_same_request_and_seed_give_identical_files(sim: SimulatorServer) -> None:
    content = [{"type": "text", "text": "apple"}, {"type": "image_url", "image_url": {"url": data_url()},
                                                    "role": "first_frame"}]
    tasks = [finished(sim, create(sim, content=content, seed=7, return_last_frame=True).json()["id"]) for _ in range(2)]
    videos = [httpx.get(t["content"]["video_url"]).content for t in tasks]
    frames = [httpx.get(t["content"]["last_frame_url"]).content for t in tasks]
    assert videos[0] == videos[1] and frames[0] == frames[1]
    other = finished(sim, create(sim, content=content, seed=8).json()["id"])
    assert httpx.get(other["content"]["video_url"]).content != videos[0]


def test_last_frame_png_has_the_video_size_and_no_url_unless_asked(sim: SimulatorServer) -> None:
    with_frame = finished(sim, create(sim, return_last_frame=True, ratio="9:16").json()["id"])
    png = Image.open(io.BytesIO(httpx.get(with_frame["content"]["last_frame_url"]).content))
    assert (png.format, png.size) == ("PNG", (496, 864))
    without = finished(sim, create(sim).json()["id"])
    assert "last_frame_url" not in without["content"]


def test_a_returned_last_frame_url_chains_into_the_next_task(sim: SimulatorServer) -> None:
    parent = finished(sim, create(sim, return_last_frame=True).json()["id"])
    frame = {"type": "image_url", "image_url": {"url": parent["content"]["last_frame_url"]}, "role": "first_frame"}
    child = finished(sim, create(sim, content=[{"type": "text", "text": "go on"}, frame]).json()["id"])
    assert (child["status"], child["ratio"]) == ("succeeded", "16:9")


def test_signed_urls_expire_with_403_and_reject_tampering(sim: SimulatorServer) -> None:
    task = finished(sim, create(sim).json()["id"])
    url = task["content"]["video_url"]
    assert httpx.get(url.replace("signature=", "signature=0")).status_code == 403
    sim.backend.clock = lambda: time.time() + 86_401
    try:
        assert httpx.get(url).status_code == 403
    finally:
        sim.backend.clock = time.time


def test_tasks_expire_after_execution_expires_after() -> None:
    now = [1_800_000_000.0]
    backend = Backend(SimConfig(speed=1.0, queue_seconds=10_000.0, **BENIGN), clock=lambda: now[0])
    with SimulatorServer(backend=backend) as sim:
        task_id = create(sim, execution_expires_after=3600).json()["id"]
        assert get(sim, task_id)["status"] == "queued"
        now[0] += 3601
        assert get(sim, task_id)["status"] == "expired"


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_callbacks_post_every_status_change(sim: SimulatorServer, receiver: str) -> None:
    task_id = create(sim, callback_url=receiver).json()["id"]
    finished(sim, task_id)
    deadline = time.monotonic() + 5
    while len(_Receiver.received) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [b["status"] for b in _Receiver.received] == ["queued", "running", "succeeded"]
    assert all(b["id"] == task_id for b in _Receiver.received)
    assert "content" in _Receiver.received[-1]


@pytest.mark.parametrize(("kind", "status"), [("429", 429), ("500", 500), ("503", 503)])
def test_call_faults_answer_their_status(sim: SimulatorServer, kind: str, status: int) -> None:
    control(sim.root_url, "faults", {"endpoint": "get", "kind": kind, "count": 2, "retry_after": "3"})
    task_id = create(sim).json()["id"]
    first = httpx.get(f"{sim.base_url}{TASKS}/{task_id}", headers=AUTH)
    assert first.status_code == status
    assert first.headers.get("retry-after") == ("3" if kind == "429" else None)
    assert httpx.get(f"{sim.base_url}{TASKS}/{task_id}", headers=AUTH).status_code == status
    assert httpx.get(f"{sim.base_url}{TASKS}/{task_id}", headers=AUTH).status_code == 200
    assert sim.stats()["counters"]["requests.get"] == 3


def test_drop_and_stall_and_truncate(sim: SimulatorServer) -> None:
    sim.arm(CallFault(endpoint="list", kind="drop"))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(sim.base_url + TASKS, headers=AUTH)
    sim.arm(CallFault(endpoint="list", kind="stall", stall_seconds=1.0))
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(sim.base_url + TASKS, headers=AUTH, timeout=0.3)
    task = finished(sim, create(sim).json()["id"])
    sim.arm(CallFault(endpoint="download", kind="truncate"))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(task["content"]["video_url"])
    assert len(httpx.get(task["content"]["video_url"]).content) > 1000


def test_create_fault_after_the_task_exists_is_ambiguous(sim: SimulatorServer) -> None:
    sim.arm(CallFault(endpoint="create", kind="500", phase="after"))
    response = create(sim)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "InternalServiceError"
    assert sim.stats()["counters"]["tasks_created"] == 1  # the task exists although the answer was an error


@pytest.mark.parametrize(("outcome", "code"), [("failed", "OutputVideoSensitiveContentDetected"), ("expired", None)])
def test_task_faults(sim: SimulatorServer, outcome: str, code: str | None) -> None:
    sim.arm(TaskFault(outcome=outcome))  # type: ignore[arg-type]
    task = finished(sim, create(sim).json()["id"])
    assert task["status"] == outcome
    assert (task["error"] or {}).get("code") == code
    assert "content" not in task
    assert finished(sim, create(sim).json()["id"])["status"] == "succeeded"  # only the next task was affected


def test_control_plane_over_http(sim: SimulatorServer) -> None:
    control(sim.root_url, "faults", {"outcome": "failed", "count": 2})
    assert len(control(sim.root_url, "faults")["armed"]) == 1
    assert control(sim.root_url, "config", {"speed": 5})["speed"] == 5
    create(sim)
    stats = control(sim.root_url, "stats")
    assert stats["counters"]["requests.create"] == 1
    control(sim.root_url, "reset")
    assert control(sim.root_url, "stats")["counters"] == {}
    assert APPLE.exists()


def test_first_frame_fetched_from_an_http_url(sim: SimulatorServer, tmp_path: Any) -> None:
    """The provider fetches image URLs itself; a 1:1 image makes adaptive resolve to 1:1."""
    square = Image.new("RGB", (700, 700), (250, 120, 0))
    square.save(tmp_path / "square.png")

    class Files(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = (tmp_path / "square.png").read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/square.png"
        frame = {"type": "image_url", "image_url": {"url": url}, "role": "first_frame"}
        content = [{"type": "text", "text": "go"}, frame]
        task = finished(sim, create(sim, content=content, return_last_frame=True).json()["id"])
    finally:
        server.shutdown()
    assert (task["status"], task["ratio"]) == ("succeeded", "1:1")
    assert Image.open(io.BytesIO(httpx.get(task["content"]["last_frame_url"]).content)).size == (640, 640)
