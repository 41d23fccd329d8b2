"""Editing and rerunning a storyboard end to end: only what changed (and what descends from it) is made again,
rerolls keep earlier takes, and what must not start (over budget, invalid) spends nothing (DESIGN.md §§3, 5, 9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.models import estimate_tokens, frames_for
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import run_cli
from tests.e2e.conftest import events, probe_film, run, takes
from tests.e2e.test_faults import SECONDS, write_storyboard

# a -> b -> c -> d is one chain; e stands alone. Each output is its own film.
CHAIN: list[dict[str, Any]] = [
    {"id": "a"}, {"id": "b", "after": "a", "seed": 7}, {"id": "c", "after": "b"}, {"id": "d", "after": "c"},
    {"id": "e"},
]
OUTPUTS = {"chain": ["a", "b", "c", "d"], "solo": ["e"]}
CLIP_FRAMES = frames_for(SECONDS)
CLIP_TOKENS = estimate_tokens(864, 480, CLIP_FRAMES)  # 1.0 pro, 480p, 16:9


def tasks_created(ark: SimulatorServer) -> int:
    """Tasks the simulator has made since the test began."""
    return int(ark.stats()["counters"].get("tasks_created", 0))


def submitted(result_events: list[dict[str, Any]]) -> list[str]:
    """The shots a run submitted, in order."""
    return [str(e["shot"]) for e in result_events if e["event"] == "submitted"]


def take_dir(run_dir: Path, row: dict[str, Any]) -> Path:
    """`shots/<id>/<key12>/` of a journal row."""
    return run_dir / "shots" / str(row["shot"]) / str(row["key"])[:12]


def edit_prompt(storyboard: Path, shot: str, prompt: str) -> None:
    """Change one shot's prompt in the file, as a user would."""
    doc = yaml.safe_load(storyboard.read_text(encoding="utf-8"))
    next(s for s in doc["shots"] if s["id"] == shot)["prompt"] = prompt
    storyboard.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def assert_chain_film(run_dir: Path) -> None:
    """The chain's film holds four clips joined on three chain edges (each drops the repeated frame)."""
    assert probe_film(run_dir / "outputs" / "chain.mp4").frames == 4 * CLIP_FRAMES - 3


@pytest.mark.long  # 14 s: in make test-matrix, which CI runs after make test; tests/e2e/test_review.py
# covers rerolls and edits across runs in make test
def test_edit_then_reroll_make_again_only_the_changed_shot_and_its_descendants(ark: SimulatorServer,
                                                                             tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, CHAIN, name="edits", outputs=OUTPUTS)
    out = tmp_path / "runs"
    run_dir = out / "edits"
    first = run(storyboard, out)
    assert first.code == 0, first.stderr
    assert tasks_created(ark) == 5
    chain_film = run_dir / "outputs" / "chain.mp4"
    stamp = chain_film.stat().st_mtime_ns

    # 1. Edit c's prompt: plan says why, and the rerun makes c and d only.
    edit_prompt(storyboard, "c", "Shot c, edited: the apple is sliced into thin rounds")
    plan = run_cli("plan", storyboard, "--out", out, "--json")

    assert plan.code == 0, plan.stderr
    decisions = {d["shot"]: d for d in json.loads(plan.stdout)["decisions"]}
    assert {s: d["action"] for s, d in decisions.items()} == {
        "a": "reuse", "b": "reuse", "c": "generate", "d": "generate", "e": "reuse"}
    assert decisions["c"]["reason"] == "prompt changed"
    assert decisions["d"]["reason"] == "its parent c will be made anew"
    assert decisions["a"]["usd"] == decisions["b"]["usd"] == decisions["e"]["usd"] == 0
    assert decisions["c"]["usd"] > 0 and decisions["d"]["usd"] > 0

    edited = run(storyboard, out)

    assert edited.code == 0, edited.stderr
    assert tasks_created(ark) == 5 + 2
    evs = events(edited)
    assert sorted(submitted(evs)) == ["c", "d"]
    assert sorted(str(e["shot"]) for e in evs if e["event"] == "reused") == ["a", "b", "e"]
    assert chain_film.stat().st_mtime_ns != stamp
    assert_chain_film(run_dir)
    assert probe_film(run_dir / "outputs" / "solo.mp4").frames == CLIP_FRAMES
    rows = takes(run_dir)
    (old_b,) = [r for r in rows if r["shot"] == "b"]
    new_c = [r for r in rows if r["shot"] == "c"][-1]
    assert new_c["state"] == "downloaded"  # and it started on b's last frame, byte for byte:
    assert ark.backend.tasks[str(new_c["task_id"])].media.first == (take_dir(run_dir, old_b) /
                                                                    "last_frame.png").read_bytes()

    # 2. Reroll b: b, c and d are made again; b gets a new seed although the storyboard pins one.
    rerolled = run(storyboard, out, "--reroll", "b")

    assert rerolled.code == 0, rerolled.stderr
    assert tasks_created(ark) == 5 + 2 + 3
    assert sorted(submitted(events(rerolled))) == ["b", "c", "d"]
    old_b, new_b = [r for r in takes(run_dir) if r["shot"] == "b"]
    assert old_b["seed"] == 7 and new_b["state"] == "downloaded" and new_b["seed"] != 7
    assert ark.backend.tasks[str(new_b["task_id"])].seed == new_b["seed"]
    assert new_b["key"] != old_b["key"]
    assert (take_dir(run_dir, old_b) / "clip.mp4").is_file()  # earlier takes are kept
    assert (take_dir(run_dir, new_b) / "clip.mp4").is_file()
    assert_chain_film(run_dir)

    # 3. The reroll is remembered: running again makes nothing.
    before = dict(ark.stats()["counters"])
    settled = run(storyboard, out)

    assert settled.code == 0, settled.stderr
    assert ark.stats()["counters"] == before
    assert sorted(str(e["shot"]) for e in events(settled) if e["event"] == "reused") == ["a", "b", "c", "d", "e"]


