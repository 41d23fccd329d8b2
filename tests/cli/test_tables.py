"""`plan`, `status` and the live run view fit the terminal (80, 100, 150 columns, or 100 when piped) with nothing
that matters cut: ids, states, costs, reasons and paths are whole; columns left out are named with where to see them."""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console

from orchestrator.cli import render
from orchestrator.cli.progress import LiveTable
from orchestrator.simulator.faults import TaskFault
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import FAST, STORYBOARDS, CliResult, run_cli
from tests.e2e.conftest import API_KEY, copy_storyboard

WIDTHS = (80, 100, 150)
REFUSED = TaskFault(outcome="failed", count=3, code="InputTextSensitiveContentDetected",
                    message="The request failed because the input text may contain sensitive information.")


@dataclass(frozen=True)
class Runs:
    """Run directories made once for the module, under a folder whose path is long."""

    out: Path
    storyboards: dict[str, Path]
    answers: dict[tuple[str, ...], Any] = field(default_factory=dict)

    def json(self, *args: str | Path) -> Any:
        """What `orchestrator ARGS... --json` says: the facts a table must show (asked once per module)."""
        key = tuple(map(str, args))
        if key not in self.answers:
            self.answers[key] = json.loads(run_cli(*args, "--json").stdout)
        return self.answers[key]


