"""QC of films at their joins: argv builders and measures on arrays (pure), then real films assembled from generated
clips: a chained seam that must be invisible, a hard cut, a freeze (repeated frame kept), loudness, report, sheet."""

from __future__ import annotations

import asyncio
import json
import math
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from orchestrator.assembly import qc
from orchestrator.assembly.errors import AssemblyError
from orchestrator.assembly.ffmpeg import header_args, loudness_args, seam_frames_args
from orchestrator.assembly.pipeline import OutputClip, assemble_output
from tests.assembly.conftest import FFMPEG, make_clip
from tests.assembly.filtergraph import chain_to, parse

# --- argv -------------------------------------------------------------------------------------------------------


def test_seam_frames_args_seek_to_each_run_of_frames() -> None:
    cmd = parse(seam_frames_args(Path("film.mp4"), [(0, 2), (24, 4)], 320, 180))
    # a run from frame 0 needs no seek; the next is sought half a frame early
    assert cmd.inputs == [("film.mp4", {"reinit_filter": "0"}), ("film.mp4", {"reinit_filter": "0", "ss": "0.979167"})]
    assert cmd.graph is not None
    joined = chain_to(cmd.graph, cmd.maps("pipe:1")[0])
    assert joined.filters == ("concat=a=0:n=2:v=1",)
    first, second = (chain_to(cmd.graph, label) for label in joined.inputs)
    assert first.inputs == ("0:v:0",)
    assert first.filters == ("trim=end_frame=2", "setpts=PTS-STARTPTS", "scale=320:180:flags=area")
    assert second.inputs == ("1:v:0",) and second.filters[0] == "trim=end_frame=4"
    assert cmd.output("pipe:1") == {"f": "rawvideo", "pix_fmt": "rgb24", "fps_mode": "passthrough"}


def test_frame_runs_group_consecutive_frames() -> None:
    assert qc.frame_runs([3, 4, 5, 9, 10, 20]) == [(3, 3), (9, 2), (20, 1)]
    assert qc.frame_runs([]) == []


def test_loudness_args_keep_the_summary_on_stderr() -> None:
    cmd = parse(loudness_args(Path("film.mp4")))
    assert cmd.globals == ["-hide_banner", "-nostdin", "-nostats"]  # the summary is logged at info level
    assert cmd.graph is not None
    scan = chain_to(cmd.graph, cmd.maps("-")[0])
    assert scan.inputs == ("0:a:0",) and scan.filters == ("ebur128=framelog=verbose",)
    assert cmd.output("-") == {"f": "null"}


def test_header_args_decode_a_single_frame() -> None:
    cmd = parse(header_args(Path("film.mp4")))
    assert cmd.maps("-") == ["0:v:0"] and cmd.output("-") == {"f": "null", "frames:v": "1"}


# --- measures on arrays ------------------------------------------------------------------------------------------

RNG = np.random.default_rng(7)


def noise(scale: float = 255, size: tuple[int, int] = (90, 160)) -> qc.Frame:
    return np.clip(RNG.normal(128, scale / 4, (*size, 3)), 0, 255).astype(np.uint8)


