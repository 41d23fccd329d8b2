"""The colour anchor: grades that bring a picture's colour statistics to its chain's reference, continuous at every
chained join (a child's grade starts where its parent's ends), ramped out on a keyframed shot; the ramp's commands
grade every frame within a tolerance and the last one exactly; and, on real ffmpeg, a drifting 4-link chain of
simulator clips held to its first frame without a step at any seam or a frame more or less."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from orchestrator.assembly.anchor import graded, grades, levels_toward, stats
from orchestrator.assembly.chains import ChainPictures, Chains, chain_pictures, scaled
from orchestrator.assembly.drift import DELTA_E_LIMIT, drifted, look
from orchestrator.assembly.films import assemble_films
from orchestrator.assembly.grading import NO_LEVELS, RAMP_TOLERANCE, Grade, Levels, ramp_commands
from orchestrator.assembly.normalize import normalize
from orchestrator.assembly.pipeline import AssemblySettings, OutputClip
from orchestrator.binaries import bundled_ffmpeg
from orchestrator.simulator.drift import clip_drift
from orchestrator.simulator.render import RenderJob, render

WIDTH, HEIGHT, FRAMES = 320, 176, 25


def _warm(frame: np.ndarray, amount: float) -> np.ndarray:
    shifted = frame.astype(np.float64) * np.array([1 + amount, 1 + 0.15 * amount, 1 - amount])
    warmed: np.ndarray = np.clip(shifted, 0, 255).astype(np.uint8)
    return warmed


def _picture(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = Image.fromarray(rng.integers(40, 220, (18, 32, 3), dtype=np.uint8)).resize((640, 360))
    return np.asarray(smooth, dtype=np.uint8)


def test_levels_bring_a_drifted_picture_back_to_its_reference() -> None:
    reference = _picture(1)
    end = _warm(reference, 0.12)
    levels = levels_toward(stats(reference), stats(end))
    back = stats(graded(end, levels))
    assert back.mean == pytest.approx(stats(reference).mean, abs=0.6)
    assert back.std == pytest.approx(stats(reference).std, rel=0.03)
    before, after = (drifted(look(reference), look(p))[0] for p in (end, graded(end, levels)))
    assert before > 5 and after < 0.3 * before
    assert levels_toward(stats(reference), stats(reference)) == NO_LEVELS
    flat = np.full_like(reference, 120)  # no spread to match: the gain stays within its limits, not stretched
    assert all(2 / 3 <= g <= 1.5 for g in levels_toward(stats(reference), stats(flat)).gains)


def test_a_childs_grade_starts_where_its_parents_ends_and_a_keyframe_ramps_it_out() -> None:
    # a -> b -> c (ends on a keyframe) -> d; e stands alone
    chains = Chains({"a": None, "b": "a", "c": "b", "d": "c", "e": None}, frozenset({"c"}))
    base = _picture(2)
    ends = {"a": _warm(base, 0.03), "b": _warm(base, 0.06), "c": _picture(3), "d": _warm(_picture(3), 0.05)}
    found = grades(chains, ChainPictures({"a": base, "c": ends["c"]}, ends))
    assert sorted(found) == ["a", "b", "c", "d"]  # e is in no chain: never graded
    a, b, c, d = (found[s] for s in "abcd")
    assert a is not None and b is not None and c is not None and d is not None
    assert a.start == NO_LEVELS and b.start == a.end and c.start == b.end  # continuous at every join
    assert c.end == NO_LEVELS and d.start == NO_LEVELS  # the keyframe is the picture d is held to
    assert d.end == levels_toward(stats(ends["c"]), stats(ends["d"]))
    assert chains.lineage() == {"b": ["a"], "d": ["c"]}  # c ends on the producer's image: no drift to measure
    partial = ChainPictures({"a": base}, {"a": ends["a"]})  # b's last frame is missing
    assert list(grades(chains, partial, ["a", "b", "e"], hold=False)) == ["a"]  # early: left out, not guessed
    held = grades(chains, partial)  # the films: b keeps the grade it starts with, so its join shows no step
    a_end = levels_toward(stats(base), stats(ends["a"]))
    assert held["b"] == Grade(a_end, a_end) and held["c"] == Grade(a_end, NO_LEVELS)


def _applied(commands: str, start: Levels, frames: int, rate: int) -> list[list[tuple[float, float]]]:
    """Each frame's (gain, offset) per channel as lutyuv would hold them, replaying the commands by their times."""
    current = [(start.gains[c], start.offsets[c]) for c in range(3)]
    timed = []
    for line in commands.splitlines():
        time, rest = line.split(" ", 1)
        sets = re.findall(r"lutyuv@\w+ ([yuv]) 'val\*([0-9.]+)([+-][0-9.]+)'", rest)
        timed.append((float(time), [("yuv".index(c), float(g), float(o) - 0.5) for c, g, o in sets]))
    frames_levels, pending = [], list(timed)
    for k in range(frames):
        while pending and pending[0][0] <= k / rate:
            for channel, gain, offset in pending.pop(0)[1]:
                current[channel] = (gain, offset)
        frames_levels.append(list(current))
    return frames_levels


