"""`orchestrator animatic FILE`: the films from cards, with the real films' frame counts, joins and soundtrack, and
not one provider request."""

from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from orchestrator.assembly.probe import audio_samples
from orchestrator.binaries import bundled_ffmpeg
from orchestrator.engine.rundir import RunDir, RunLock
from orchestrator.models import frames_for
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import CliResult, run_cli
from tests.e2e.conftest import API_KEY, probe_film, requests_made, run

FOUR = frames_for(4)  # a 4 s shot: 24 * 4 + 1 = 97 frames
WIDTH, HEIGHT = 864, 496  # 480p 16:9 on Seedance 2.0
RED, BLUE = (220, 30, 30), (30, 60, 220)

STORYBOARD = """\
version: 1
name: small
defaults: {model: dreamina-seedance-2-0-260128, resolution: 480p, ratio: "16:9", duration: 4}
shots:
  - {id: a, prompt: "a red apple on a table", first_frame: red.png, last_frame: blue.png}
  - {id: b, after: a, prompt: "the apple rolls away"}
  - {id: c, prompt: "a cup of tea on a marble table, steam rising in the morning light"}
outputs:
  main: [a, b, c]
  teaser: [c, a]
assembly: {transition: cut, audio: clips}
"""


def _storyboard(folder: Path, text: str = STORYBOARD) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (640, 360), RED).save(folder / "red.png")
    Image.new("RGB", (640, 360), BLUE).save(folder / "blue.png")
    path = folder / "small.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _films(stdout: str) -> dict[str, str]:
    """The film lines: output name -> the whole line."""
    lines = [line for line in stdout.splitlines() if line.startswith("animatic: ")]
    return {Path(line.split()[1]).stem: line for line in lines}