def test_ssim_is_one_for_the_same_frame_and_low_for_unrelated_ones() -> None:
    a, b = noise(), noise()
    assert qc.ssim(a, a) == pytest.approx(1.0)
    assert qc.ssim(a, b) < 0.1
    assert qc.ssim(a, b) == pytest.approx(qc.ssim(b, a))
    blurred = ((a.astype(np.int16) + np.roll(a, 1, axis=1)) // 2).astype(np.uint8)
    assert 0.1 < qc.ssim(a, blurred) < 0.95


def test_flat_frames_are_alike_without_dividing_by_zero() -> None:
    grey = np.full((20, 20, 3), 100, np.uint8)
    assert qc.ssim(grey, grey) == pytest.approx(1.0)
    c1 = (0.01 * 255) ** 2  # only SSIM's luminance term is left for two flat frames
    assert qc.ssim(grey, np.full_like(grey, 160)) == pytest.approx((2 * 100 * 160 + c1) / (100**2 + 160**2 + c1))


def jitter(frame: qc.Frame, amount: int) -> qc.Frame:
    """The same picture with small coding-noise-like differences."""
    return np.clip(frame.astype(np.int16) + RNG.integers(-amount, amount + 1, frame.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    ("neighbours_move", "seam_copy_noise", "duplicate"),
    [
        (True, 0, True),  # bit-exact repeat
        (True, 2, True),  # re-encoded repeat (MAD ~1) while the shots move a lot: a freeze
        (False, 2, False),  # the same small change in a still shot is just noise, not a freeze
        (False, 0, True),  # but an exact repeat is a repeat
    ],
)
def test_duplicate_is_judged_against_the_motion_next_to_the_seam(neighbours_move: bool, seam_copy_noise: int,
                                                                  duplicate: bool) -> None:
    base = noise()
    step = noise() if neighbours_move else jitter(base, 2)
    frames = {23: step, 24: base, 25: jitter(base, seam_copy_noise), 26: noise() if neighbours_move else base}
    assert qc.is_duplicate(frames, 25) is duplicate


def test_a_seam_in_a_shot_that_barely_moves_is_not_a_freeze() -> None:
    """A slow zoom on smooth colour: every pair of frames differs by less than a re-encode would (MAD < 0.5), and
    the seam by more than its neighbours. Nothing stands still there that does not everywhere else."""
    base = np.full((90, 160, 3), 120, np.uint8)

    def drift(share: float) -> qc.Frame:  # a share of the pixels one level up: a slow change
        return (base + (RNG.random(base.shape) < share)).astype(np.uint8)

    frames = {23: drift(0.1), 24: drift(0.1), 25: drift(0.3), 26: drift(0.3)}
    assert all(qc.mean_abs_diff(frames[n], frames[n + 1]) < qc.DUPLICATE_MAD for n in (23, 24, 25))
    assert qc.is_duplicate(frames, 25) is False


def test_an_exact_repeat_at_the_film_start_is_a_duplicate() -> None:
    still = noise()
    assert qc.is_duplicate({0: still, 1: still.copy()}, 1) is True


def test_a_seam_into_new_content_is_never_a_duplicate_even_at_the_film_start() -> None:
    assert qc.is_duplicate({0: noise(), 1: noise()}, 1) is False


def test_levels_and_audio_steps() -> None:
    t = np.arange(48_000) / 48_000
    tone = (np.sin(2 * np.pi * 440 * t) * 32767 / 8).astype(np.int16)  # amplitude 1/8: RMS -21.1 dBFS
    assert qc.level_dbfs(tone) == pytest.approx(20 * math.log10(1 / 8 / math.sqrt(2)), abs=0.05)
    assert qc.level_dbfs(np.zeros(100, np.int16)) == qc.SILENCE_DBFS == qc.level_dbfs(np.zeros(0, np.int16))
    assert abs(qc.audio_step_db(tone, 12)) < 0.1  # frame 12 = sample 24000, mid-tone
    into_silence = np.concatenate([tone[:24_000], np.zeros(24_000, np.int16)])
    assert qc.audio_step_db(into_silence, 12) == pytest.approx(qc.SILENCE_DBFS - qc.level_dbfs(tone), abs=0.1)
    assert qc.audio_step_db(np.zeros(0, np.int16), 12) == 0.0  # no audio: no step


def test_report_is_written_atomically_and_is_plain_json(tmp_path: Path) -> None:
    out = qc.OutputQC("main", "/films/main.mp4", 48, 2.0, -23.0,
                      [qc.JoinQC("a", "b", True, "chained", 24, 0.97, False, 0.3)])
    path = tmp_path / "qc" / "report.json"
    path.parent.mkdir()
    path.write_text("old", encoding="utf-8")
    qc.write_report([out], path)
    assert json.loads(path.read_text(encoding="utf-8"))["outputs"][0]["joins"][0]["ssim"] == 0.97
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]  # the temporary file was renamed


def test_sheet_height_grows_by_one_row_per_seam() -> None:
    join = qc.Join(1, "a", "b", False)
    row = qc.SeamRow("film", join, noise(size=(180, 320)), noise(size=(180, 320)), 0.1, False)
    sheets = [qc.render_sheet([row] * n) for n in (1, 2, 5)]
    assert [s.height for s in sheets] == [qc.PAD + n * qc.row_height(180) for n in (1, 2, 5)]
    assert qc.render_sheet([]).height > 0  # an output with one shot still gets a (nearly empty) sheet


# --- real films --------------------------------------------------------------------------------------------------


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def piece(whole: Path, dest: Path, start: int, frames: int) -> Path:
    """Frames [start, start + frames) of `whole` with their audio; video lossless so frames stay exact."""
    ffmpeg("-i", str(whole), "-vf", f"trim=start_frame={start}:end_frame={start + frames},setpts=PTS-STARTPTS",
           "-af", f"atrim=start_sample={start * 2000}:end_sample={(start + frames) * 2000},asetpts=PTS-STARTPTS",
           "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "1",
           str(dest))
    return dest


STORY = [qc.Join(25, "a", "b", True), qc.Join(49, "b", "bars", False)]
FREEZE = [qc.Join(25, "a", "b", False)]


@pytest.fixture(scope="module")
def films(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """story = a | b chained (b starts on a's last frame, dropped) | colour bars, silent (cut);
    freeze = a | b as a plain cut, so b's repeated first frame stays: the film stands still for a frame."""
    d = tmp_path_factory.mktemp("qc")
    whole = make_clip(d / "whole.mp4", frames=49)  # testsrc2 prints the frame number: seams can be read off the sheet
    a, b = piece(whole, d / "a.mp4", 0, 25), piece(whole, d / "b.mp4", 24, 25)
    bars = d / "bars.mp4"
    ffmpeg("-f", "lavfi", "-i", "smptebars=size=320x180:rate=24", "-frames:v", "24", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(bars))

    async def build() -> dict[str, Any]:
        story = [OutputClip("a", a, False), OutputClip("b", b, True), OutputClip("bars", bars, False)]
        await assemble_output(story, d / "story.mp4", d / "cache")
        await assemble_output([OutputClip("a", a, False), OutputClip("b", b, False)], d / "freeze.mp4", d / "cache")
        source = await qc.seam_frames(whole, [qc.Join(25, "a", "b", False)], 180)
        return {
            "dir": d, "bars": bars, "source_ssim": qc.ssim(source[24], source[25]),
            "story": await qc.qc_output("story", d / "story.mp4", STORY),
            "freeze": await qc.qc_output("freeze", d / "freeze.mp4", FREEZE),
        }

    return asyncio.run(build())


def test_a_chained_seam_is_as_smooth_as_the_source_and_not_a_freeze(films: dict[str, Any]) -> None:
    story: qc.OutputQC = films["story"]
    assert (story.frames, story.seconds) == (73, pytest.approx(73 / 24))
    chained = story.joins[0]
    assert (chained.left, chained.right, chained.chained, chained.frame) == ("a", "b", True, 25)
    # testsrc2 moves a lot per frame, so consecutive frames score ~0.9: the seam must score as its source did
    assert chained.ssim > 0.85 and chained.ssim == pytest.approx(films["source_ssim"], abs=0.02)
    assert chained.duplicate is False  # the repeated frame was dropped
    assert abs(chained.audio_step_db) < 1.0  # one continuous tone across the seam


def test_a_cut_to_new_content_into_silence(films: dict[str, Any]) -> None:
    cut = films["story"].joins[1]
    assert (cut.left, cut.right, cut.chained, cut.frame) == ("b", "bars", False, 49)
    assert cut.ssim < 0.5 and cut.duplicate is False
    assert cut.audio_step_db < -40  # the bars clip has no audio: the film falls silent there


def test_a_kept_repeated_frame_is_reported_as_a_duplicate(films: dict[str, Any]) -> None:
    freeze: qc.OutputQC = films["freeze"]
    assert freeze.frames == 50
    assert freeze.joins[0].duplicate is True and freeze.joins[0].ssim > 0.98


def test_integrated_loudness_is_ebur128s_summary(films: dict[str, Any]) -> None:
    film = films["dir"] / "story.mp4"
    run = subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-i", str(film), "-af", "ebur128", "-f", "null", "-"],
                         capture_output=True, text=True, check=True)
    summary = re.findall(r"I:\s+(-?[\d.]+) LUFS", run.stderr.split("Summary:")[-1])
    lufs = films["story"].integrated_lufs
    assert lufs is not None and math.isfinite(lufs)
    assert lufs == pytest.approx(float(summary[0]), abs=0.05)
    assert -26 < lufs < -18  # a 1/8-amplitude sine is -21.8 LUFS in mono; a stereo upmix may add up to 3 LU


def test_a_film_without_audio_has_no_loudness_and_no_steps(films: dict[str, Any]) -> None:
    out = asyncio.run(qc.qc_output("bars", films["bars"], [qc.Join(12, "x", "y", False)]))
    assert (out.integrated_lufs, out.joins[0].audio_step_db, out.frames) == (None, 0.0, 24)


def test_a_join_outside_the_film_is_refused(films: dict[str, Any]) -> None:
    with pytest.raises(AssemblyError, match=r"frame 73 is not inside the film's 73 frames"):
        asyncio.run(qc.qc_output("story", films["dir"] / "story.mp4", [qc.Join(73, "b", "c", False)]))


def test_report_json_holds_every_output_and_join(films: dict[str, Any]) -> None:
    path = films["dir"] / "report.json"
    qc.write_report([films["story"], films["freeze"]], path)
    report = json.loads(path.read_text(encoding="utf-8"))
    outputs = report["outputs"]
    assert [o["name"] for o in outputs] == ["story", "freeze"]
    assert set(outputs[0]) == {"name", "path", "frames", "seconds", "integrated_lufs", "joins", "fps", "width",
                               "height"}
    assert (outputs[0]["fps"], outputs[0]["width"] > 0) == (24, True)
    assert [len(o["joins"]) for o in outputs] == [2, 1]
    assert report["thresholds"].startswith("check when a frame is shown twice")
    for join in (j for o in outputs for j in o["joins"]):
        assert set(join) == {"left", "right", "chained", "transition", "frame", "ssim", "duplicate",
                             "audio_step_db", "verdict", "reasons"}
        assert join["transition"] == ("chained" if join["chained"] else "cut")
        assert (join["verdict"] == "ok") == (join["reasons"] == [])
        assert -1 <= join["ssim"] <= 1 and isinstance(join["duplicate"], bool)
        assert abs(join["audio_step_db"]) < 120


def test_contact_sheet_has_one_row_per_seam_of_every_film(films: dict[str, Any]) -> None:
    d = films["dir"]
    both, one = d / "contact_sheet.png", d / "one.png"
    asyncio.run(qc.contact_sheet([(d / "story.mp4", STORY), (d / "freeze.mp4", FREEZE)], both))
    asyncio.run(qc.contact_sheet([(d / "freeze.mp4", FREEZE)], one))
    with Image.open(both) as sheet, Image.open(one) as single:
        assert sheet.format == "PNG" and sheet.width == single.width == 2 * qc.PAD + 2 * qc.THUMB_WIDTH + qc.GAP
        assert sheet.height - qc.PAD == 3 * (single.height - qc.PAD) == 3 * qc.row_height(180)
        # the right frame of the cut to colour bars is on the sheet: its top left is the bars' light grey
        top = qc.PAD + qc.row_height(180) + qc.LABEL_HEIGHT
        r, g, b = sheet.getpixel((qc.PAD + qc.THUMB_WIDTH + qc.GAP + 10, top + 10))  # type: ignore[misc]
        assert min(r, g, b) > 150
    assert not [p for p in d.iterdir() if p.name.endswith(".part")]
