"""The engine against each behaviour the provider's docs do not rule out, end to end: a separately started
`orchestrator simulate` (its own process, driven only through its HTTP control plane) and `orchestrator run` in
subprocesses, as a user would run them. A storyboard with two chains, a branch and a keyframe root must end with
exactly one task per shot (counted on the simulator), each shot's task made from that shot's own request, frame-exact
films and exit 0: with each behaviour alone, with all of them at once, and with all of them at once while the run is
SIGKILLed at least 20 times.

These runs take a few minutes, so they carry the `matrix` mark: `make test-matrix` runs them (and CI does).
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from orchestrator.models import frames_for
from orchestrator.simulator.server import control
from tests.conftest import STORYBOARDS
from tests.e2e.children import Child, children, command, env
from tests.e2e.conftest import probe_film, takes

__all__ = ["children"]
pytestmark = pytest.mark.matrix

SPEED = 100.0  # the simulator's time compression; our polls are scaled the same way
KILL_SPEED = 5.0  # slower for the kills: a fresh run takes ~20 s, so twenty kills land before one can finish
MODEL = "seedance-1-0-pro-250528"  # 480p 2 s clips: the cheapest to render
SECONDS = 2
CLIP = frames_for(SECONDS)
SHOTS: list[dict[str, Any]] = [
    {"id": "a1", "first_frame": "assets/apple.png"},  # chain one, from an image
    {"id": "a2", "after": "a1"},
    {"id": "a3", "after": "a2"},
    {"id": "b1"},  # chain two, text to video, branching after b2
    {"id": "b2", "after": "b1"},
    {"id": "b3", "after": "b2"},
    {"id": "b4", "after": "b2"},
    {"id": "k", "first_frame": "assets/apple.png", "last_frame": "assets/cup.png"},  # a keyframe root
]
OUTPUTS = {"one": ["a1", "a2", "a3", "k"], "two": ["b1", "b2", "b3"], "three": ["b1", "b2", "b4"]}
FILMS = {"one": 4 * CLIP - 2, "two": 3 * CLIP - 2, "three": 3 * CLIP - 2}
KILLS = 20

# Each of the provider's undocumented behaviours, as the simulator models it, and none of them.
BENIGN = {"list_lag_seconds": 0.0, "echo_seed": True, "read_after_write_seconds": 0.0, "resign_urls": True,
          "lost_creates": 0.0, "bursts": 0.0, "list_qps": 1.0, "fault_seed": 7}
ALONE: dict[str, dict[str, Any]] = {
    "list lag": {"list_lag_seconds": 10.0},
    "seed not echoed": {"echo_seed": False},
    "404 right after create": {"read_after_write_seconds": 5.0},
    "urls signed once": {"resign_urls": False},
    "lost create answers": {"lost_creates": 0.3},
    "bursts of 429/502/503": {"bursts": 0.08},
}
ALL = {key: value for change in ALONE.values() for key, value in change.items()}


def prompt_of(shot: str) -> str:
    return f"Shot {shot}: a red apple turns slowly on a wooden table"


@pytest.fixture(scope="module")
def simulator() -> Iterator[str]:
    """`orchestrator simulate` in its own process on a free port; yields its root URL."""
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator", "simulate", "--port", "0", "--speed", str(SPEED)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        base_url = line.split()[1]
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/v3"), line
        yield base_url.removesuffix("/api/v3")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def storyboard(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(STORYBOARDS / "assets", folder / "assets", dirs_exist_ok=True)
    doc = {"version": 1, "name": "matrix",
           "defaults": {"model": MODEL, "resolution": "480p", "ratio": "16:9", "duration": SECONDS},
           "shots": [{**s, "prompt": prompt_of(str(s["id"]))} for s in SHOTS], "outputs": OUTPUTS}
    path = folder / "matrix.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def configure(root: str, changes: dict[str, Any], speed: float = SPEED) -> None:
    control(root, "reset")
    control(root, "config", {"speed": speed, **BENIGN, **changes})


def run_once(board: Path, out: Path, root: str, speed: float = SPEED) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(board, out), cwd=board.parent, env=_env(root, speed), capture_output=True,
                          text=True, timeout=600, check=False)


def _env(root: str, speed: float = SPEED) -> dict[str, str]:
    return {**env(f"{root}/api/v3"), "ORCHESTRATOR_POLL_SCALE": str(1 / speed)}


def check_outcome(root: str, run_dir: Path) -> None:
    """One task per shot on the simulator, each made from its own shot's request; frame-exact films."""
    stats = control(root, "stats")
    assert stats["counters"]["tasks_created"] == len(SHOTS), stats
    done = {str(r["shot"]): str(r["task_id"]) for r in takes(run_dir) if r["state"] == "downloaded"}
    assert sorted(done) == sorted(s["id"] for s in SHOTS)
    listed = httpx.get(f"{root}/_sim/tasks", timeout=10.0).json()
    prompts = {t["id"]: t["prompt"] for t in listed}
    assert {shot: prompts[task] for shot, task in done.items()} == {s: prompt_of(s) for s in done}
    for name, frames in FILMS.items():
        assert probe_film(run_dir / "outputs" / f"{name}.mp4").frames == frames, name


