"""`orchestrator simulate` as a user runs it: a separate process on a port, driven by the official SDK."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import imageio_ffmpeg
import pytest
from byteplussdkarkruntime import Ark
from PIL import Image

from orchestrator.simulator.config import SimConfig
from orchestrator.simulator.server import SimulatorServer, control
from tests.simulator.conftest import BENIGN, data_url


@pytest.fixture
def simulate_process() -> Iterator[str]:
    """`python -m orchestrator simulate --port 0 --speed 1000`; yields the base URL it announces."""
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "simulate", "--port", "0", "--speed", "1000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/api/v3)", line)
        assert match, f"no URL announced: {line!r}"
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def decoded_frames(video: Path) -> int:
    """Frames ffmpeg decodes from the file (the wheel ships no ffprobe, so decode and count)."""
    done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-stats", "-i", str(video), "-map", "0:v:0",
                           "-f", "null", "-"], capture_output=True, text=True, check=True)
    return int(re.findall(r"frame=\s*(\d+)", done.stderr)[-1])


def test_sdk_gets_a_playable_mp4_and_its_last_frame(simulate_process: str, tmp_path: Path) -> None:
    control(simulate_process.removesuffix("/api/v3"), "config", BENIGN)  # about the files, not early 404s
    ark = Ark(base_url=simulate_process, api_key="any-key")
    task_id = ark.content_generation.tasks.create(
        model="dreamina-seedance-2-0-260128", resolution="480p", duration=4, return_last_frame=True,
        content=[{"type": "text", "text": "apple"},
                 {"type": "image_url", "image_url": {"url": data_url()}, "role": "first_frame"}],
    ).id
    deadline = time.monotonic() + 60
    task = ark.content_generation.tasks.get(task_id=task_id)
    while task.status in {"queued", "running"} and time.monotonic() < deadline:
        time.sleep(0.1)
        task = ark.content_generation.tasks.get(task_id=task_id)
    assert task.status == "succeeded"
    video, frame = tmp_path / "clip.mp4", tmp_path / "last.png"
    video.write_bytes(httpx.get(task.content.video_url).content)
    frame.write_bytes(httpx.get(task.content.last_frame_url).content)
    assert decoded_frames(video) == 4 * 24 + 1
    assert Image.open(frame).size == (864, 496)


@pytest.mark.long  # 6-10 s: in make test-matrix, which CI runs after make test
def test_hostile_simulator_with_a_store_starts_and_keeps_its_tasks(tmp_path: Path) -> None:
    store = tmp_path / "store"
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "simulate", "--port", "0", "--speed", "1000", "--hostile",
         "--seed", "5", "--store", str(store)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)/api/v3", line)
        assert match and "hostile" in line, line
        root = match.group(1)
        config = httpx.get(f"{root}/_sim/config").json()
        assert (config["lost_creates"], config["bursts"], config["fault_seed"]) == (0.25, 0.05, 5)
        assert (config["echo_seed"], config["resign_urls"], config["store_dir"]) == (False, False, str(store))
        body = {"model": "dreamina-seedance-2-0-260128", "content": [{"type": "text", "text": "x"}]}
        for _ in range(10):  # some answers are lost or refused by a burst: that is the point
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(f"{root}/api/v3/contents/generations/tasks", json=body,
                           headers={"Authorization": "Bearer k"})
        created = httpx.get(f"{root}/_sim/stats").json()["counters"]["tasks_created"]
        assert 0 < created == len(list((store / "tasks").iterdir()))
        beside = SimConfig(speed=1000.0, list_qps=None, store_dir=store, **BENIGN)
        with SimulatorServer(beside) as other:  # a second simulator on the same store, in another process
            page = httpx.get(f"{other.base_url}/contents/generations/tasks", headers={"Authorization": "Bearer k"})
            assert page.json()["total"] == created
            assert other.stats()["counters"].get("tasks_adopted", 0) == 0  # their maker is alive
    finally:
        process.terminate()
        process.wait(timeout=10)
    with SimulatorServer(beside) as later:
        page = httpx.get(f"{later.base_url}/contents/generations/tasks", headers={"Authorization": "Bearer k"})
        assert page.json()["total"] == created
        assert later.stats()["counters"]["tasks_adopted"] == created  # their maker is gone: taken over on sight
