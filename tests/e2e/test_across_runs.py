"""A producer's week, run after run: run, edit a mid-chain prompt, run, reroll a chained shot, run, drop a reroll that
failed. On the default backend (no ARK_API_KEY: the built-in simulator, a new one on a new port each run, keeping its
tasks in a store beside the run directories, so an earlier run's URLs still work as the provider's would) and
against a simulator whose URLs expired after the first run (the stored bytes go instead of the dead URLs). Nothing is
paid twice."""

from __future__ import annotations

import _thread
import contextlib
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.models import frames_for
from orchestrator.simulator.faults import TaskFault
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import CliResult, run_cli
from tests.e2e.conftest import events, probe_film, takes
from tests.e2e.test_faults import SECONDS, write_storyboard

SHOTS = [{"id": "a"}, {"id": "b", "after": "a"}, {"id": "c", "after": "b"}, {"id": "d", "after": "c"}]
FILM_FRAMES = 4 * frames_for(SECONDS) - 3
REFUSED = TaskFault(outcome="failed", code="InputTextSensitiveContentDetected",
                    message="The request failed because the input text may contain sensitive information.")


def edit_prompt(storyboard: Path, shot: str, prompt: str) -> None:
    doc = yaml.safe_load(storyboard.read_text(encoding="utf-8"))
    next(s for s in doc["shots"] if s["id"] == shot)["prompt"] = prompt
    storyboard.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def submitted(result: CliResult) -> list[str]:
    return [str(e["shot"]) for e in events(result) if e["event"] == "submitted"]


def inline_fallbacks(result: CliResult) -> list[str]:
    """Shots whose create was refused for the parent's frame URL and sent again with the stored bytes."""
    return [str(e["shot"]) for e in events(result)
            if e["event"] == "retrying" and "frame URL was refused" in str(e.get("reason"))]


def film_sha(run_dir: Path) -> str:
    return hashlib.sha256((run_dir / "outputs" / "main.mp4").read_bytes()).hexdigest()


def assert_film(run_dir: Path) -> None:
    assert probe_film(run_dir / "outputs" / "main.mp4").frames == FILM_FRAMES


# -- the default backend ----------------------------------------------------------------------------------------------


@dataclass
class BuiltIn:
    """What to do to the next built-in simulators a run starts: faults to arm, settings to change."""

    faults: list[TaskFault] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def default_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[BuiltIn]:
    """No ARK_API_KEY: each run starts the built-in simulator (fast), changed as the yielded BuiltIn says."""
    monkeypatch.delenv("ARK_API_KEY", raising=False)
    monkeypatch.delenv("ARK_BASE_URL", raising=False)
    monkeypatch.setenv("ORCHESTRATOR_SIM_SPEED", "1000")
    tweaks = BuiltIn()
    real_start = SimulatorServer.start

    def start(server: SimulatorServer) -> SimulatorServer:
        started = real_start(server)
        for key, value in tweaks.config.items():
            setattr(started.backend.config, key, value)
        while tweaks.faults:
            started.arm(tweaks.faults.pop(0))
        return started

    monkeypatch.setattr(SimulatorServer, "start", start)
    yield tweaks


def store_tasks(out: Path) -> set[str]:
    """The task ids the built-in simulator's store holds (every task ever made for these runs)."""
    return {p.name for p in (out / ".simulator" / "tasks").iterdir() if p.is_dir()}


def cli(storyboard: Path, out: Path, *extra: str) -> CliResult:
    return run_cli("run", storyboard, "--out", out, "--json", *extra)


def test_run_edit_reroll_and_drop_on_the_default_backend(default_backend: BuiltIn, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, SHOTS)
    out = tmp_path / "runs"
    run_dir = out / "faults"

    first = cli(storyboard, out)
    assert first.code == 0, first.stderr
    assert "simulator: http://127.0.0.1:" in first.stderr
    assert submitted(first) == ["a", "b", "c", "d"] and len(store_tasks(out)) == 4
    assert_film(run_dir)

    edit_prompt(storyboard, "b", "Shot b: the apple rolls off the table instead")
    stale = json.loads(run_cli("status", storyboard, "--out", out, "--json").stdout)
    assert stale["stale"]["main"].startswith("b, c, d changed or not finished") and stale["simulated"] is True
    plan = run_cli("plan", storyboard, "--out", out, "--json")
    edited = cli(storyboard, out)
    assert edited.code == 0, edited.stderr
    assert [d["action"] for d in json.loads(plan.stdout)["decisions"]] == ["reuse", "generate", "generate",
                                                                           "generate"]
    assert submitted(edited) == ["b", "c", "d"] and len(store_tasks(out)) == 7
    assert inline_fallbacks(edited) == []  # a's URL came from the first run's simulator: it works, as the provider's
    assert_film(run_dir)

    rerolled = cli(storyboard, out, "--reroll", "c")
    assert rerolled.code == 0, rerolled.stderr
    assert submitted(rerolled) == ["c", "d"] and len(store_tasks(out)) == 9
    assert inline_fallbacks(rerolled) == []
    kept = film_sha(run_dir)

    default_backend.faults.append(REFUSED)  # the next reroll of c is refused by moderation: it cannot pass
    failed = cli(storyboard, out, "--reroll", "c")
    assert failed.code == 1, failed.stderr
    finish = [e for e in events(failed) if e["event"] == "run_finished"][-1]
    assert set(finish["failed"]) == {"c"} and set(finish["blocked"]) == {"d"}
    sticky = run_cli("plan", storyboard, "--out", out, "--json")
    assert json.loads(sticky.stdout)["decisions"][2]["action"] == "generate"  # the failed reroll is still wanted

    dropped = cli(storyboard, out, "--drop-reroll", "c")
    assert dropped.code == 0, dropped.stderr
    assert submitted(dropped) == [] and len(store_tasks(out)) == 10  # back to the earlier take: nothing paid
    assert film_sha(run_dir) == kept
    status = run_cli("status", storyboard, "--out", out, "--json")
    assert json.loads(status.stdout)["stale"] == {}


