"""Delivery per output, end to end on the simulator: each size preset's exact frame and frame count, 25 and 30 fps,
trims exact to the frame, an output's own soundtrack and loudness, and a film that ends on a fade, not a click
(measured: its last 50 ms at least 30 dB below its integrated loudness), whatever path its sound took."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from orchestrator.assembly.ffmpeg import Delivery
from orchestrator.binaries import ffmpeg_binary as ffmpeg_exe
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import FAST, run_cli
from tests.e2e.conftest import probe_film, run

SHOT = 49  # frames of a 2 s clip (24 * 2 + 1): shots a and b (1.0 pro, silent, 864x480)
LAST = 97  # shot c: 4 s with sound (2.0, 864x496); a and b have more frames at 864x480: the films' size
FADE_FLOOR_DB = 30.0  # the last 50 ms at least this far below the film's integrated loudness

STORYBOARD = """\
version: 1
name: deliver
defaults: {model: seedance-1-0-pro-250528, resolution: 480p, ratio: "16:9", duration: 2}
shots:
  - {id: a, prompt: "a red apple turns on a wooden table, warm light"}
  - {id: b, after: a, prompt: "the apple rolls to the edge of the table"}
  - {id: c, prompt: "a blue cup steams on a windowsill", model: dreamina-seedance-2-0-260128, duration: 4,
     generate_audio: true}
outputs:
  main: [a, b, c]
  hd: {shots: [a, b, c], size: 1080p, fps: 25}
  hd30: {shots: [a], size: 720p, fps: 30, fit: pad}
  cut: {shots: [a, b, c], trim: {start: 0.5, end: 5}, soundtrack: music.wav, loudness_lufs: -16}
  cut30: {shots: [a, b, c], trim: {start: 0.25, end: 3.5}, fps: 30, fade_out_seconds: 0.5}
"""


def _tone(path: Path, seconds: float) -> None:
    """A music bed that never goes quiet by itself: a 440 Hz tone."""
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=f=440:d={seconds}", "-ac", "2",
                    str(path)], check=True)


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory, sim_server: SimulatorServer) -> dict[str, Any]:
    """One run of the storyboard above; its run directory and report.json."""
    sim = sim_server
    sim.reset()
    for key, value in FAST.model_dump().items():
        setattr(sim.backend.config, key, value)
    root = tmp_path_factory.mktemp("deliver")
    _tone(root / "music.wav", 20)
    board = root / "deliver.yaml"
    board.write_text(STORYBOARD, encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARK_API_KEY", "e2e-test-key")
        env.setenv("ARK_BASE_URL", sim.base_url)
        env.setenv("ORCHESTRATOR_POLL_SCALE", "0.002")
        result = run(board, root / "runs")
    assert result.code == 0, result.stderr
    run_dir = root / "runs" / "deliver"
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    return {"dir": run_dir, "report": {o["name"]: o for o in report["outputs"]}, "board": board}


def _frames(film: Path, indices: list[int], width: int = 864, height: int = 496) -> dict[int, npt.NDArray[np.int16]]:
    """Chosen frames of a film as grey arrays (decoded in order, every frame counted)."""
    pick = "+".join(f"eq(n\\,{i})" for i in indices)
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(film), "-vf",
                          f"select='{pick}',scale={width}:{height}", "-fps_mode", "passthrough", "-f", "rawvideo",
                          "-pix_fmt", "gray", "-"], check=True, capture_output=True).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width).astype(np.int16)
    assert len(frames) == len(indices), f"{film}: {len(frames)} of {len(indices)} frames"
    return dict(zip(sorted(indices), frames, strict=True))


def _mad(a: npt.NDArray[np.int16], b: npt.NDArray[np.int16]) -> float:
    return float(np.abs(a - b).mean())


def _levels(film: Path) -> tuple[float, float]:
    """RMS level (dBFS) of the film's last 50 ms and of the second before its last second."""
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(film), "-ac", "1", "-ar", "48000", "-f", "s16le",
                          "-"], check=True, capture_output=True).stdout
    sound = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768

    def db(part: npt.NDArray[np.float64]) -> float:
        return float(20 * np.log10(max(float(np.sqrt(np.mean(part ** 2))), 1e-10)))

    return db(sound[-2400:]), db(sound[-96_000:-48_000])


