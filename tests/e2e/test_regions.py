"""A Volcengine storyboard end to end through the real command line: doubao- ids and an endpoint, priced and
budgeted in CNY, run against a simulator configured as Volcengine, to a film (DESIGN.md §§8-9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.simulator.server import SimulatorServer
from tests.conftest import run_cli
from tests.e2e.conftest import events, probe_film, run, takes

ENDPOINT = "ep-20250611150425-abcde"
STORYBOARD = f"""version: 1
name: volc-film
defaults:
  model: doubao-seedance-1-0-pro-fast-251015
  resolution: 480p
  duration: 2
shots:
  - id: open
    ratio: "16:9"
    prompt: "A dewy red apple on a wooden table"
  - id: roll
    after: open
    model: {ENDPOINT}
    prompt: "The apple rolls towards the camera"
endpoints:
  {ENDPOINT}: doubao-seedance-1-0-pro-250528
budget_cny: 1
"""
CLIP_TOKENS = 864 * 480 * 49 // 1024


def write(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "volc-film.yaml"
    path.write_text(STORYBOARD, encoding="utf-8")
    return path


def test_a_volcengine_storyboard_runs_to_a_film_on_a_volcengine_simulator(ark: SimulatorServer,
                                                                         tmp_path: Path) -> None:
    ark.backend.config.region = "volcengine"
    ark.backend.config.endpoints = {ENDPOINT: "doubao-seedance-1-0-pro-250528"}
    storyboard, out = write(tmp_path), tmp_path / "runs"

    result = run(storyboard, out)

    assert result.code == 0, result.stderr
    info = probe_film(out / "volc-film" / "outputs" / "main.mp4")
    assert (info.width, info.height, info.frames) == (864, 480, 2 * 49 - 1)
    tasks = {t["prompt"]: t for t in ark.backend.latencies()}
    models = {ark.backend.tasks[t["id"]].spec.model.id for t in tasks.values()}
    assert models == {"doubao-seedance-1-0-pro-fast-251015", "doubao-seedance-1-0-pro-250528"}
    sent = {r["shot"]: json.loads(str(r["request"]))["model"] for r in takes(out / "volc-film")}
    assert sent == {"open": "doubao-seedance-1-0-pro-fast-251015", "roll": ENDPOINT}
    started = next(e for e in events(result) if e["event"] == "run_started")
    finished = next(e for e in events(result) if e["event"] == "run_finished")
    assert started["currency"] == "CNY" and "cny_to_generate" in started and "usd_to_generate" not in started
    assert finished["cny"] == pytest.approx(CLIP_TOKENS * (4.2 + 15) / 1e6, abs=1e-4)
    status = json.loads(run_cli("status", storyboard, "--out", out, "--json").stdout)
    assert (status["currency"], status["region"], status["stale"]) == ("CNY", "volcengine", {})
    assert [s["cny"] for s in status["shots"]] == [round(CLIP_TOKENS * 4.2 / 1e6, 4), round(CLIP_TOKENS * 15 / 1e6, 4)]


def test_the_built_in_simulator_runs_as_volcengine_for_a_volcengine_storyboard(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ARK_API_KEY: the default backend, configured with the storyboard's region and endpoints."""
    for name in ("ARK_API_KEY", "ARK_BASE_URL", "ORCHESTRATOR_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ORCHESTRATOR_SIM_SPEED", "2000")
    monkeypatch.setenv("ORCHESTRATOR_POLL_SCALE", "0.002")
    storyboard, out = write(tmp_path), tmp_path / "runs"

    result = run_cli("run", storyboard, "--out", out)

    assert result.code == 0, result.stderr
    assert "simulator as Volcengine" in result.stderr and "spent ¥" in result.stderr
    assert (out / "volc-film" / "outputs" / "main.mp4").is_file()
    records = [json.loads(p.read_text()) for p in (out / ".simulator-volcengine" / "tasks").glob("*/request.json")]
    assert sorted(r["body"]["model"] for r in records) == ["doubao-seedance-1-0-pro-fast-251015", ENDPOINT]
    assert all(r["region"] == "volcengine" for r in records)
    (out / "volc-film" / "journal.sqlite").unlink()  # lost: recovered from the take records, currency included
    assert run_cli("recover", storyboard, "--out", out).code == 0
    status = json.loads(run_cli("status", storyboard, "--out", out, "--json").stdout)
    assert (status["currency"], status["region"]) == ("CNY", "volcengine")
    (out / "volc-film" / "journal.sqlite").unlink()  # and the events too: the take records' model ids tell
    (out / "volc-film" / "events.jsonl").unlink()
    assert run_cli("recover", out / "volc-film").code == 0
    status = json.loads(run_cli("status", out / "volc-film", "--json").stdout)
    assert (status["currency"], status["region"]) == ("CNY", "volcengine")
    again = run_cli("run", storyboard, "--out", out)  # a rerun finds everything: nothing to make
    assert again.code == 0 and "2 reused" in again.stderr, again.stderr
