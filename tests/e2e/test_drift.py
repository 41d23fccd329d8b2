"""Drift measured in every run: report.json's `drift` section gives each chained shot's colour difference (CIEDE2000)
and sharpness against its chain's root, read from the clips; with the simulator's drift model on, a chain's figures
grow link by link and pass those of the same chain without it; a keyframe starts a new root."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.simulator.config import SimConfig
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import STORYBOARDS
from tests.e2e.conftest import run
from tests.e2e.test_faults import write_storyboard

CHAIN: list[dict[str, Any]] = [{"id": "a"}, {"id": "b", "after": "a"}, {"id": "c", "after": "b"},
                               {"id": "d", "after": "c"}]


def _drift(ark: SimulatorServer, folder: Path, drifting: bool, shots: list[dict[str, Any]] = CHAIN
           ) -> dict[str, dict[str, Any]]:
    model = SimConfig.drifting() if drifting else SimConfig()
    for key in ("drift_colour", "drift_contrast", "drift_blur"):
        setattr(ark.backend.config, key, getattr(model, key))
    storyboard = write_storyboard(folder, shots, name="drift")
    assert run(storyboard, folder / "runs").code == 0
    report = json.loads((folder / "runs" / "drift" / "report.json").read_text(encoding="utf-8"))
    return {d["shot"]: d for d in report["drift"]["shots"]}


@pytest.mark.long  # two runs, 15-25 s: in make test-matrix (CI runs it); the keyframe test runs in make test
def test_every_run_reports_each_links_drift_from_its_root(ark: SimulatorServer, tmp_path: Path) -> None:
    on = _drift(ark, tmp_path / "on", drifting=True)
    off = _drift(ark, tmp_path / "off", drifting=False)
    assert sorted(on) == sorted(off) == ["b", "c", "d"]
    assert [(on[s]["root"], on[s]["link"]) for s in "bcd"] == [("a", 1), ("a", 2), ("a", 3)]
    colour = [on[s]["delta_e"] for s in "bcd"]
    assert colour[0] < colour[1] < colour[2], colour  # drift accumulates along the chain
    assert all(on[s]["delta_e"] > off[s]["delta_e"] for s in "bcd"), (colour, [off[s]["delta_e"] for s in "bcd"])
    assert all(on[s]["sharpness"] < off[s]["sharpness"] for s in "bcd")
    assert on["b"]["start"]["lab_mean"] != on["b"]["end"]["lab_mean"]


def test_a_keyframe_starts_a_new_root(ark: SimulatorServer, tmp_path: Path) -> None:
    shots = [{"id": "a"}, {"id": "b", "after": "a", "last_frame": "assets/cup.png"}, {"id": "c", "after": "b"}]
    (tmp_path / "assets").mkdir(parents=True)
    (tmp_path / "assets" / "cup.png").write_bytes((STORYBOARDS / "assets" / "cup.png").read_bytes())
    found = _drift(ark, tmp_path, False, shots)
    assert sorted(found) == ["c"] and (found["c"]["root"], found["c"]["link"]) == ("b", 1)
