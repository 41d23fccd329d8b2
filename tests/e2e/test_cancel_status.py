"""`orchestrator cancel` and `orchestrator status` on a run whose tasks wait on the provider."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from orchestrator.simulator.server import SimulatorServer
from tests.conftest import REPO, run_cli
from tests.e2e.conftest import API_KEY, copy_storyboard, requests_made, takes


def _start_run(storyboard: Path, out: Path, sim: SimulatorServer) -> subprocess.Popen[str]:
    env = {**os.environ, "ARK_API_KEY": API_KEY, "ARK_BASE_URL": sim.base_url, "ORCHESTRATOR_POLL_SCALE": "0.002"}
    return subprocess.Popen([sys.executable, "-m", "orchestrator", "run", str(storyboard), "--out", str(out),
                             "--backend", "ark", "--yes", "--json"], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_cancel_cancels_queued_tasks_and_journals_it(ark: SimulatorServer, tmp_path: Path) -> None:
    ark.backend.config.queue_seconds = 100_000.0  # every task stays queued
    storyboard = copy_storyboard(tmp_path, "long-form-ad")
    out = tmp_path / "runs"
    child = _start_run(storyboard, out, ark)
    assert child.stdout is not None
    submitted = 0
    deadline = time.monotonic() + 60
    while submitted < 4 and time.monotonic() < deadline:  # the four chain heads have no parent to wait for
        submitted += json.loads(child.stdout.readline() or "{}").get("event") == "submitted"
    child.send_signal(signal.SIGKILL)
    child.wait()
    run_dir = out / "long-form-ad"

    status = run_cli("status", run_dir, "--json")
    result = run_cli("cancel", run_dir, "--backend", "ark")

    assert status.code == 0
    assert sorted(s["state"] for s in json.loads(status.stdout)["shots"]) == ["submitted"] * 4
    assert result.code == 0, result.stderr
    assert result.stdout.count(" cancelled") == 4
    assert ark.stats()["tasks"] == {"cancelled": 4}
    assert sorted(str(t["state"]) for t in takes(run_dir)) == ["cancelled"] * 4
    after = run_cli("status", run_dir, "--json")
    assert {s["state"] for s in json.loads(after.stdout)["shots"]} == {"cancelled"}
    again = run_cli("cancel", run_dir, "--backend", "ark")
    assert "nothing to cancel" in again.stdout


def test_cancel_right_after_a_create_that_the_provider_does_not_find_yet_says_so(ark: SimulatorServer,
                                                                                  tmp_path: Path) -> None:
    ark.backend.config.queue_seconds = 100_000.0
    storyboard = copy_storyboard(tmp_path, "minimal")
    out = tmp_path / "runs"
    child = _start_run(storyboard, out, ark)
    assert child.stdout is not None
    while json.loads(child.stdout.readline() or '{"event": "submitted"}').get("event") != "submitted":
        pass
    child.send_signal(signal.SIGKILL)
    child.wait()
    ark.backend.config.read_after_write_seconds = 10.0**7  # the provider has not caught up with its own create

    result = run_cli("cancel", out / "minimal", "--backend", "ark")

    assert result.code == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert "does not find it (yet" in line and "run cancel again" in line
    assert [str(t["state"]) for t in takes(out / "minimal")] == ["submitted"]  # nothing changed


def test_status_of_a_storyboard_without_a_run_is_a_one_line_error(ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = copy_storyboard(tmp_path, "tea-ad")
    before = requests_made(ark)

    result = run_cli("status", storyboard, "--out", tmp_path / "runs")
    missing = run_cli("status", tmp_path / "nowhere")

    assert result.code == 2 and "no run yet" in result.stderr and len(result.stderr.splitlines()) == 1
    assert missing.code == 2 and "no such file or directory" in missing.stderr
    assert requests_made(ark) == before
