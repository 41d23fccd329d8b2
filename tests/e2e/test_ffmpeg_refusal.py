"""An ffmpeg that cannot make the films is refused through the real command line, in one line, with exit 2, before
any create: `run` (built-in simulator or a provider) and `assemble`."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.binaries import bundled_ffmpeg
from orchestrator.simulator.server import SimulatorServer
from tests.assembly.conftest import logging_alias
from tests.conftest import run_cli
from tests.e2e.conftest import requests_made, run

STORYBOARD = """\
version: 1
name: tiny
defaults: {model: dreamina-seedance-2-0-260128, resolution: 480p, ratio: "16:9", duration: 4}
shots:
  - {id: a, prompt: "a red apple on a table"}
  - {id: b, prompt: "a cup of tea"}
assembly: {transition: crossfade, crossfade_seconds: 0.5}
"""


@pytest.fixture
def no_xfade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ORCHESTRATOR_FFMPEG set to the bundled ffmpeg behind a script whose `-filters` leaves out xfade."""
    fake = logging_alias(tmp_path / "ffmpeg", bundled_ffmpeg(), hide="xfade")
    monkeypatch.setenv("ORCHESTRATOR_FFMPEG", str(fake))
    return fake


def _storyboard(folder: Path) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(STORYBOARD, encoding="utf-8")
    return path


def _refusal(stderr: str, fake: Path) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"orchestrator: ffmpeg {fake} (ORCHESTRATOR_FFMPEG, version n")
    assert lines[0].endswith("missing filter xfade; unset ORCHESTRATOR_FFMPEG to use the bundled build")


def test_run_on_the_built_in_simulator_refuses_before_it_starts(no_xfade: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    result = run_cli("run", _storyboard(tmp_path), "--out", out, "--backend", "sim")
    assert result.code == 2
    _refusal(result.stderr, no_xfade)
    assert not out.exists()  # no simulator store, no run directory, no journal: nothing was started
    logged = no_xfade.with_name("ffmpeg.log").read_text().split()
    assert "-filter_complex" not in logged and "-i" not in logged  # asked what it can do, never given work


def test_run_against_a_provider_makes_no_request(no_xfade: Path, ark: SimulatorServer, tmp_path: Path) -> None:
    result = run(_storyboard(tmp_path), tmp_path / "runs")
    assert result.code == 2
    _refusal(result.stderr, no_xfade)
    assert ark.stats()["counters"].get("tasks_created", 0) == 0
    assert requests_made(ark).get("requests.create", 0) == 0 and sum(requests_made(ark).values()) == 0


def test_assemble_refuses_before_reading_the_run(ark: SimulatorServer, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    storyboard, out = _storyboard(tmp_path), tmp_path / "runs"
    assert run(storyboard, out).code == 0  # with the bundled build
    film = out / "tiny" / "outputs" / "main.mp4"
    before = film.stat().st_mtime_ns
    fake = logging_alias(tmp_path / "ffmpeg", bundled_ffmpeg(), hide="xfade")
    monkeypatch.setenv("ORCHESTRATOR_FFMPEG", str(fake))
    result = run_cli("assemble", storyboard, "--out", out)
    assert result.code == 2
    _refusal(result.stderr, fake)
    assert film.stat().st_mtime_ns == before
