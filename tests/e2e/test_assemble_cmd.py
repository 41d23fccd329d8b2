"""`orchestrator assemble RUN_DIR`: the films again from finished clips, after editing only `assembly:`, with no
provider call."""

from __future__ import annotations

from pathlib import Path

from orchestrator.models import frames_for
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import make_image, run_cli
from tests.e2e.conftest import probe_film, requests_made, run

STORYBOARD = """\
version: 1
name: small
defaults: {model: dreamina-seedance-2-0-260128, resolution: 480p, ratio: "16:9", duration: 4}
shots:
  - {id: a, prompt: "a red apple on a table", first_frame: apple.png}
  - {id: b, after: a, prompt: "the apple rolls away"}
  - {id: c, prompt: "a cup of tea"}
outputs:
  main: [a, b, c]
assembly: {transition: cut, audio: clips, loudness_lufs: null}
"""


def _storyboard(folder: Path, text: str = STORYBOARD) -> Path:
    make_image(folder / "apple.png", 640, 360)
    path = folder / "small.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_assemble_rebuilds_the_film_with_new_settings_and_no_provider_call(ark: SimulatorServer,
                                                                            tmp_path: Path) -> None:
    storyboard = _storyboard(tmp_path)
    out = tmp_path / "runs"
    assert run(storyboard, out).code == 0
    film = out / "small" / "outputs" / "main.mp4"
    four = frames_for(4)
    assert probe_film(film).frames == 3 * four - 1  # a->b is a chain edge: one repeated frame dropped
    storyboard.write_text(STORYBOARD.replace("transition: cut", "transition: crossfade, crossfade_seconds: 0.5"),
                          encoding="utf-8")
    before = requests_made(ark)

    result = run_cli("assemble", out / "small")

    assert result.code == 0, result.stderr
    assert requests_made(ark) == before
    assert str(film) in result.stdout
    assert probe_film(film).frames == 3 * four - 1 - 12  # b->c now crossfades over 0.5 s = 12 frames


def test_assemble_refuses_a_run_whose_shots_changed_and_unknown_outputs(ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = _storyboard(tmp_path)
    out = tmp_path / "runs"
    assert run(storyboard, out).code == 0

    unknown = run_cli("assemble", out / "small", "--output", "nope")
    storyboard.write_text(STORYBOARD.replace("a cup of tea", "a cup of coffee"), encoding="utf-8")
    changed = run_cli("assemble", out / "small")

    assert unknown.code == 2 and "--output nope: no such output" in unknown.stderr
    assert changed.code == 2 and "c not finished or changed since the run" in changed.stderr
    assert len(changed.stderr.strip().splitlines()) == 1
