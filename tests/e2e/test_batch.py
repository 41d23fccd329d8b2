"""Several storyboards in one `orchestrator run` (a batch): one account-wide in-flight limit counted on the
simulator, the longest chains first across storyboards, each storyboard's own films, journal and exit code, one
failing or refused storyboard not stopping the others, and a SIGKILL mid-batch resumed with no task made twice."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from orchestrator.simulator.faults import TaskFault
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import run_cli
from tests.e2e.children import Child, children, start
from tests.e2e.conftest import events, probe_film, takes

DEFAULTS = ('defaults: {model: dreamina-seedance-2-0-260128, resolution: 480p, ratio: "16:9", duration: 4, '
            "generate_audio: false}")
CLIP_FRAMES = 4 * 24 + 1
REFUSED = "REFUSE-THIS-PROMPT"

__all__ = ["children"]  # the fixture, used by name


def write(folder: Path, name: str, shots: list[str], extra: str = "") -> Path:
    """A storyboard `name` whose shots are given as flow mappings."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    body = "\n".join(f"  - {s}" for s in shots)
    path.write_text(f"version: 1\nname: {name}\n{DEFAULTS}\n{extra}shots:\n{body}\n", encoding="utf-8")
    return path


def three_storyboards(folder: Path) -> tuple[Path, Path, Path]:
    """a: a 3-link chain and a lone shot; b: two lone shots; c: a 2-link chain whose root the provider refuses,
    and a lone shot."""
    a = write(folder, "batch-a", ["{id: a1, prompt: 'a kite rises over a field'}",
                                  "{id: a2, after: a1, prompt: 'the kite climbs into cloud'}",
                                  "{id: a3, after: a2, prompt: 'the kite bursts into sun'}",
                                  "{id: a4, prompt: 'a dog watches the sky'}"])
    b = write(folder, "batch-b", ["{id: b1, prompt: 'a teapot on a table'}",
                                  "{id: b2, prompt: 'steam curls from a cup'}"])
    c = write(folder, "batch-c", [f"{{id: c1, prompt: 'a street at night {REFUSED}'}}",
                                  "{id: c2, after: c1, prompt: 'rain on the street'}",
                                  "{id: c3, prompt: 'a neon sign flickers'}"])
    return a, b, c


def test_a_batch_shares_one_limit_puts_the_longest_chains_first_and_contains_a_failing_storyboard(
        ark: SimulatorServer, tmp_path: Path) -> None:
    three_storyboards(tmp_path / "boards")
    ark.arm(TaskFault(outcome="failed", code="InputTextSensitiveContentDetected", prompt_contains=REFUSED,
                      message="The request failed because the input text may contain sensitive information."))
    out = tmp_path / "runs"

    result = run_cli("run", tmp_path / "boards", "--out", out, "--yes", "--json", "--concurrency", "2")

    assert result.code == 1, result.stderr  # the worst of 0, 0 and 1
    lines = events(result)
    assert all("storyboard" in e for e in lines if e["event"] != "batch_finished")
    finished = lines[-1]
    assert finished["event"] == "batch_finished" and finished["exit_code"] == 1
    assert {s["storyboard"]: s["exit_code"] for s in finished["storyboards"]} == \
        {"batch-a": 0, "batch-b": 0, "batch-c": 1}
    counters = ark.stats()["counters"]
    assert counters["peak_active"] == 2  # across the three storyboards, never more than --concurrency
    assert counters["tasks_created"] == 8  # every shot but c2, which c1's refusal blocked
    submitted = [(e["storyboard"], e["shot"]) for e in lines if e["event"] == "submitted"]
    assert set(submitted[:2]) == {("batch-a", "a1"), ("batch-c", "c1")}  # the two longest chains, across boards
    for name, frames in (("batch-a", 4 * CLIP_FRAMES - 2), ("batch-b", 2 * CLIP_FRAMES)):
        assert probe_film(out / name / "outputs" / "main.mp4").frames == frames
    assert not (out / "batch-c" / "outputs" / "main.mp4").exists()
    c_states = {str(r["shot"]): r["state"] for r in takes(out / "batch-c")}
    assert c_states == {"c1": "failed", "c3": "downloaded"}  # c's other shot finished; c2 was never sent
    for name in ("batch-a", "batch-b", "batch-c"):  # each storyboard keeps its own event log
        own = [json.loads(x) for x in (out / name / "events.jsonl").read_text().splitlines()]
        assert {e.get("shot") for e in own if e["event"] == "submitted"} <= {f"{name[-1]}{i}" for i in range(1, 5)}