def test_rerun_of_a_finished_storyboard_calls_nobody_and_status_lists_every_shot(ark: SimulatorServer,
                                                                                tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, [{"id": "a"}, {"id": "b"}], name="done")
    out = tmp_path / "runs"
    first = run(storyboard, out)
    assert first.code == 0, first.stderr
    before = dict(ark.stats()["counters"])

    again = run(storyboard, out)

    assert again.code == 0, again.stderr
    assert ark.stats()["counters"] == before  # not one request of any kind
    assert sorted(str(e["shot"]) for e in events(again) if e["event"] == "reused") == ["a", "b"]

    status = run_cli("status", storyboard, "--out", out, "--json")

    assert status.code == 0, status.stderr
    info = json.loads(status.stdout)
    shots = {s["shot"]: s for s in info["shots"]}
    assert set(shots) == {"a", "b"}
    for shot in shots.values():
        assert shot["state"] == "downloaded"
        assert shot["tokens"] == CLIP_TOKENS
        assert shot["usd"] > 0
        assert shot["clip"] and Path(shot["clip"]).is_file()
    assert info["tokens"] == 2 * CLIP_TOKENS
    assert set(info["films"]) == {"main"}
    assert ark.stats()["counters"] == before


def test_only_runs_just_that_shot_and_its_ancestors(ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, CHAIN, name="edits", outputs=OUTPUTS)
    out = tmp_path / "runs"

    result = run(storyboard, out, "--only", "e")

    assert result.code == 0, result.stderr
    assert tasks_created(ark) == 1
    assert submitted(events(result)) == ["e"]
    assert [r["shot"] for r in takes(out / "edits")] == ["e"]
    assert probe_film(out / "edits" / "outputs" / "solo.mp4").frames == CLIP_FRAMES
    assert not (out / "edits" / "outputs" / "chain.mp4").exists()


def test_over_budget_run_is_refused_before_any_request(ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, CHAIN, name="edits", outputs=OUTPUTS)

    by_flag = run(storyboard, tmp_path / "runs", "--budget", "0.01")

    assert by_flag.code == 3, by_flag.stderr
    refusals = [line for line in by_flag.stderr.splitlines() if line.startswith("orchestrator:")]
    assert len(refusals) == 1, by_flag.stderr
    assert "exceeds the budget of $0.01" in refusals[0] and "--budget" in refusals[0]
    assert by_flag.stdout == ""
    assert ark.stats()["counters"] == {}

    capped = write_storyboard(tmp_path / "capped", CHAIN, name="capped", outputs=OUTPUTS, budget_usd=0.01)
    by_file = run(capped, tmp_path / "runs")

    assert by_file.code == 3, by_file.stderr
    refusals = [line for line in by_file.stderr.splitlines() if line.startswith("orchestrator:")]
    assert len(refusals) == 1 and f"budget_usd in {capped}" in refusals[0], by_file.stderr
    assert ark.stats()["counters"] == {}
    assert not (tmp_path / "runs" / "capped" / "journal.sqlite").exists() or not takes(tmp_path / "runs" / "capped")


def test_invalid_storyboard_is_refused_before_any_request(ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, [{"id": "a", "duration": 1}, {"id": "b", "after": "nope"}], name="bad")

    result = run(storyboard, tmp_path / "runs")

    assert result.code == 2, result.stderr
    assert "shots[0].duration" in result.stderr and "nope" in result.stderr  # every error at once
    assert f"{storyboard}:" in result.stderr  # with file:line
    assert ark.stats()["counters"] == {}
    assert not (tmp_path / "runs" / "bad").exists()