def test_each_output_has_its_preset_size_and_exact_frame_count(delivered: dict[str, Any]) -> None:
    report = delivered["report"]
    joined = 2 * SHOT - 1 + LAST  # a -> b chained (b's first frame dropped), b | c a cut
    expected = {  # name: (width, height, fps, frames)
        "main": (864, 480, 24, joined),
        "hd": (1920, 1080, 25, 202),  # 194 x 25 / 24 = 202.08; 16:9 is the standard ratio nearest 9:5
        "hd30": (1280, 720, 30, 61),  # a alone (864x480, 9:5): 49 x 30 / 24 = 61.25
        "cut": (864, 480, 24, 120 - 12),  # 0.5 s .. 5 s: frames 12 .. 119
        "cut30": (864, 480, 30, 98),  # 0.25 s .. 3.5 s: frames 6 .. 83, 78 x 30 / 24 = 97.5, rounded half up
    }
    for name, (width, height, fps, frames) in expected.items():
        info = probe_film(delivered["dir"] / "outputs" / f"{name}.mp4")
        assert (info.width, info.height, round(info.fps), info.frames) == (width, height, fps, frames), name
        assert (report[name]["frames"], report[name]["fps"]) == (frames, fps), name
        assert info.has_audio and info.audio_rate == 48_000, name


def test_pad_letterboxes_a_clip_into_its_preset(delivered: dict[str, Any]) -> None:
    """864x480 (9:5) fitted whole into 1280x720 (16:9): 1280x711, with bars of black above and below."""
    frame = _frames(delivered["dir"] / "outputs" / "hd30.mp4", [30], 1280, 720)[30]
    rows = frame.mean(axis=1)
    assert rows[:3].max() < 20 and rows[-3:].max() < 20 and rows[100:600].min() > 20


def _closest(frame: npt.NDArray[np.int16], candidates: dict[int, npt.NDArray[np.int16]]) -> int:
    """Which of the master's frames this delivered frame shows: the one it differs from least (a re-encode
    differs a little from its source; the simulator's motion moves more than that from frame to frame)."""
    return min(candidates, key=lambda n: _mad(frame, candidates[n]))


def test_a_trim_starts_and_ends_on_the_exact_frame(delivered: dict[str, Any]) -> None:
    outputs = delivered["dir"] / "outputs"
    master = _frames(outputs / "main.mp4", [*range(9, 16), *range(116, 123)])
    cut = _frames(outputs / "cut.mp4", [0, 1, 106, 107])
    near_start = {n: f for n, f in master.items() if n < 60}
    near_end = {n: f for n, f in master.items() if n > 60}
    assert [_closest(cut[0], near_start), _closest(cut[1], near_start)] == [12, 13]
    assert [_closest(cut[106], near_end), _closest(cut[107], near_end)] == [118, 119]


def test_thirty_fps_repeats_frames_where_the_delivery_says(delivered: dict[str, Any]) -> None:
    outputs = delivered["dir"] / "outputs"
    delivery = Delivery(start=6, end=84, fps=30)
    wanted = [0, 1, 2, 3, 4, 5, 60, 61, 62, 63, 64]
    shown = {k: 6 + max(j for j in range(78) if delivery.tick(j) <= k) for k in wanted}
    assert len(set(shown.values())) < len(wanted)  # some master frames are shown twice
    master = _frames(outputs / "main.mp4", sorted({n + d for n in shown.values() for d in (-1, 0, 1)}))
    film = _frames(outputs / "cut30.mp4", wanted)
    for k, n in shown.items():
        around = {m: master[m] for m in (n - 1, n, n + 1)}
        assert _closest(film[k], around) == n, (k, n)


