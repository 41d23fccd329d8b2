"""`orchestrator simulate` as a user runs it: a separate process on a port, driven by the official SDK."""

from __future__ import annotations

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

from tests.simulator.conftest import data_url


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
