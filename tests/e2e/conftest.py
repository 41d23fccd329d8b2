"""End-to-end helpers: the engine against the shared simulator on a real socket, storyboards copied so tests may
edit them, and what the journal and the simulator recorded."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from orchestrator.assembly.probe import ClipInfo, probe
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import STORYBOARDS, CliResult, run_cli

API_KEY = "e2e-test-key"


@pytest.fixture
def ark(sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    """The shared simulator, reached as the real provider would be (ARK_API_KEY + ARK_BASE_URL), polled fast."""
    monkeypatch.setenv("ARK_API_KEY", API_KEY)
    monkeypatch.setenv("ARK_BASE_URL", sim.base_url)
    monkeypatch.setenv("ORCHESTRATOR_POLL_SCALE", "0.002")
    return sim


def copy_storyboard(dest: Path, name: str) -> Path:
    """storyboards/<name>.yaml and its assets, copied under `dest` (so a test may edit them)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(STORYBOARDS / "assets", dest / "assets", dirs_exist_ok=True)
    target = dest / f"{name}.yaml"
    shutil.copy(STORYBOARDS / f"{name}.yaml", target)
    return target


def run(storyboard: Path, out: Path, *extra: str) -> CliResult:
    """`orchestrator run STORYBOARD --out OUT --yes --json ...` in-process."""
    return run_cli("run", storyboard, "--out", out, "--yes", "--json", *extra)


def events(result: CliResult) -> list[dict[str, object]]:
    """The JSON events a `--json` run printed."""
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def requests_made(sim: SimulatorServer) -> dict[str, int]:
    """The simulator's request counters."""
    counters: dict[str, int] = sim.stats()["counters"]
    return {k: v for k, v in counters.items() if k.startswith("requests.")}


def takes(run_dir: Path) -> list[dict[str, object]]:
    """Every journal row, oldest first (read with plain sqlite, as a user could)."""
    db = sqlite3.connect(run_dir / "journal.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM takes ORDER BY id")]
    finally:
        db.close()


def probe_film(path: Path) -> ClipInfo:
    """Strictly decode a film and return what it holds."""
    return asyncio.run(probe(path, decode=True))