def test_a_storyboard_over_its_budget_is_refused_alone_and_the_summary_names_each(ark: SimulatorServer,
                                                                                  tmp_path: Path) -> None:
    cheap = write(tmp_path, "cheap", ["{id: one, prompt: 'a paper boat on a pond'}"])
    dear = write(tmp_path, "dear", ["{id: one, prompt: 'a paper plane over a roof'}",
                                    "{id: two, prompt: 'a paper crane on a desk'}"], extra="budget_usd: 0.3\n")

    result = run_cli("run", cheap, dear, "--out", tmp_path / "runs", "--yes")

    assert result.code == 3, result.stderr  # the worst: dear's budget refusal
    assert ark.stats()["counters"]["tasks_created"] == 1  # cheap's shot only; nothing of dear was sent
    assert (tmp_path / "runs" / "cheap" / "outputs" / "main.mp4").is_file()
    assert "dear: not run: planned cost $0.57 exceeds the budget of $0.30" in result.stderr
    assert "cheap: shots: 1 generated, 0 reused" in result.stderr
    assert "storyboards: 1 of 2 done" in result.stderr


def test_a_batch_refuses_shot_flags_and_two_storyboards_of_one_name_before_anything_runs(
        ark: SimulatorServer, tmp_path: Path) -> None:
    a = write(tmp_path / "x", "same", ["{id: one, prompt: 'a lamp'}"])
    b = write(tmp_path / "y", "same", ["{id: one, prompt: 'a chair'}"])
    other = write(tmp_path, "other", ["{id: one, prompt: 'a door'}"])

    same = run_cli("run", a, b, "--out", tmp_path / "runs", "--yes")
    flagged = run_cli("run", a, other, "--out", tmp_path / "runs", "--yes", "--reroll", "one")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nshots:\n  - {id: one, prompt: 'x', duraton: 5}\n", encoding="utf-8")
    invalid = run_cli("run", other, bad, "--out", tmp_path / "runs", "--yes")

    assert same.code == 2 and "are both named 'same'" in same.stderr
    assert flagged.code == 2 and "--reroll name shots of one storyboard" in flagged.stderr
    assert invalid.code == 2 and f"{bad}:3" in invalid.stderr and "duraton" in invalid.stderr
    assert ark.stats()["counters"].get("tasks_created", 0) == 0


def test_plan_prices_each_storyboard_and_the_total(tmp_path: Path) -> None:
    a, b, c = three_storyboards(tmp_path)

    shown = run_cli("plan", a, b, c, "--out", tmp_path / "runs", "--json")

    assert shown.code == 0, shown.stderr
    body = json.loads(shown.stdout)
    amounts = [p["usd"] for p in body["storyboards"]]
    assert len(amounts) == 3 and body["total"]["shots"] == 9
    assert body["total"]["usd"] == pytest.approx(sum(amounts), abs=0.02)
    table = run_cli("plan", tmp_path, "--out", tmp_path / "runs")
    assert table.code == 0 and "All 3 storyboards: 9 shots" in table.stdout


@pytest.mark.long  # about 15 s: in make test-matrix, which CI runs after make test
def test_sigkill_mid_batch_then_a_rerun_resumes_every_storyboard_with_no_task_made_twice(
        ark: SimulatorServer, tmp_path: Path, children: list[Child]) -> None:
    a, b, c = three_storyboards(tmp_path / "boards")
    c.write_text(c.read_text().replace(f" {REFUSED}", ""), encoding="utf-8")  # every shot can finish here
    out = tmp_path / "runs"

    first = start(children, a, out, ark.base_url, more=(b, c))
    first.kill_after_submits(4)
    made_before = ark.stats()["counters"]["tasks_created"]
    again = start(children, a, out, ark.base_url, more=(b, c))

    assert again.finish() == 0, again.stderr
    assert 4 <= made_before < 9
    assert ark.stats()["counters"]["tasks_created"] == 9  # one task per shot over both processes
    owners: dict[str, str] = {}
    for name in ("batch-a", "batch-b", "batch-c"):
        db = sqlite3.connect(out / name / "journal.sqlite")
        try:
            rows = db.execute("SELECT shot, task_id FROM takes WHERE state = 'downloaded'").fetchall()
        finally:
            db.close()
        for shot, task in rows:
            assert task not in owners, f"{name}/{shot} and {owners[task]} share task {task}"
            owners[task] = f"{name}/{shot}"
        assert (out / name / "outputs" / "main.mp4").is_file()
    assert len(owners) == 9


@pytest.mark.long  # about 10 s: in make test-matrix, which CI runs after make test
def test_clips_only_leaves_films_and_page_to_later_and_assemble_makes_them(ark: SimulatorServer,
                                                                           tmp_path: Path) -> None:
    one = write(tmp_path, "later-one", ["{id: a, prompt: 'a bell tower'}", "{id: b, after: a, prompt: 'bells ring'}"])
    two = write(tmp_path, "later-two", ["{id: a, prompt: 'a rowing boat'}"])
    out = tmp_path / "runs"

    first = run_cli("run", one, two, "--out", out, "--yes", "--clips-only")

    assert first.code == 0, first.stderr
    assert ark.stats()["counters"]["tasks_created"] == 3
    for name in ("later-one", "later-two"):
        assert not list((out / name).glob("outputs/*.mp4")) and not (out / name / "report.html").exists()
        assert {r["state"] for r in takes(out / name)} == {"downloaded"}
    made = run_cli("assemble", one, "--out", out)
    assert made.code == 0, made.stderr
    assert probe_film(out / "later-one" / "outputs" / "main.mp4").frames == 2 * CLIP_FRAMES - 1