def test_seams_are_found_in_the_delivered_film_and_trimmed_joins_leave_qc(delivered: dict[str, Any]) -> None:
    report = delivered["report"]
    main = {(j["left"], j["right"]): j for j in report["main"]["joins"]}
    assert main[("a", "b")]["frame"] == SHOT and main[("b", "c")]["frame"] == 2 * SHOT - 1
    hd = {(j["left"], j["right"]): j["frame"] for j in report["hd"]["joins"]}
    assert hd == {("a", "b"): 51, ("b", "c"): 101}  # 49 x 25 / 24 = 51.04; 97 x 25 / 24 = 101.04
    cut = report["cut"]["joins"]
    assert [(j["left"], j["right"], j["frame"]) for j in cut] == [("a", "b", SHOT - 12), ("b", "c", 2 * SHOT - 13)]
    # 43 x 1.25 = 53.75, rounded half up; b | c (frame 97) is past cut30's out point (84) and leaves its QC
    assert [(j["left"], j["right"], j["frame"]) for j in report["cut30"]["joins"]] == [("a", "b", 54)]
    assert report["hd30"]["joins"] == []
    for name, film in report.items():
        for join in film["joins"]:
            assert not join["duplicate"], (name, join)  # a repeated frame of 25/30 fps never sits on a seam
            if join["chained"]:
                assert join["verdict"] == "ok", (name, join)


def test_every_film_ends_on_a_fade_for_clip_sound_and_for_a_soundtrack(delivered: dict[str, Any]) -> None:
    report = delivered["report"]
    sounding = {"main", "hd", "cut"}  # c's own sound ends main and hd; cut has its own soundtrack
    for name, film in report.items():
        path = delivered["dir"] / "outputs" / f"{name}.mp4"
        last, before = _levels(path)
        loudness = film["integrated_lufs"]
        if name not in sounding:  # a and b are silent clips
            assert last < -60, (name, last)
            continue
        assert loudness is not None and loudness > -40, (name, loudness)  # there is sound to fade
        assert last <= loudness - FADE_FLOOR_DB, (name, last, loudness)
        assert before > last + FADE_FLOOR_DB, (name, before, last)  # the sound was there a second earlier
    assert abs(report["cut"]["integrated_lufs"] - -16) <= 1.0  # the output's own target
    assert abs(report["main"]["integrated_lufs"] - -14) <= 1.0
    assert report["cut"]["edit"]["audio"] == "soundtrack" and report["main"]["edit"]["audio"] == "clips"
    assert report["cut"]["edit"]["soundtrack"] == str((delivered["board"].parent / "music.wav").resolve())


def test_a_soundtrack_plays_from_the_cut_downs_first_frame(delivered: dict[str, Any]) -> None:
    """The output's own music starts with the trimmed film, not 1 s into it: its first 50 ms already sound."""
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(delivered["dir"] / "outputs" / "cut.mp4"), "-ac",
                          "1", "-ar", "48000", "-f", "s16le", "-"], check=True, capture_output=True).stdout
    sound = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768
    first = 20 * np.log10(max(float(np.sqrt(np.mean(sound[240:2400] ** 2))), 1e-10))
    assert first > -30


def test_the_edit_in_report_json_says_what_each_film_is_made_of(delivered: dict[str, Any]) -> None:
    edit = delivered["report"]["cut"]["edit"]
    assert [(c["shot"], c["source_in"], c["source_out"]) for c in edit["clips"]] == [
        ("a", 0, SHOT), ("b", 1, SHOT), ("c", 0, LAST)]
    assert [t["kind"] for t in edit["transitions"]] == ["chained", "cut"]
    assert (edit["fps"], edit["frames"], edit["trim"]) == (24, 2 * SHOT - 1 + LAST, [12, 120])
    assert all(Path(c["clip"]).is_file() for c in edit["clips"])


def test_plan_prices_the_cut_down_at_its_trimmed_length(delivered: dict[str, Any]) -> None:
    result = run_cli("plan", delivered["board"], "--out", delivered["dir"].parent, "--json")
    assert result.code == 0, result.stderr
    outputs = {o["name"]: o for o in json.loads(result.stdout)["outputs"]}
    assert outputs["cut"]["seconds"] == 4.5 and outputs["cut30"]["seconds"] == 3.25