def test_the_ramp_grades_every_frame_near_its_share_and_the_last_exactly() -> None:
    grade = Grade(Levels((1.0, 0.9, 1.1), (0.0, 8.0, -6.0)), Levels((1.05, 1.0, 1.0), (-3.0, 20.0, -20.0)))
    commands = ramp_commands(grade, 121, (24, 1), "lutyuv@anchor")
    applied = _applied(commands, grade.start, 121, 24)
    for k, levels in enumerate(applied):
        exact = grade.start.toward(grade.end, k / 120)
        for c, (gain, offset) in enumerate(levels):
            worst = max(abs((gain - exact.gains[c]) * v + offset - exact.offsets[c]) for v in (0, 255))
            assert worst < RAMP_TOLERANCE + 0.01, (k, c, worst)
    assert applied[-1] == [(grade.end.gains[c], grade.end.offsets[c]) for c in range(3)]
    assert applied[0] == [(grade.start.gains[c], grade.start.offsets[c]) for c in range(3)]
    assert commands.count("lutyuv@anchor") < 3 * 120 / 2  # thinned: a table is rebuilt only when it must be


def _film(path: Path) -> np.ndarray:
    raw = subprocess.run([bundled_ffmpeg(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24",
                          "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, HEIGHT, WIDTH, 3)


def seam_steps(frames: np.ndarray, seams: list[int]) -> list[float]:
    """At each seam: the picture change across it (mean absolute difference of the frames either side) against the
    median change between neighbouring frames within 6 frames of it."""
    change = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))  # change[i]: frame i to i + 1
    ratios = []
    for seam in seams:
        around = [change[i] for i in range(seam - 7, seam + 6) if i != seam - 1 and 0 <= i < len(change)]
        ratios.append(float(change[seam - 1] / np.median(around)))
    return ratios


def test_a_drifting_chain_is_held_to_its_first_frame_without_a_step(tmp_path: Path) -> None:
    clips, frames_png, first = {}, {}, None
    for link, shot in enumerate("abcde"):
        prompt = f"link {link}: a slow push across an orchard"
        job = RenderJob(WIDTH, HEIGHT, FRAMES, prompt, seed=40 + link, first_frame=first, last_frame=None,
                        generate_audio=False, drift=clip_drift(0.06, 0.02, 0.3, 40 + link, prompt))
        result = render(job, tmp_path / "clips" / shot)
        clips[shot], frames_png[shot] = result.video, result.last_frame_png
        first = result.last_frame_png.read_bytes()
    chains = Chains({"a": None, "b": "a", "c": "b", "d": "c", "e": "d"})
    found = grades(chains, asyncio.run(chain_pictures(chains, clips, frames_png)))
    films = {}
    for anchor in ("off", "root"):
        entries = [OutputClip(s, clips[s], s != "a", found[s] if anchor == "root" else None) for s in "abcde"]
        made = asyncio.run(assemble_films({"main": entries}, tmp_path / anchor, tmp_path / "cache",
                                          AssemblySettings(color_anchor=anchor), chains=chains, clips=clips,
                                          last_frames=frames_png))
        films[anchor] = _film(made.films["main"].film.path)
        report = json.loads(made.report.read_text(encoding="utf-8"))["drift"]
        assert report["anchor"] == anchor and [c["root"] for c in report["chains"]] == ["a"]
        if anchor == "root":
            last = {d["shot"]: d for d in report["shots"]}["e"]
            assert last["anchored_delta_e"] < DELTA_E_LIMIT < last["delta_e"]
    plain, anchored = films["off"], films["root"]
    assert len(plain) == len(anchored) == FRAMES + 4 * (FRAMES - 1)  # frame-exact with the grade
    root = look(scaled(Image.fromarray(anchored[0])))
    without, held = (drifted(root, look(scaled(Image.fromarray(f[-1]))))[0] for f in (plain, anchored))
    assert without > DELTA_E_LIMIT and held < DELTA_E_LIMIT and held < 0.3 * without, (without, held)
    seams = [FRAMES + k * (FRAMES - 1) for k in range(4)]
    steps = seam_steps(anchored, seams), seam_steps(plain, seams)
    assert all(s <= 2.0 for s in steps[0] + steps[1]), steps


def _clip(path: Path, source: str, rate: str, frames: int) -> Path:
    subprocess.run([bundled_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", f"{source}:rate={rate}:duration=9",
                    "-frames:v", str(frames), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    str(path)], check=True)
    return path


def _planes(path: Path, width: int, height: int) -> np.ndarray:
    raw = subprocess.run([bundled_ffmpeg(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "yuv420p",
                          "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, width * height * 3 // 2)


def test_ffmpeg_grades_each_frame_with_its_share_of_the_ramp(tmp_path: Path) -> None:
    """Decoded from the intermediate ffmpeg wrote: frame k's chroma moved k/24 of the way, the last one all of it."""
    clip = _clip(tmp_path / "grey.mp4", "color=c=0x646464:size=64x48", "24", 25)
    grade = Grade(NO_LEVELS, Levels((1.0, 1.0, 1.0), (0.0, 12.0, -12.0)))
    plain, ramped = (_planes(asyncio.run(normalize(clip, 64, 48, False, tmp_path / "cache", grade=g)).path, 64, 48)
                     for g in (None, grade))
    assert len(plain) == len(ramped) == 25
    luma, u, v = slice(0, 64 * 48), slice(64 * 48, 64 * 48 * 5 // 4), slice(64 * 48 * 5 // 4, None)
    for k in range(25):
        assert ramped[k, luma].astype(int).mean() == pytest.approx(plain[k, luma].astype(int).mean(), abs=0.01)
        for plane, sign in ((u, 1), (v, -1)):
            moved = ramped[k, plane].astype(int).mean() - plain[k, plane].astype(int).mean()
            assert moved == pytest.approx(sign * 12 * k / 24, abs=RAMP_TOLERANCE + 0.5), (k, moved)
    assert ramped[24, u].astype(int).mean() - plain[24, u].astype(int).mean() == pytest.approx(12, abs=0.01)


@pytest.mark.parametrize(("rate", "frames"), [("24000/1001", 49), ("25/2", 25)])
def test_a_graded_clip_at_another_rate_keeps_its_frames_and_their_times(tmp_path: Path, rate: str, frames: int
                                                                      ) -> None:
    clip = _clip(tmp_path / "moving.mp4", "testsrc2=size=160x96", rate, frames)
    grade = Grade(NO_LEVELS, Levels((1.0, 1.0, 1.0), (0.0, 10.0, -10.0)))  # chroma only: luma must stay as it was
    made = [asyncio.run(normalize(clip, 160, 96, True, tmp_path / "cache", grade=g)) for g in (None, grade)]
    assert made[0].frames == made[1].frames
    plain, graded_planes = (_planes(m.path, 160, 96) for m in made)
    assert len(plain) == len(graded_planes) == made[0].frames  # the intermediate holds what it says
    luma = slice(0, 160 * 96)
    differences = np.abs(plain[:, luma].astype(int) - graded_planes[:, luma]).mean(axis=1)
    assert differences.max() < 1.0, differences  # the same source frame at every output frame
