"""Drift measured in every run: report.json's `drift` section gives each chained shot's colour difference (CIEDE2000)
and sharpness against its chain's root, read from the clips; with the simulator's drift model on, a chain's figures
grow link by link and pass those of the same chain without it; a keyframe starts a new root. The colour anchor, turned
on after a run warned, grades the films' chain back toward its first frame without a new task, a step at a seam, or a
frame more or less."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from orchestrator.assembly.chains import scaled
from orchestrator.assembly.drift import DELTA_E_LIMIT, drifted, look
from orchestrator.binaries import bundled_ffmpeg
from orchestrator.simulator.config import SimConfig
from orchestrator.simulator.server import SimulatorServer
from tests.assembly.test_anchor import seam_steps
from tests.conftest import STORYBOARDS
from tests.e2e.conftest import requests_made, run
from tests.e2e.test_faults import write_storyboard

CHAIN: list[dict[str, Any]] = [{"id": "a"}, {"id": "b", "after": "a"}, {"id": "c", "after": "b"},
                               {"id": "d", "after": "c"}]


@pytest.fixture
def model(ark: SimulatorServer) -> Iterator[Callable[[SimConfig], None]]:
    """Sets the shared simulator's drift model; back off after the test."""

    def use(config: SimConfig) -> None:
        for key in ("drift_colour", "drift_contrast", "drift_blur"):
            setattr(ark.backend.config, key, getattr(config, key))

    yield use
    use(SimConfig())


def _drift(model: Callable[[SimConfig], None], folder: Path, drifting: bool, shots: list[dict[str, Any]] = CHAIN
           ) -> dict[str, dict[str, Any]]:
    model(SimConfig.drifting(drift_colour=0.05, drift_blur=0.5) if drifting else SimConfig())
    storyboard = write_storyboard(folder, shots, name="drift")
    assert run(storyboard, folder / "runs").code == 0
    return {d["shot"]: d for d in _report(folder / "runs" / "drift")["drift"]["shots"]}


def _report(run_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    return loaded


@pytest.mark.long  # two runs, 15-25 s: in make test-matrix (CI runs it); the keyframe test runs in make test
def test_every_run_reports_each_links_drift_from_its_root(model: Callable[[SimConfig], None], tmp_path: Path
                                                          ) -> None:
    on = _drift(model, tmp_path / "on", drifting=True)
    off = _drift(model, tmp_path / "off", drifting=False)
    assert sorted(on) == sorted(off) == ["b", "c", "d"]
    assert [(on[s]["root"], on[s]["link"]) for s in "bcd"] == [("a", 1), ("a", 2), ("a", 3)]
    colour = [on[s]["delta_e"] for s in "bcd"]
    assert colour[0] < colour[1] < colour[2], colour  # drift accumulates along the chain
    assert all(on[s]["delta_e"] > off[s]["delta_e"] for s in "bcd"), (colour, [off[s]["delta_e"] for s in "bcd"])
    assert all(on[s]["sharpness"] < off[s]["sharpness"] for s in "bcd")
    assert on["b"]["start"]["lab_mean"] != on["b"]["end"]["lab_mean"]


def test_a_keyframe_starts_a_new_root(model: Callable[[SimConfig], None], tmp_path: Path) -> None:
    shots = [{"id": "a"}, {"id": "b", "after": "a", "last_frame": "assets/cup.png"}, {"id": "c", "after": "b"}]
    (tmp_path / "assets").mkdir(parents=True)
    (tmp_path / "assets" / "cup.png").write_bytes((STORYBOARDS / "assets" / "cup.png").read_bytes())
    found = _drift(model, tmp_path, False, shots)
    assert sorted(found) == ["c"] and (found["c"]["root"], found["c"]["link"]) == ("b", 1)


WIDTH, HEIGHT = 864, 480  # the 480p 16:9 clips write_storyboard asks for
LINK_FRAMES = 48  # each chained 2 s clip adds its 49 frames less the repeated first


def _film_frames(film: Path) -> np.ndarray:
    raw = subprocess.run([bundled_ffmpeg(), "-v", "error", "-i", str(film), "-f", "rawvideo", "-pix_fmt", "rgb24",
                          "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, HEIGHT, WIDTH, 3)


@pytest.mark.long  # two runs, ~25 s: in make test-matrix (CI runs it); tests/assembly/test_anchor.py runs in make test
def test_the_anchor_holds_a_drifting_chain_to_its_first_frame(ark: SimulatorServer, model: Callable[[SimConfig], None],
                                                              tmp_path: Path) -> None:
    """A producer runs a drifting 4-link chain, reads the warning, turns the anchor on and runs again: no task is
    made again, and the film's last frame holds to its first frame's colour while every chained join stays as
    smooth as the motion around it and the film keeps its frames."""
    model(SimConfig.drifting(drift_colour=0.05))
    chain = [{**shot, "seed": 70 + i} for i, shot in enumerate([*CHAIN, {"id": "e", "after": "d"}])]  # fixed drift
    storyboard = write_storyboard(tmp_path, chain, name="anchor")
    run_dir = tmp_path / "runs" / "anchor"
    assert run(storyboard, tmp_path / "runs").code == 0
    before = _report(run_dir)
    last = {d["shot"]: d for d in before["drift"]["shots"]}["e"]
    assert last["link"] == 4 and last["delta_e"] > 1.5 * DELTA_E_LIMIT and "colour" in last["over"]
    assert last["anchored_delta_e"] is None and before["drift"]["anchor"] == "off"
    assert any("color_anchor: root" in w and "chain from a" in w for w in before["warnings"])
    plain = _film_frames(run_dir / "outputs" / "main.mp4")
    creates = requests_made(ark)["requests.create"]

    doc = yaml.safe_load(storyboard.read_text(encoding="utf-8"))
    doc["assembly"] = {"color_anchor": "root"}
    storyboard.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    assert run(storyboard, tmp_path / "runs").code == 0
    assert requests_made(ark)["requests.create"] == creates  # the grade is the films': nothing is generated again
    after = _report(run_dir)
    graded = {d["shot"]: d for d in after["drift"]["shots"]}["e"]
    assert after["drift"]["anchor"] == "root" and graded["delta_e"] == last["delta_e"]  # the clips are unchanged
    assert graded["anchored_delta_e"] < DELTA_E_LIMIT and "colour" not in graded["over"]
    assert not any(w.startswith("drift:") and "colour" in w for w in after["warnings"])
    anchored = _film_frames(run_dir / "outputs" / "main.mp4")

    assert len(plain) == len(anchored) == 49 + 4 * LINK_FRAMES  # frame-exact, with or without the grade
    root = look(scaled(Image.fromarray(anchored[0])))
    # The root's first frame is the reference, never graded (the film is encoded anew, so not to the bit).
    assert np.abs(anchored[0].astype(np.int16) - plain[0]).mean() < 1.0
    without, with_anchor = (drifted(root, look(scaled(Image.fromarray(f[-1]))))[0] for f in (plain, anchored))
    assert without > 1.5 * DELTA_E_LIMIT and with_anchor < DELTA_E_LIMIT and with_anchor < 0.3 * without
    seams = [49 + k * LINK_FRAMES for k in range(4)]
    assert [j["frame"] for j in after["outputs"][0]["joins"]] == seams
    steps = seam_steps(anchored[:, ::4, ::4], seams), seam_steps(plain[:, ::4, ::4], seams)
    assert all(step <= 2.0 for step in steps[0] + steps[1]), steps  # as smooth as the motion, with or without