@pytest.mark.parametrize("behaviour", [*ALONE, "all at once"])
def test_one_task_per_shot_whatever_the_provider_does(simulator: str, tmp_path: Path, behaviour: str) -> None:
    configure(simulator, ALL if behaviour == "all at once" else ALONE[behaviour])
    board = storyboard(tmp_path)

    result = run_once(board, tmp_path / "runs", simulator)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    check_outcome(simulator, tmp_path / "runs" / "matrix")


def test_one_task_per_shot_with_everything_at_once_and_20_sigkills(simulator: str, tmp_path: Path,
                                                                   children: list[Child]) -> None:
    """Kills at random moments of a run, and every third one inside a create whose task the simulator already made
    (its answer stalled): the next run must settle that create before it creates anything."""
    configure(simulator, ALL, speed=KILL_SPEED)
    rng = random.Random(20261129)
    board = storyboard(tmp_path)
    out = tmp_path / "runs"
    landed: Counter[str] = Counter()
    while sum(landed.values()) < KILLS:
        child = Child.start(board, out, "", environ=_env(simulator, KILL_SPEED))
        children.append(child)
        creates_left = control(simulator, "stats")["counters"].get("tasks_created", 0) < len(SHOTS)
        if sum(landed.values()) % 3 == 0 and creates_left:
            control(simulator, "faults", {"endpoint": "create", "kind": "stall", "phase": "after",
                                          "stall_seconds": 30})
            deadline = time.monotonic() + 12  # the next create may wait for a parent's clip (~7 s at this speed)
            while control(simulator, "faults")["armed"] and child.alive and time.monotonic() < deadline:
                time.sleep(0.01)
            where = "inside a create" if not control(simulator, "faults")["armed"] else "random"
            time.sleep(rng.uniform(0.0, 0.2))
        else:
            child.wait_event({"run_started"})
            time.sleep(rng.uniform(0.0, 1.0))
            where = "random"
        code = child.kill()
        _disarm(simulator)
        assert code == -signal.SIGKILL, (code, child.stderr)  # the run was still going: the kill landed
        landed[where] += 1

    final = run_once(board, out, simulator, KILL_SPEED)

    print(f"\n{sum(landed.values())} SIGKILLs: {dict(landed)}")
    assert final.returncode == 0, final.stderr
    check_outcome(simulator, out / "matrix")
    assert landed["inside a create"] >= 3, landed


def _disarm(root: str) -> None:
    """Drop a stall that did not fire, so it cannot delay the next run."""
    httpx.delete(f"{root}/_sim/faults", timeout=10.0).raise_for_status()