@pytest.mark.long  # 5-15 s: in make test-matrix, which CI runs; keeps make test under ten minutes
def test_resume_after_a_crash_on_the_default_backend_polls_the_tasks_the_store_kept(
        default_backend: BuiltIn, tmp_path: Path) -> None:
    """The journal names submitted tasks of a run that died with its simulator; the next run's simulator finds them
    in the store and the run finishes them, creating nothing."""
    storyboard = write_storyboard(tmp_path, [{"id": "a"}, {"id": "b"}])
    out = tmp_path / "runs"
    assert cli(storyboard, out).code == 0
    run_dir = out / "faults"
    rows = takes(run_dir)
    for row in rows:  # as if the run had died right after the creates: the tasks exist, nothing downloaded
        (run_dir / "shots" / str(row["shot"]) / str(row["key"])[:12] / "clip.mp4").unlink()
    again = cli(storyboard, out)
    assert again.code == 0, again.stderr
    assert submitted(again) == [] and len(store_tasks(out)) == 2
    assert {e["shot"] for e in events(again) if e["event"] == "downloaded"} == {"a", "b"}


def test_cancel_on_the_default_backend_finds_the_queued_tasks_of_an_interrupted_run(
        default_backend: BuiltIn, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, [{"id": "a"}])
    out = tmp_path / "runs"
    run_dir = out / "faults"
    default_backend.config["queue_seconds"] = 10.0**9  # nothing leaves the queue in this test's lifetime

    returned = threading.Event()

    def interrupt_once_submitted() -> None:  # Ctrl-C, as a user would press it
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(sqlite3.Error):  # the journal may be half made: its tables not there yet
                if (run_dir / "journal.sqlite").is_file() and any(r["task_id"] for r in takes(run_dir)):
                    break
            time.sleep(0.05)
        # Pressed even when nothing was submitted in time, so a loaded machine fails the test instead of waiting
        # forever on a task that never leaves the queue; and pressed again, as a user would, should one press be
        # lost.
        while not returned.is_set():
            _thread.interrupt_main()
            returned.wait(10)

    watcher = threading.Thread(target=interrupt_once_submitted, daemon=True)
    watcher.start()
    try:
        interrupted = cli(storyboard, out)
    finally:
        returned.set()
        watcher.join()
    (task_id,) = [str(r["task_id"]) for r in takes(run_dir)]
    cancelled = run_cli("cancel", storyboard, "--out", out)

    assert interrupted.code == 130, interrupted.stderr
    assert cancelled.code == 0, cancelled.stderr
    assert f"a: task {task_id} cancelled" in cancelled.stdout
    assert [r["state"] for r in takes(run_dir)] == ["cancelled"]


# -- a simulator whose URLs expired after the first run ---------------------------------------------------------------


@pytest.mark.long  # 6-10 s: in make test-matrix, which CI runs after make test
def test_run_edit_reroll_and_drop_after_the_urls_expired(ark: SimulatorServer, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    storyboard = write_storyboard(tmp_path, SHOTS)
    out = tmp_path / "runs"
    run_dir = out / "faults"

    first = run_cli("run", storyboard, "--out", out, "--yes", "--json")
    assert first.code == 0, first.stderr
    real_clock = ark.backend.clock
    monkeypatch.setattr(ark.backend, "clock", lambda: real_clock() + 25 * 3600)  # a day later, for the provider

    edit_prompt(storyboard, "c", "Shot c: the tea turns deep red")
    edited = run_cli("run", storyboard, "--out", out, "--yes", "--json")
    assert edited.code == 0, edited.stderr
    assert submitted(edited) == ["c", "d"] and inline_fallbacks(edited) == ["c"]  # b's URL had expired
    assert ark.stats()["counters"]["tasks_created"] == 6
    assert_film(run_dir)

    rerolled = run_cli("run", storyboard, "--out", out, "--yes", "--json", "--reroll", "b")
    assert rerolled.code == 0, rerolled.stderr
    assert submitted(rerolled) == ["b", "c", "d"] and inline_fallbacks(rerolled) == ["b"]
    kept = film_sha(run_dir)

    ark.arm(REFUSED)
    failed = run_cli("run", storyboard, "--out", out, "--yes", "--json", "--reroll", "b")
    assert failed.code == 1
    created = ark.stats()["counters"]["tasks_created"]
    dropped = run_cli("run", storyboard, "--out", out, "--yes", "--json", "--drop-reroll", "b")
    assert dropped.code == 0, dropped.stderr
    assert submitted(dropped) == [] and ark.stats()["counters"]["tasks_created"] == created
    assert film_sha(run_dir) == kept