def _frames(film: Path, wanted: list[int]) -> dict[int, np.ndarray]:
    """The film's frames `wanted` (0-based), decoded to RGB by the bundled ffmpeg."""
    pick = "+".join(f"eq(n\\,{n})" for n in wanted)
    raw = subprocess.run([bundled_ffmpeg(), "-v", "error", "-i", str(film), "-vf", f"select={pick}",
                          "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, HEIGHT, WIDTH, 3)
    assert len(frames) == len(wanted)
    return dict(zip(sorted(wanted), frames, strict=True))


def _centre(frame: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in frame[HEIGHT // 2, WIDTH // 2])


def _near(colour: tuple[int, ...], wanted: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, wanted, strict=True))


@dataclass(frozen=True)
class Made:
    """One animatic of STORYBOARD (cuts, two outputs), made with the environment pointing at the simulator as at
    the real provider, and the simulator's request counters after it."""

    folder: Path
    out: Path
    result: CliResult
    requests: dict[str, int]


@pytest.fixture(scope="module")
def made(sim_server: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Made:
    """The animatic, made once for the tests that only look at it."""
    folder = tmp_path_factory.mktemp("animatic")
    storyboard = _storyboard(folder)
    sim_server.reset()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARK_API_KEY", API_KEY)  # a run would now call this "provider"
        env.setenv("ARK_BASE_URL", sim_server.base_url)
        result = run_cli("animatic", storyboard, "--out", folder / "runs")
    return Made(folder, folder / "runs", result, requests_made(sim_server))


def test_no_provider_request_is_made_and_no_simulator_is_started(made: Made) -> None:
    assert made.result.code == 0, made.result.stderr
    assert sum(made.requests.values()) == 0, made.requests
    assert sorted(p.name for p in made.out.iterdir()) == ["small"]  # no built-in simulator's store beside it
    assert sorted(p.name for p in (made.out / "small").iterdir()) == ["animatic"]  # nor a run's files


def test_each_film_has_the_frames_the_real_film_will_have(made: Made) -> None:
    assert made.result.code == 0, made.result.stderr
    assert "warning" not in made.result.stderr  # cards are silent: no "the film is silent" loudness warning
    films = _films(made.result.stdout)
    assert sorted(films) == ["main", "teaser"]
    expected = {"main": 3 * FOUR - 1,  # a->b chained (b's first frame dropped), b|c a cut
                "teaser": 2 * FOUR}  # c|a
    for name, frames in expected.items():
        path = made.out / "small" / "animatic" / "outputs" / f"{name}.mp4"
        assert probe_film(path).frames == frames
        assert films[name] == f"animatic: {path} ({frames / 24:.2f} s, {frames} frames; $0, no provider calls)"


@pytest.mark.long  # 7-17 s, in make test-matrix (CI runs it): the frame-count test above covers crossfades in make test
def test_crossfades_fall_as_in_a_real_run_on_the_simulator(ark: SimulatorServer, tmp_path: Path) -> None:
    text = STORYBOARD.replace("  teaser: [c, a]\n", "").replace("transition: cut", "transition: crossfade")
    storyboard = _storyboard(tmp_path, text)
    out = tmp_path / "runs"

    animatic = run_cli("animatic", storyboard, "--out", out)
    assert animatic.code == 0, animatic.stderr
    assert sum(requests_made(ark).values()) == 0
    assert run(storyboard, out).code == 0
    assert sum(requests_made(ark).values()) > 0  # the same counters do count a run's requests

    card = probe_film(out / "small" / "animatic" / "outputs" / "main.mp4")
    real = probe_film(out / "small" / "outputs" / "main.mp4")
    assert card.frames == 3 * FOUR - 1 - 12  # a->b chained; b|c crossfaded over 0.5 s, 12 frames
    assert (card.frames, card.width, card.height) == (real.frames, real.width, real.height)


def test_cards_show_the_shots_images_then_its_prompt(made: Made) -> None:
    assert made.result.code == 0, made.result.stderr
    out = made.out
    film = out / "small" / "animatic" / "outputs" / "main.mp4"
    first_half, switch, second_half = 20, FOUR - FOUR // 2, 80  # a: 49 frames of its first frame, 48 of its last
    c_middle = 2 * FOUR - 1 + FOUR // 2  # a, then b less its first frame, then c
    frames = _frames(film, [first_half, switch - 1, switch, second_half, c_middle])
    assert _near(_centre(frames[first_half]), RED) and _near(_centre(frames[switch - 1]), RED)
    assert _near(_centre(frames[switch]), BLUE) and _near(_centre(frames[second_half]), BLUE)
    prompt = frames[c_middle]
    assert not _near(_centre(prompt), RED, 60) and not _near(_centre(prompt), BLUE, 60)
    bright = int((prompt.max(axis=2) > 128).sum())
    assert bright > 2000, bright  # its id and prompt in light letters on the dark card
    listing = json.loads((out / "small" / "animatic" / "cards.json").read_text(encoding="utf-8"))
    assert listing["a"]["images"] == [str((made.folder / name).resolve()) for name in ("red.png", "blue.png")]
    assert listing["c"]["images"] == [] and listing["c"]["prompt"].startswith("a cup of tea")
    assert Path(listing["c"]["card"]).is_file() and Path(listing["c"]["card"]).parent.name == "cards"
    report = json.loads((out / "small" / "animatic" / "report.json").read_text(encoding="utf-8"))
    edits = {o["name"]: o["edit"] for o in report["outputs"]}
    for name, shots in (("main", ["a", "b", "c"]), ("teaser", ["c", "a"])):  # the export reads the cards from here
        assert [(c["shot"], c["clip"]) for c in edits[name]["clips"]] == [(s, listing[s]["card"]) for s in shots]


def test_a_soundtrack_plays_under_the_whole_animatic(tmp_path: Path) -> None:
    music = tmp_path / "music.wav"
    subprocess.run([bundled_ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:"
                    "duration=12", str(music)], check=True)
    text = STORYBOARD.replace("  teaser: [c, a]\n", "").replace("main: [a, b, c]", "main: [a, b]").replace(
        "assembly: {transition: cut, audio: clips}", "assembly: {audio: soundtrack, soundtrack: music.wav}")
    storyboard = _storyboard(tmp_path, text)
    out = tmp_path / "runs"

    result = run_cli("animatic", storyboard, "--out", out)

    assert result.code == 0, result.stderr
    film = out / "small" / "animatic" / "outputs" / "main.mp4"
    info = probe_film(film)
    assert info.has_audio and info.frames == 2 * FOUR - 1
    samples = asyncio.run(audio_samples(film))
    assert abs(samples - info.frames * 2000) <= 1024, samples  # the film's length, within one AAC frame
    report = json.loads((out / "small" / "animatic" / "report.json").read_text(encoding="utf-8"))
    loudness = report["outputs"][0]["integrated_lufs"]
    assert loudness is not None and abs(loudness - -14) <= 1  # the soundtrack, brought to the target


def test_editing_one_prompt_makes_only_that_card_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARK_API_KEY", raising=False)  # never needed
    text = STORYBOARD.replace("  teaser: [c, a]\n", "")
    storyboard = _storyboard(tmp_path, text)
    out = tmp_path / "runs"
    cards = out / "small" / "animatic" / "cards.json"
    first = run_cli("animatic", storyboard, "--out", out)
    assert first.code == 0, first.stderr
    before = json.loads(cards.read_text(encoding="utf-8"))
    times = {shot: Path(card["card"]).stat().st_mtime_ns for shot, card in before.items()}

    storyboard.write_text(text.replace("the apple rolls away", "the apple rolls off the table"), encoding="utf-8")
    with RunLock(RunDir(out / "small")):  # as a `run` of the storyboard holds it: the animatic goes on beside it
        second = run_cli("animatic", storyboard, "--out", out)

    assert second.code == 0, second.stderr
    assert "cards: 3 made, 0 reused" in first.stderr and "cards: 1 made, 2 reused" in second.stderr
    after = json.loads(cards.read_text(encoding="utf-8"))
    assert after["b"]["card"] != before["b"]["card"] and after["b"]["prompt"] == "the apple rolls off the table"
    for shot in ("a", "c"):
        assert after[shot]["card"] == before[shot]["card"]
        assert Path(after[shot]["card"]).stat().st_mtime_ns == times[shot]
    assert probe_film(out / "small" / "animatic" / "outputs" / "main.mp4").frames == 3 * FOUR - 1


def test_an_invalid_storyboard_is_refused_as_validate_refuses_it_and_nothing_is_made(tmp_path: Path) -> None:
    storyboard = _storyboard(tmp_path, STORYBOARD.replace("duration: 4}", "duration: 40}"))
    out = tmp_path / "runs"

    result = run_cli("animatic", storyboard, "--out", out)
    validate = run_cli("validate", storyboard)

    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{storyboard}:3:") and "duration" in lines[0]
    assert result.stderr == validate.stderr
    assert not out.exists()


def test_an_unknown_output_is_refused_in_one_line_before_anything_is_made(tmp_path: Path) -> None:
    storyboard = _storyboard(tmp_path)
    out = tmp_path / "runs"

    result = run_cli("animatic", storyboard, "--out", out, "--output", "nope")

    assert result.code == 2
    assert result.stderr.strip() == f"orchestrator: --output nope: no such output in {storyboard} (main, teaser)"
    assert not out.exists()