@pytest.fixture(scope="module")
def runs(sim_server: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """long-form-ad with its first three chain heads refused (the packshot is made, then its prompt edited so its
    film is stale) and tea-ad with its first shot refused; each run directory path is about 120 characters."""
    out = tmp_path_factory.mktemp("tables").joinpath("a-folder-with-a-rather-long-name", "for-the-runs-of-the-team",
                                                      "in-2026", "runs")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARK_API_KEY", API_KEY)
        env.setenv("ARK_BASE_URL", sim_server.base_url)
        env.setenv("ORCHESTRATOR_POLL_SCALE", "0.002")
        sim_server.reset()
        sim_server.backend.config.prerendered = True  # one small clip for every task: the packshot costs no render
        sim_server.backend.config.queue_seconds = 0.0
        sim_server.backend.config.list_qps = None
        storyboards: dict[str, Path] = {}
        for name, refused in (("long-form-ad", 3), ("tea-ad", 1)):
            storyboards[name] = copy_storyboard(out.parent / name, name)
            sim_server.arm(REFUSED.model_copy(update={"count": refused}))
            # One task at a time: the refusals land on the first heads in plan order, the same on every machine.
            made = run_cli("run", storyboards[name], "--out", out, "--yes", "--json", "--concurrency", "1")
            assert made.code == 1, made.stderr
        packshot = storyboards["long-form-ad"]
        packshot.write_text(packshot.read_text().replace("calm upbeat music", "calm upbeat music and birdsong"))
        yield Runs(out, storyboards)
    sim_server.reset()
    for key, value in FAST.model_dump().items():
        setattr(sim_server.backend.config, key, value)


def _at(width: int, monkeypatch: pytest.MonkeyPatch, *args: str | Path) -> CliResult:
    monkeypatch.setenv("COLUMNS", str(width))
    result = run_cli(*args)
    assert result.code == 0, result.stderr
    return result


def _assert_fits(text: str, width: int) -> None:
    widest = max(text.splitlines(), key=cell_len)
    assert cell_len(widest) <= width, f"{cell_len(widest)} > {width}: {widest!r}"
    assert "…" not in text  # rich's mark of a cut cell


def _cells(text: str) -> set[str]:
    """Every table cell and every word outside tables, each as printed on one line."""
    words = set(re.findall(r"[^\s│┃]+", text))
    cells = {cell.strip() for line in text.splitlines() if "│" in line for cell in line.split("│")[1:-1]}
    return words | cells


def _assert_whole(text: str, *values: str) -> None:
    """Each value (an id, a state, an amount, a reason) is printed with every word of it whole on one line."""
    printed = _cells(text)
    for value in values:
        missing = [word for word in value.split() if word not in printed]
        assert not missing, f"{value!r}: {missing} cut or missing"


def _assert_path(text: str, path: str, width: int, label: str) -> None:
    """The path is printed whole: on the label's line when both fit the width, else on lines of its own that
    give it back when joined."""
    if cell_len(f"{label} {path}") <= width:
        assert f"{label} {path}" in text
    assert path in "".join(line.strip() for line in text.splitlines())


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["long-form-ad", "tea-ad"])
def test_status_fits_and_keeps_ids_states_costs_errors_and_paths_whole(
        runs: Runs, name: str, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = runs.out / name
    facts = runs.json("status", run_dir)

    shown = _at(width, monkeypatch, "status", run_dir).stdout

    _assert_fits(shown, width)
    assert {s["state"] for s in facts["shots"]} >= ({"failed", "downloaded"} if name == "long-form-ad" else {"failed"})
    for shot in facts["shots"]:
        assert {shot["shot"], shot["state"], f"{shot['usd']:.2f}"} <= _cells(shown), shot
        _assert_whole(shown, shot["error"] or str(Path(shot["clip"]).relative_to(run_dir)))
    assert len(str(run_dir)) >= 110
    _assert_path(shown, str(run_dir), width, "Run directory:")
    for film, path in facts["films"].items():
        _assert_path(shown, path, width, f"film {film}:")
        _assert_whole(shown, f"STALE: {facts['stale'][film]}")
    if width == 150:
        assert {s["task_id"] for s in facts["shots"]} <= _cells(shown)  # room for every column
        assert "Not shown" not in shown
    if width == 80 and name == "long-form-ad":  # the task id gives way first, and the user is told where it is
        assert not {s["task_id"] for s in facts["shots"]} & _cells(shown)
        assert "Not shown at 80 columns: task id (orchestrator status --json shows them" in " ".join(shown.split())


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["long-form-ad", "tea-ad"])
@pytest.mark.parametrize("with_run", [True, False], ids=["with-run", "no-run"])
def test_plan_fits_and_keeps_ids_costs_and_reasons_whole(runs: Runs, name: str, width: int, with_run: bool,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    storyboard = runs.storyboards[name] if with_run else STORYBOARDS / f"{name}.yaml"
    out = runs.out if with_run else runs.out.parent / "no-runs-here"
    facts = runs.json("plan", storyboard, "--out", out)

    shown = _at(width, monkeypatch, "plan", storyboard, "--out", out).stdout

    _assert_fits(shown, width)
    for shot in facts["shots"]:
        assert {shot["id"], shot["parent"] or "-", f"{shot['usd']:.2f}"} <= _cells(shown), shot
    for output in facts["outputs"]:
        assert {output["name"], f"{output['usd']:.2f}"} <= _cells(shown), output
    assert ("decisions" in facts) is with_run
    for decision in facts.get("decisions", []):
        assert decision["action"] in _cells(shown)
        _assert_whole(shown, decision["reason"])
    footnote = " ".join(shown.split())
    if "Not shown" in footnote:
        assert width < 150 and f"Not shown at {width} columns:" in footnote
        assert "orchestrator plan --json shows them" in footnote
    if width == 150 and not with_run:
        assert "Not shown" not in footnote
        assert all(f" {header} " in shown for header in ("#", "res", "ratio", "size", "tokens", "notes"))


def test_plan_at_80_leaves_out_the_columns_other_columns_repeat_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = _at(80, monkeypatch, "plan", STORYBOARDS / "long-form-ad.yaml").stdout

    header = next(line for line in shown.splitlines() if line.startswith("┃"))
    assert [h.strip() for h in header.split("┃")[1:-1]][:3] == ["shot", "after", "model"]
    assert "Not shown at 80 columns: # (order), res (resolution), ratio" in " ".join(shown.split())
    assert "[1] ratio adaptive: sized as 16:9 from the parent" in shown  # the notes still explain the marks


def test_piped_output_is_100_columns_unless_columns_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    with contextlib.redirect_stdout(io.StringIO()):
        assert render.console().width == render.DEFAULT_WIDTH == 100
    monkeypatch.setenv("COLUMNS", "72")
    with contextlib.redirect_stdout(io.StringIO()):
        assert render.console().width == 72

    monkeypatch.delenv("COLUMNS")
    piped = run_cli("plan", STORYBOARDS / "long-form-ad.yaml").stdout
    _assert_fits(piped, 100)
    assert max(cell_len(line) for line in piped.splitlines()) > 80  # the room of 100 is used, not rich's 80


@pytest.mark.parametrize("width", [60, *WIDTHS])
def test_the_live_run_view_fits_and_keeps_ids_whole(width: int) -> None:
    shots = ["orchard-open", "kitchen-open", "street-handoff", "orchard-basket", "packshot"]
    buffer = io.StringIO()
    with LiveTable(Console(file=buffer, width=width, highlight=False, soft_wrap=False)) as live:
        live({"event": "run_started", "currency": "USD", "decisions": dict.fromkeys(shots, "generate")})
        for n, shot in enumerate(shots):
            live({"event": "submitted", "shot": shot, "task_id": f"cgt-20261130105932-ylie{n}"})
        live({"event": "failed", "shot": "orchard-open", "reason": "InputTextSensitiveContentDetected"})
        live({"event": "succeeded", "shot": "packshot", "usd": 0.91})
        live({"event": "downloaded", "shot": "packshot"})
    shown = buffer.getvalue().split("┏")[-1]  # the last frame drawn

    _assert_fits(shown, width)
    assert set(shots) | {"FAILED", "queued", "done", "generate"} <= _cells(shown)
    tasks = {f"cgt-20261130105932-ylie{n}" for n in range(len(shots))}
    if width >= 80:
        assert tasks <= _cells(shown)
    else:
        assert "Not shown at 60 columns: task id" in " ".join(shown.split())
