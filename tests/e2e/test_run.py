"""`orchestrator run` end to end: storyboard -> simulator over a socket -> real ffmpeg -> films."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.models import frames_for
from orchestrator.simulator.server import SimulatorServer
from tests.e2e.conftest import copy_storyboard, events, probe_film, requests_made, run, takes

TEA_FRAMES = [frames_for(5), frames_for(4), frames_for(5), frames_for(5)]


def _assert_chained_frames(sim: SimulatorServer, run_dir: Path) -> int:
    """Every chained create carried exactly its parent's last frame; returns how many were checked."""
    rows = {r["shot"]: r for r in takes(run_dir) if r["state"] == "downloaded"}
    checked = 0
    for row in rows.values():
        params = row["params"]
        assert isinstance(params, str)
        task = sim.backend.tasks[str(row["task_id"])]
        parent_sha = __import__("json").loads(params)["parent_frame"]
        if parent_sha is None:
            continue
        parent = next(r for r in rows.values() if r["frame_sha"] == parent_sha)
        frame = run_dir / "shots" / str(parent["shot"]) / str(parent["key"])[:12] / "last_frame.png"
        sent = task.media.first if task.spec.images[0].role == "first_frame" else None
        if sent is None:  # handoff: reference carries it as reference image 1
            sent = sim.backend.read_own_url(task.spec.images[0].url) or b""
        assert sent == frame.read_bytes(), f"{row['shot']} did not start on {parent['shot']}'s last frame"
        checked += 1
    return checked


def test_tea_ad_makes_its_film_then_a_rerun_makes_no_call(ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = copy_storyboard(tmp_path, "tea-ad")
    out = tmp_path / "runs"

    first = run(storyboard, out)

    assert first.code == 0, first.stderr
    film = out / "tea-ad" / "outputs" / "main.mp4"
    info = probe_film(film)
    assert info.frames == sum(TEA_FRAMES) - 3  # three chained joins, each drops the repeated frame
    assert info.width == 1280 and info.height == 720 and info.has_audio
    assert ark.stats()["counters"]["tasks_created"] == 4
    assert _assert_chained_frames(ark, out / "tea-ad") == 3
    kinds = [e["event"] for e in events(first)]
    assert kinds.count("submitted") == 4 and kinds.count("downloaded") == 4 and kinds.count("assembled") == 1
    assert (out / "tea-ad" / "contact_sheet.png").stat().st_size > 0

    before, stamp = requests_made(ark), film.stat().st_mtime_ns
    again = run(storyboard, out)

    assert again.code == 0, again.stderr
    assert requests_made(ark) == before  # zero provider calls
    assert film.stat().st_mtime_ns == stamp  # and nothing rebuilt
    assert [e["event"] for e in events(again)].count("reused") == 4


@pytest.mark.long
def test_long_form_ad_runs_its_scenes_concurrently(ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = copy_storyboard(tmp_path, "long-form-ad")
    out = tmp_path / "runs"

    result = run(storyboard, out)

    assert result.code == 0, result.stderr
    for name in ("main", "alt-ending", "packshot"):
        assert probe_film(out / "long-form-ad" / "outputs" / f"{name}.mp4").frames > 0
    assert ark.stats()["counters"]["tasks_created"] == 14
    assert _assert_chained_frames(ark, out / "long-form-ad") == 10
    spans = _spans(events(result))
    chains = [["orchard-open", "orchard-walk", "orchard-pick", "orchard-basket"],
              ["kitchen-open", "kitchen-slice", "kitchen-shake", "kitchen-pour"],
              ["street-open", "street-counter", "street-handoff"]]
    chain_time = [spans[c[-1]][1] - spans[c[0]][0] for c in chains]
    generation = max(end for _, end in spans.values()) - min(start for start, _ in spans.values())
    assert generation < 0.7 * sum(chain_time), (generation, chain_time)


def _spans(evs: list[dict[str, object]]) -> dict[str, tuple[float, float]]:
    start: dict[str, float] = {}
    end: dict[str, float] = {}
    for e in evs:
        shot, t = e.get("shot"), e["time"]
        assert isinstance(t, float)
        if e["event"] == "submitted" and isinstance(shot, str):
            start.setdefault(shot, t)
        if e["event"] == "succeeded" and isinstance(shot, str):
            end[shot] = t
    return {s: (start[s], end[s]) for s in start}
