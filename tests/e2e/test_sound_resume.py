"""Sound follows the films, and never at the price of paying twice: a run that asked for sound (as every run did
before the rule) and was killed with tasks in flight, then resumed after its film was muted, polls and downloads
the tasks it has and creates only the shots never submitted, now without sound."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from orchestrator.simulator.server import SimulatorServer
from tests.e2e.children import Child, children, start
from tests.e2e.conftest import API_KEY, copy_storyboard, probe_film, requests_made
from tests.e2e.test_crash import SHOTS, TEA_FILM_FRAMES

__all__ = ["children"]  # the fixture, used by name


@pytest.mark.long  # 12-19 s: in make test-matrix, which CI runs after make test
def test_a_run_with_sound_killed_then_muted_resumes_without_paying_again(sim: SimulatorServer, tmp_path: Path,
                                                                         children: list[Child]) -> None:
    storyboard = copy_storyboard(tmp_path, "tea-ad")
    text = storyboard.read_text(encoding="utf-8")
    assert "  generate_audio: true\n" in text and "  audio: clips\n" in text
    storyboard.write_text(text.replace("  generate_audio: true\n", ""), encoding="utf-8")  # sound by default
    out = tmp_path / "runs"
    child = start(children, storyboard, out, sim.base_url)
    first, second = child.kill_after_submits(2)
    before = requests_made(sim)["requests.create"]
    assert before == 2

    storyboard.write_text(storyboard.read_text(encoding="utf-8").replace("  audio: clips\n", "  audio: mute\n"),
                          encoding="utf-8")
    resumed = start(children, storyboard, out, sim.base_url)
    assert resumed.finish() == 0, resumed.stderr

    assert sim.stats()["counters"]["tasks_created"] == len(SHOTS)
    assert requests_made(sim)["requests.create"] - before == 2
    assert [e["shot"] for e in resumed.events if e["event"] == "submitted"] == ["pour", "cup"]
    made = [e["task_id"] for e in resumed.events if e["event"] == "submitted"]
    sound = {task: sound_of(sim, task) for task in (first["task_id"], second["task_id"], *made)}
    assert sound == {first["task_id"]: True, second["task_id"]: True, made[0]: False, made[1]: False}
    assert probe_film(out / "tea-ad" / "outputs" / "main.mp4").frames == TEA_FILM_FRAMES


def sound_of(sim: SimulatorServer, task_id: str) -> bool:
    """Whether the provider was asked for sound for this task, as its retrieve answer says."""
    answer = httpx.get(f"{sim.base_url}/contents/generations/tasks/{task_id}",
                       headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10.0)
    answer.raise_for_status()
    return bool(answer.json()["generate_audio"])
