"""End to end through a real socket: chained clips from the simulator, each started on its parent's returned last
frame, assembled into one film whose chained seams are invisible, with the QC report and contact sheet."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from orchestrator.assembly import qc
from orchestrator.assembly.pipeline import AssemblySettings, OutputClip, assemble_output
from orchestrator.simulator.server import SimulatorServer

TASKS = "/contents/generations/tasks"
AUTH = {"Authorization": "Bearer k"}


def generate(sim: SimulatorServer, first_frame_url: str | None, seed: int) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": f"shot with seed {seed}"}]
    if first_frame_url:
        content.append({"type": "image_url", "image_url": {"url": first_frame_url}, "role": "first_frame"})
    body = {"model": "dreamina-seedance-2-0-260128", "content": content, "resolution": "480p", "duration": 4,
            "seed": seed, "return_last_frame": True}
    task_id = httpx.post(sim.base_url + TASKS, json=body, headers=AUTH).json()["id"]
    for _ in range(600):
        task: dict[str, Any] = httpx.get(f"{sim.base_url}{TASKS}/{task_id}", headers=AUTH).json()
        if task["status"] == "succeeded":
            return task
        time.sleep(0.05)
    raise AssertionError(task_id)


def test_chained_simulator_clips_make_a_seamless_film(sim: SimulatorServer, tmp_path: Path) -> None:
    clips, frame_url = [], None
    for i in range(4):
        task = generate(sim, frame_url, seed=10 + i)
        clip = tmp_path / f"shot{i}.mp4"
        clip.write_bytes(httpx.get(task["content"]["video_url"]).content)
        clips.append(clip)
        frame_url = task["content"]["last_frame_url"]
    entries = [OutputClip(f"shot{i}", c, chained=i > 0) for i, c in enumerate(clips)]
    out = asyncio.run(assemble_output(entries, tmp_path / "film.mp4", tmp_path / "cache",
                                      AssemblySettings(loudness_lufs=-14.0)))
    assert out.film.frames == 4 * 97 - 3
    assert abs(out.film.audio_samples - out.film.frames * 2000) <= 1024
    assert not out.warnings
    joins = [qc.Join(index=97 * i - (i - 1), left=f"shot{i - 1}", right=f"shot{i}", chained=True)
             for i in range(1, 4)]
    report = asyncio.run(qc.qc_output("main", out.film.path, joins))
    for seam in report.joins:
        assert not seam.duplicate  # the repeated frame is gone: no freeze
        assert seam.ssim > 0.8  # and the picture continues across the seam
        assert abs(seam.audio_step_db) < 12
    assert report.integrated_lufs is not None and abs(report.integrated_lufs + 14.0) <= 1.0
    asyncio.run(qc.contact_sheet([(out.film.path, joins)], tmp_path / "contact_sheet.png"))
    qc.write_report([report], tmp_path / "report.json")
    assert Image.open(tmp_path / "contact_sheet.png").height > 3 * 100
    if (keep := Path("/tmp/contact_sheet_e2e.png")).parent.exists():  # for a person to look at
        keep.write_bytes((tmp_path / "contact_sheet.png").read_bytes())
