"""The producer's loop end to end on the simulator, counting its requests: takes listed, an earlier take picked
(children made from it before are current again, for nothing), a pick priced before it is made, a lock refusing
an edit, and a reroll's plan price equal to what the reroll then spends."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli.runs import _resume_command
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import run_cli
from tests.e2e.conftest import events, probe_film, run
from tests.e2e.conftest import takes as takes_rows
from tests.e2e.test_edits import CLIP_FRAMES, edit_prompt, submitted, tasks_created
from tests.e2e.test_faults import write_storyboard

# hook -> mid -> end: one chain, one film.
CHAIN: list[dict[str, Any]] = [{"id": "hook"}, {"id": "mid", "after": "hook"}, {"id": "end", "after": "mid"}]
FILM_FRAMES = 3 * CLIP_FRAMES - 2


def takes_json(storyboard: Path, out: Path, *shot: str) -> dict[str, list[dict[str, Any]]]:
    listed = run_cli("takes", storyboard, *shot, "--out", out, "--json")
    assert listed.code == 0, listed.stderr
    shots: dict[str, list[dict[str, Any]]] = json.loads(listed.stdout)["shots"]
    return shots


def in_use(listing: list[dict[str, Any]]) -> int:
    (number,) = [t["number"] for t in listing if t["in_use"]]
    return int(number)


def plan_json(storyboard: Path, out: Path, *extra: str) -> dict[str, Any]:
    planned = run_cli("plan", storyboard, "--out", out, "--json", *extra)
    assert planned.code == 0, planned.stderr
    result: dict[str, Any] = json.loads(planned.stdout)
    return result


def to_spend(plan: dict[str, Any]) -> float:
    return round(sum(d["usd"] for d in plan["decisions"]), 4)


def spent(result_events: list[dict[str, Any]]) -> float:
    return round(sum(float(e.get("usd") or 0) for e in result_events if e["event"] == "succeeded"), 4)


def test_pick_an_earlier_parent_take_makes_its_children_current_again_for_nothing(ark: SimulatorServer,
                                                                                 tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, CHAIN, name="review")
    out = tmp_path / "runs"
    assert run(storyboard, out).code == 0

    # A reroll of the hook is priced by plan before it is paid, and costs what the plan said.
    priced = plan_json(storyboard, out, "--reroll", "hook")
    assert {d["shot"]: d["action"] for d in priced["decisions"]} == {
        "hook": "generate", "mid": "generate", "end": "generate"}
    rerolled = run(storyboard, out, "--reroll", "hook")
    assert rerolled.code == 0, rerolled.stderr
    assert submitted(events(rerolled)) == ["hook", "mid", "end"]
    assert spent(events(rerolled)) == to_spend(priced) > 0
    assert tasks_created(ark) == 6

    listing = takes_json(storyboard, out)
    assert [(t["number"], t["why"], t["in_use"]) for t in listing["hook"]] == [(1, "new", False), (2, "reroll", True)]
    assert [t["why"] for t in listing["end"]] == ["new", "parent's take changed"]

    # Picking hook's first take: the plan prices it at nothing (mid and end from then exist), the pick is made,
    # and the run rebuilds the film from the first takes without a create.
    assert to_spend(plan_json(storyboard, out, "--pick", "hook=1")) == 0
    picked = run_cli("pick", storyboard, "hook", "1", "--out", out)
    assert picked.code == 0, picked.stderr
    assert "take 1 picked" in picked.stdout and "nothing to generate" in picked.stdout
    again = run(storyboard, out)
    assert again.code == 0, again.stderr
    assert submitted(events(again)) == [] and tasks_created(ark) == 6
    listing = takes_json(storyboard, out)
    assert (in_use(listing["hook"]), in_use(listing["mid"]), in_use(listing["end"])) == (1, 1, 1)
    assert probe_film(out / "review" / "outputs" / "main.mp4").frames == FILM_FRAMES


@pytest.mark.long  # 5-15 s: in make test-matrix, which CI runs; keeps make test under ten minutes
def test_a_pick_the_storyboard_would_not_use_is_refused_in_one_line(ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, CHAIN, name="review")
    out = tmp_path / "runs"
    assert run(storyboard, out).code == 0
    assert run(storyboard, out, "--reroll", "hook").code == 0

    # end's first take started on hook's first take: it is used only once hook is picked back.
    refused = run_cli("pick", storyboard, "end", "1", "--out", out)
    assert refused.code == 2
    assert refused.stderr.strip() == "orchestrator: take 1 of end starts on another take of its parent: pick that " \
        "first (orchestrator pick ... mid 1)"
    edit_prompt(storyboard, "mid", "Shot mid, edited: the apple is sliced")
    assert run(storyboard, out).code == 0
    refused = run_cli("pick", storyboard, "mid", "2", "--out", out)
    assert refused.code == 2
    assert refused.stderr.strip() == ("orchestrator: take 2 of mid was made with another prompt than the "
                                      "storyboard now asks for: edit it back, or pick a take made from it")
    assert run_cli("pick", storyboard, "mid", "9", "--out", out).stderr.strip() == \
        "orchestrator: shot mid has takes 1 to 3, not 9"
    assert tasks_created(ark) == 8


def test_a_locked_shot_refuses_the_edit_that_would_make_it_again_until_unlocked(ark: SimulatorServer,
                                                                              tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, CHAIN, name="review")
    out = tmp_path / "runs"
    assert run(storyboard, out).code == 0
    locked = run_cli("lock", storyboard, "mid", "--out", out)
    assert (locked.code, locked.stdout.strip()) == (0, "mid: locked on take 1")

    edit_prompt(storyboard, "hook", "Shot hook, edited: a green apple")  # mid starts on hook's last frame
    for refused in (run_cli("plan", storyboard, "--out", out), run(storyboard, out),
                    run(storyboard, out, "--reroll", "mid")):
        assert refused.code == 2, refused.stderr
        assert refused.stderr.strip().splitlines()[-1] == (
            "orchestrator: shot mid is locked on take 1, and this would make it again (its parent hook will be made "
            f"anew): undo that, or unlock it with `orchestrator unlock {storyboard} mid`")
    assert tasks_created(ark) == 3  # nothing was paid for while it was locked
    listing = takes_json(storyboard, out, "mid")
    assert [t["locked"] for t in listing["mid"]] == [True]

    assert run_cli("unlock", storyboard, "mid", "--out", out).stdout.strip() == "mid: unlocked"
    assert run(storyboard, out).code == 0
    assert tasks_created(ark) == 6


def test_the_ledger_cap_refuses_a_run_that_would_pass_it_across_runs(ark: SimulatorServer, tmp_path: Path) -> None:
    one = plan_json(write_storyboard(tmp_path / "probe", CHAIN[:1], name="review"), tmp_path / "probe-runs")
    clip = float(one["usd"])  # one shot, as planned
    # Room for the first run (3 shots) and one reroll of the last shot, not for a second reroll.
    storyboard = write_storyboard(tmp_path, CHAIN, name="review", budget_usd=round(3.5 * clip, 4),
                                  budget_total_usd=round(4.5 * clip, 4))
    out = tmp_path / "runs"
    assert run(storyboard, out).code == 0
    first = run(storyboard, out, "--reroll", "end")
    assert first.code == 0, first.stderr
    assert tasks_created(ark) == 4

    refused = run(storyboard, out, "--reroll", "end")
    assert refused.code == 3
    line = refused.stderr.strip().splitlines()[-1]
    assert line.startswith("orchestrator: planned cost ") and f"budget_total_usd in {storyboard}" in line
    assert "already spent by 2 run(s)" in line
    assert tasks_created(ark) == 4  # refused before any create
    planned = plan_json(storyboard, out)
    assert planned["ledger"]["runs"] == 2 and planned["ledger"]["budget_total_usd"] == round(4.5 * clip, 4)
    status = run_cli("status", storyboard, "--out", out)
    assert "cap on all runs" in status.stdout and "by all runs" in status.stdout
    # A flag may raise the cap for one run, as --budget does for the per-run budget.
    assert run(storyboard, out, "--reroll", "end", "--budget-total", str(round(6 * clip, 4))).code == 0
    assert tasks_created(ark) == 5


@pytest.mark.long  # 5-15 s: in make test-matrix, which CI runs; keeps make test under ten minutes
def test_every_film_a_run_replaces_is_kept_with_what_changed(ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, CHAIN, name="review")
    out = tmp_path / "runs"
    film = out / "review" / "outputs" / "main.mp4"
    versions = film.parent / "versions"
    assert run(storyboard, out).code == 0
    first = film.read_bytes()
    assert run(storyboard, out).code == 0  # nothing changed: no version
    assert not versions.exists()

    assert run(storyboard, out, "--reroll", "end").code == 0
    assert (versions / "main.v1.mp4").read_bytes() == first
    assert film.read_bytes() != first and probe_film(film).frames == FILM_FRAMES
    assert run_cli("pick", storyboard, "end", "1", "--out", out).code == 0
    assert run(storyboard, out).code == 0

    history = json.loads((versions / "main.json").read_text(encoding="utf-8"))
    assert [(v["version"], v["file"], v["changed"]) for v in history] == [
        (1, "versions/main.v1.mp4", ["end: take 1 -> take 2"]),
        (2, "versions/main.v2.mp4", ["end: take 2 -> take 1"]),
    ]
    assert film.read_bytes() == first  # the first take again makes the first film again
    assert probe_film(versions / "main.v2.mp4").frames == FILM_FRAMES
    status = run_cli("status", storyboard, "--out", out)
    assert "(2 earlier versions in outputs/versions)" in status.stdout
    assert tasks_created(ark) == 4


GATED: list[dict[str, Any]] = [{"id": "hook", "review": True}, {"id": "mid", "after": "hook"},
                               {"id": "end", "after": "mid"}]


def test_a_gate_holds_its_children_until_approved_and_the_run_says_how(ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, GATED, name="review")
    out = tmp_path / "runs"
    held = run_cli("run", storyboard, "--out", out, "--yes")
    assert held.code == 0, held.stderr
    assert tasks_created(ark) == 1
    (line,) = [x for x in held.stderr.splitlines() if x.startswith("waiting for approval")]
    assert line.startswith("waiting for approval: mid, end (after hook);")
    assert f"orchestrator approve {storyboard} hook [N]" in line and "--reroll hook" in line
    assert not (out / "review" / "outputs" / "main.mp4").exists()

    # A reroll while waiting: the gate still holds; then take 1 is approved (and so picked back).
    rerolled = run(storyboard, out, "--reroll", "hook")
    assert rerolled.code == 0 and tasks_created(ark) == 2
    assert {e["shot"] for e in events(rerolled) if e["event"] == "waiting"} == {"mid", "end"}
    approved = run_cli("approve", storyboard, "hook", "1", "--out", out)
    assert (approved.code, approved.stdout.strip()) == (
        0, f"hook: take 1 approved; `orchestrator run {storyboard}` goes on from it")
    released = run(storyboard, out)
    assert released.code == 0, released.stderr
    assert submitted(events(released)) == ["mid", "end"] and tasks_created(ark) == 4
    assert in_use(takes_json(storyboard, out, "hook")["hook"]) == 1
    assert probe_film(out / "review" / "outputs" / "main.mp4").frames == FILM_FRAMES


def test_gate_on_every_link_and_the_rejection_limit_asks_for_a_person(ark: SimulatorServer, tmp_path: Path,
                                                                      monkeypatch: Any) -> None:
    monkeypatch.setenv("ORCHESTRATOR_REJECTIONS_MAX", "2")
    storyboard = write_storyboard(tmp_path, CHAIN, name="review")
    out = tmp_path / "runs"
    first = run(storyboard, out, "--gate")
    assert first.code == 0 and submitted(events(first)) == ["hook"]
    assert run(storyboard, out, "--gate", "--reroll", "hook").code == 0
    assert tasks_created(ark) == 2

    refused = run(storyboard, out, "--gate", "--reroll", "hook")
    assert refused.code == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        "orchestrator: shot hook has 2 takes made without an approval (the limit is 2): look at them first "
        f"(orchestrator takes {storyboard} hook) and approve one (orchestrator approve), or raise "
        "ORCHESTRATOR_REJECTIONS_MAX")
    assert tasks_created(ark) == 2
    assert run_cli("approve", storyboard, "hook", "--out", out).code == 0  # the take in use: 2
    after_hook = run(storyboard, out, "--gate")
    assert submitted(events(after_hook)) == ["mid"]  # mid is a gate too
    assert run_cli("approve", storyboard, "mid", "--out", out).code == 0
    assert submitted(events(run(storyboard, out, "--gate"))) == ["end"]
    assert tasks_created(ark) == 4


def test_alternates_make_n_takes_at_once_and_children_start_from_one(ark: SimulatorServer, tmp_path: Path) -> None:
    shots = [{"id": "hook", "takes": 3}, {"id": "mid", "after": "hook"}]
    storyboard = write_storyboard(tmp_path, shots, name="review")
    out = tmp_path / "runs"
    priced = plan_json(storyboard, out)
    first = run(storyboard, out)
    assert first.code == 0, first.stderr
    assert sorted(submitted(events(first))) == ["hook", "hook", "hook", "mid"] and tasks_created(ark) == 4
    assert spent(events(first)) == to_spend(priced)  # the plan priced all three
    hook = takes_json(storyboard, out, "hook")["hook"]
    assert [t["why"] for t in hook] == ["new", "alternate", "alternate"]
    assert len({t["seed"] for t in hook}) == 3
    used = in_use(hook)
    mid_rows = [r for r in takes_rows(out / "review") if r["shot"] == "mid"]
    hook_frames = {t["number"]: r["frame_sha"] for t in hook for r in takes_rows(out / "review")
                   if r["shot"] == "hook" and r["key"] == t["key"]}
    assert len(mid_rows) == 1 and json.loads(str(mid_rows[0]["params"]))["parent_frame"] == hook_frames[used]

    assert submitted(events(run(storyboard, out))) == []  # three takes exist: nothing more to make
    other = 1 + used % 3
    assert to_spend(plan_json(storyboard, out, "--pick", f"hook={other}")) == to_spend(priced) / 4
    assert run_cli("pick", storyboard, "hook", str(other), "--out", out).code == 0
    again = run(storyboard, out)
    assert submitted(events(again)) == ["mid"] and tasks_created(ark) == 5
    assert probe_film(out / "review" / "outputs" / "main.mp4").frames == 2 * CLIP_FRAMES - 1
    # --takes on the command line asks for more of any shot
    more = run(storyboard, out, "--takes", "mid=2")
    assert submitted(events(more)) == ["mid"] and tasks_created(ark) == 6


@pytest.mark.long  # 5-15 s: in make test-matrix, which CI runs; keeps make test under ten minutes
def test_review_edges_found_in_review(ark: SimulatorServer, tmp_path: Path) -> None:
    """A lock stops alternates; an approval of the locked take is fine; a reroll recorded but not yet made is not
    undone by an earlier take; a cap already passed still lets a run that spends nothing run."""
    storyboard = write_storyboard(tmp_path, CHAIN, name="review")
    out = tmp_path / "runs"
    assert run(storyboard, out).code == 0
    assert run_cli("lock", storyboard, "mid", "--out", out).code == 0
    more = run(storyboard, out, "--takes", "mid=3")
    assert more.code == 2 and "(2 more take(s) asked for)" in more.stderr and tasks_created(ark) == 3
    assert run_cli("approve", storyboard, "mid", "1", "--out", out).code == 0
    assert run_cli("unlock", storyboard, "mid", "--out", out).code == 0

    outside = run(storyboard, out, "--reroll", "end", "--only", "mid")  # end's reroll is asked for, not made yet
    assert outside.code == 0 and submitted(events(outside)) == []
    later = run(storyboard, out)
    assert submitted(events(later)) == ["end"] and tasks_created(ark) == 4
    assert [t["why"] for t in takes_json(storyboard, out, "end")["end"]] == ["new", "reroll"]

    assert run(storyboard, out, "--budget-total", "0.01").code == 0  # spends nothing: the passed cap does not matter


def test_a_film_replaced_before_its_run_failed_is_kept_as_a_version(ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, CHAIN, name="review")
    out = tmp_path / "runs"
    assert run(storyboard, out).code == 0
    film = out / "review" / "outputs" / "main.mp4"
    first = film.read_bytes()
    seams = out / "review" / "report" / "seams"
    shutil.rmtree(seams)
    seams.write_text("in the way", encoding="utf-8")  # the seam frames, saved after the film, cannot be

    failed = run_cli("run", storyboard, "--out", out, "--yes", "--reroll", "end")
    assert failed.code != 0
    assert film.read_bytes() != first
    assert (film.parent / "versions" / "main.v1.mp4").read_bytes() == first


def test_the_resume_command_keeps_the_caps_and_the_alternates() -> None:
    line = _resume_command(Path("sb.yaml"), None, None, 5.0, None, None, True, 20.0, ("hook=3",))
    assert line == "orchestrator run sb.yaml --budget 5 --budget-total 20 --gate --takes hook=3"
