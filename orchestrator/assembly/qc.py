"""QC of finished films (DESIGN.md §7): at every join, how alike the frames either side are (SSIM), whether the seam
shows one frame twice (a freeze: a chained child's repeated first frame was not dropped), and how far the sound level
jumps; the film's integrated loudness; a report.json, and a contact sheet PNG a person can glance at to see every seam.

Each film is read a fixed number of times, whatever its number of joins: the seam frames by one ffmpeg (seeking to each
seam, so only the frames since the keyframe before it are decoded), the audio once as raw samples, and once
through ebur128. The report and the contact sheet share the seam frames.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from orchestrator.assembly.errors import AssemblyError
from orchestrator.assembly.ffmpeg import (
    AUDIO_RATE,
    FPS,
    audio_samples_args,
    header_args,
    loudness_args,
    seam_frames_args,
)
from orchestrator.assembly.probe import parse_probe, probe
from orchestrator.assembly.process import run_ffmpeg, run_ffmpeg_stdout, run_together, task_group
from orchestrator.assembly.temp import temporary
from orchestrator.assembly.verdict import THRESHOLDS, verdict

Frame = npt.NDArray[np.uint8]  # height x width x 3, RGB
Samples = npt.NDArray[np.int16]  # mono, 48 kHz

THUMB_WIDTH = 320  # seam frames are compared and shown at this width: enough to judge, cheap to decode and diff
DUPLICATE_MOTION_SHARE = 0.4  # a seam changing less than this share of the motion next to it is a freeze
DUPLICATE_MAD = 0.5  # with no motion to compare (the film's edge): mean |difference| (0..255) of the same picture
AUDIO_WINDOW = AUDIO_RATE // 20  # 50 ms of samples on each side of a seam
SILENCE_DBFS = -96.0  # the level given to digital silence (16-bit range), so a step into silence stays finite
SSIM_WINDOW = 8
_C1, _C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2  # SSIM's stabilisers for 8-bit data (Wang et al. 2004)
_LUMA = np.array([0.299, 0.587, 0.114])  # BT.601 weights: SSIM is defined on luma
_INTEGRATED = re.compile(r"I:\s+(-?\d+(?:\.\d+)?) LUFS")

# Contact sheet layout, in pixels.
PAD, GAP, FONT_SIZE, LINE = 10, 4, 14, 18
LABEL_HEIGHT = 2 * LINE
_BACKGROUND, _TEXT, _CHAINED, _CUT, _ALARM = "#1e1e1e", "#e8e8e8", "#7fd48a", "#8ab4f8", "#ff6b6b"
_CROSSFADE = "#e0b45c"


@dataclass(frozen=True)
class Join:
    """A seam in a film: the last frame of one shot and the first frame of the next."""

    index: int  # 0-based frame index in the film of the FIRST frame after the seam
    left: str  # shot id before
    right: str  # shot id after
    chained: bool
    crossfade: bool = False  # the two shots blend over several frames; `index` is the blend's middle

    @property
    def kind(self) -> str:
        """chained, crossfade or cut: what a person looking at the seam should expect."""
        return "chained" if self.chained else "crossfade" if self.crossfade else "cut"


@dataclass(frozen=True)
class JoinQC:
    """What QC found at one seam."""

    left: str
    right: str
    chained: bool
    transition: str  # chained | crossfade | cut
    frame: int  # the film frame right after the seam
    ssim: float  # of the frames either side: near 1 at an invisible (chained) seam, low at a cut to new content
    duplicate: bool  # the frames either side are the same picture: the film freezes for a frame here
    audio_step_db: float  # RMS level of the 50 ms after the seam minus the 50 ms before (dB; 0.0 without audio)


@dataclass(frozen=True)
class OutputQC:
    """QC of one output film."""

    name: str
    path: str
    frames: int
    seconds: float
    integrated_lufs: float | None  # None when the film has no audio
    joins: list[JoinQC]
    fps: int = FPS
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class Loudness:
    """A film's integrated loudness as already measured (by the pipeline's check), so QC does not measure again."""

    lufs: float | None  # None: ebur128 gave no figure


async def qc_output(name: str, film: Path, joins: list[Join], loudness: Loudness | None = None,
                    frames: dict[int, Frame] | None = None, fps: int = FPS) -> OutputQC:
    """Measure every seam of `film` and its integrated loudness (unless `loudness` already says it); `frames`, when
    given, are its seam frames as `seam_frames` read them (the contact sheet shows the same ones)."""
    info = await probe(film, decode=False)  # the film was verified when made; QC needs its facts, not a decode
    for join in joins:
        if not 1 <= join.index < info.frames:
            raise AssemblyError(f"{film}: join {join.left} -> {join.right} at frame {join.index} is not inside the "
                                f"film's {info.frames} frames")
    async with task_group() as group:
        seams = group.create_task(_given(frames) if frames is not None else
                                  seam_frames(film, joins, thumb_height(info.width, info.height), fps))
        audio = group.create_task(_mono_samples(film) if info.has_audio else _no_samples())
        if loudness is None and info.has_audio:
            loudness = Loudness(await integrated_loudness(film))
    lufs = loudness.lufs if loudness is not None else None
    checked = [_check(join, seams.result(), audio.result(), fps) for join in joins]
    return OutputQC(name, str(film), info.frames, info.frames / fps, lufs, checked, fps, info.width, info.height)


def write_report(outputs: list[OutputQC], path: Path, warnings: list[str] | None = None,
                 extra: dict[str, dict[str, object]] | None = None, top: dict[str, object] | None = None) -> None:
    """Write report.json atomically: a reader sees the previous report or this one, never part of one. `extra`
    adds fields to each output's entry, by output name (the film's edit); `top`, sections of the report's own (the
    chains' drift)."""
    entries = [{**_with_verdicts(o), **(extra or {}).get(o.name, {})} for o in outputs]
    body = {"outputs": entries, "thresholds": THRESHOLDS, "warnings": warnings or [], **(top or {})}
    text = json.dumps(body, indent=2, allow_nan=False) + "\n"
    _write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _with_verdicts(output: OutputQC) -> dict[str, object]:
    body = asdict(output)
    for join, data in zip(output.joins, body["joins"], strict=True):
        found = verdict(join.chained, join.ssim, join.duplicate, join.audio_step_db)
        data.update(verdict=found.word, reasons=list(found.reasons))
    return body


async def contact_sheet(film_joins: list[tuple[Path, list[Join]]], path: Path,
                        frames: dict[Path, dict[int, Frame]] | None = None) -> None:
    """Write contact_sheet.png atomically: one labelled row per seam of every film, left frame | right frame.
    `frames` holds films' seam frames already read (by film path); the others are read here."""
    known = frames or {}
    per_film = await run_together(_seam_rows(film, joins, known.get(film)) for film, joins in film_joins)
    sheet = render_sheet([row for rows in per_film for row in rows])
    _write_atomically(path, lambda tmp: sheet.save(tmp, format="PNG", compress_level=1))  # 4x faster than 6


# --- measuring --------------------------------------------------------------------------------------------------


def thumb_height(width: int, height: int) -> int:
    """Height of a seam frame scaled to THUMB_WIDTH, keeping the film's aspect ratio (films have square pixels)."""
    return max(SSIM_WINDOW, round(THUMB_WIDTH * height / width))


async def seam_frames(film: Path, joins: list[Join], height: int, fps: int = FPS) -> dict[int, Frame]:
    """Two frames on each side of every join, by film frame index, from one ffmpeg.

    The outer two show how much the picture moves next to the seam (for `is_duplicate`); they may be missing at
    the film's ends. The two at the seam must exist.
    """
    wanted = sorted({n for join in joins for n in range(join.index - 2, join.index + 2) if n >= 0})
    if not wanted:
        return {}
    raw = await run_ffmpeg_stdout(seam_frames_args(film, frame_runs(wanted), THUMB_WIDTH, height, fps))
    size = THUMB_WIDTH * height * 3
    count = len(raw) // size  # frames come out in order, so any missing ones are those past the film's end
    pixels = np.frombuffer(raw[: count * size], dtype=np.uint8).reshape(count, height, THUMB_WIDTH, 3)
    frames = dict(zip(wanted, pixels, strict=False))
    for join in joins:
        if join.index - 1 not in frames or join.index not in frames:
            raise AssemblyError(f"{film}: no frames {join.index - 1} and {join.index} for the join "
                                f"{join.left} -> {join.right}")
    return frames


def frame_runs(frames: list[int]) -> list[tuple[int, int]]:
    """Ascending frame indices as runs of consecutive ones: [3, 4, 5, 9] -> [(3, 3), (9, 1)]."""
    runs: list[tuple[int, int]] = []
    for n in frames:
        if runs and sum(runs[-1]) == n:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((n, 1))
    return runs


async def integrated_loudness(film: Path) -> float | None:
    """Integrated loudness (LUFS) of the film's audio, from ebur128's summary; None if it gives none."""
    found = _INTEGRATED.findall(await run_ffmpeg(loudness_args(film)))
    return float(found[-1]) if found else None  # the last: the summary follows any per-block lines


def ssim(a: Frame, b: Frame) -> float:
    """Mean SSIM (Wang et al. 2004) of two frames on luma, with a uniform 8x8 window at every position."""
    x, y = a.astype(np.float64) @ _LUMA, b.astype(np.float64) @ _LUMA
    mx, my = _window_mean(x), _window_mean(y)
    vx, vy = _window_mean(x * x) - mx * mx, _window_mean(y * y) - my * my
    cov = _window_mean(x * y) - mx * my
    index = ((2 * mx * my + _C1) * (2 * cov + _C2)) / ((mx * mx + my * my + _C1) * (vx + vy + _C2))
    return float(index.mean())


def mean_abs_diff(a: Frame, b: Frame) -> float:
    """Mean absolute difference of two frames, 0..255."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def is_duplicate(frames: dict[int, Frame], index: int) -> bool:
    """True when the frames either side of the seam before `index` are the same picture: the film freezes there.

    A copy of a frame that went through another encode is never bit-exact, so "the same" is relative: the seam pair
    differs by much less than neighbouring frames inside the shots differ from each other. A smooth (chained,
    repeated frame dropped) seam changes about as much as its neighbours do. In a shot that barely moves (a held
    product shot, a slow zoom on smooth colour) every pair of frames differs by less than a re-encode does, so no
    absolute threshold can tell a freeze there; nor would anyone see one. Only without neighbours to compare (the
    film's first frames) does the absolute DUPLICATE_MAD decide.
    """
    seam = mean_abs_diff(frames[index - 1], frames[index])
    motion = [mean_abs_diff(frames[n], frames[n + 1]) for n in (index - 2, index) if n in frames and n + 1 in frames]
    if not motion:
        return seam < DUPLICATE_MAD
    return seam < DUPLICATE_MOTION_SHARE * max(motion)


def level_dbfs(samples: Samples) -> float:
    """RMS level of 16-bit samples in dBFS, SILENCE_DBFS for silence or no samples."""
    if samples.size == 0:
        return SILENCE_DBFS
    rms = math.sqrt(float(np.mean(np.square(samples.astype(np.float64))))) / 32768
    return max(SILENCE_DBFS, 20 * math.log10(rms)) if rms > 0 else SILENCE_DBFS


def audio_step_db(samples: Samples, frame: int, fps: int = FPS) -> float:
    """Level of the 50 ms after the seam before `frame` (of a film at `fps`) minus the 50 ms before it; 0.0 for a
    film without audio."""
    if samples.size == 0:
        return 0.0
    seam = frame * AUDIO_RATE // fps  # whole frames are whole numbers of samples at 24, 25 and 30 fps
    return level_dbfs(samples[seam: seam + AUDIO_WINDOW]) - level_dbfs(samples[max(0, seam - AUDIO_WINDOW): seam])


def _window_mean(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Mean of every SSIM_WINDOW-square window that fits, from a summed-area table (cost independent of window)."""
    k = SSIM_WINDOW
    table = np.pad(a, ((1, 0), (1, 0))).cumsum(axis=0).cumsum(axis=1)
    sums: npt.NDArray[np.float64] = table[k:, k:] - table[:-k, k:] - table[k:, :-k] + table[:-k, :-k]
    return sums / (k * k)


def _check(join: Join, frames: dict[int, Frame], audio: Samples, fps: int) -> JoinQC:
    return JoinQC(join.left, join.right, join.chained, join.kind, join.index, seam_ssim(frames, join.index),
                  is_duplicate(frames, join.index), round(audio_step_db(audio, join.index, fps), 2))


def seam_ssim(frames: dict[int, Frame], index: int) -> float:
    """SSIM of the frames either side of the seam before `index`, rounded for the report."""
    return round(ssim(frames[index - 1], frames[index]), 4)


async def _mono_samples(film: Path) -> Samples:
    return np.frombuffer(await run_ffmpeg_stdout(audio_samples_args(film)), dtype="<i2").astype(np.int16)


async def _no_samples() -> Samples:
    return np.zeros(0, dtype=np.int16)


async def _given(frames: dict[int, Frame]) -> dict[int, Frame]:
    return frames


# --- the contact sheet ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeamRow:
    """One row of the contact sheet: what the seam is, its two frames, and what QC makes of them."""

    film: str
    join: Join
    before: Frame
    after: Frame
    ssim: float
    duplicate: bool

    @property
    def height(self) -> int:
        """Pixels this row takes on the sheet."""
        return row_height(self.before.shape[0])


def row_height(thumb: int) -> int:
    """A row: two lines of label above the frames, then padding."""
    return LABEL_HEIGHT + thumb + PAD


def render_sheet(rows: list[SeamRow]) -> Image.Image:
    """Draw the rows top to bottom; each seam is labelled with its film, shots, kind and SSIM."""
    width = 2 * PAD + 2 * THUMB_WIDTH + GAP
    sheet = Image.new("RGB", (width, PAD + sum(r.height for r in rows) + (0 if rows else LINE + PAD)), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=FONT_SIZE)
    if not rows:
        draw.text((PAD, PAD), "no joins", fill=_TEXT, font=font)
    top = PAD
    for row in rows:
        _draw_row(sheet, draw, font, row, top)
        top += row.height
    return sheet


def _draw_row(sheet: Image.Image, draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
              row: SeamRow, top: int) -> None:
    join = row.join
    colour = {"chained": _CHAINED, "crossfade": _CROSSFADE}.get(join.kind, _CUT)
    draw.text((PAD, top), f"{row.film}: {join.left} -> {join.right} ({join.kind})", font=font, fill=colour)
    details = f"SSIM {row.ssim:.3f}    frames {join.index - 1} | {join.index}"
    draw.text((PAD, top + LINE), details, fill=_TEXT, font=font)
    if row.duplicate:
        after_details = PAD + round(draw.textlength(details, font=font)) + 3 * PAD
        draw.text((after_details, top + LINE), "DUPLICATE FRAME", fill=_ALARM, font=font)
    sheet.paste(Image.fromarray(row.before), (PAD, top + LABEL_HEIGHT))
    sheet.paste(Image.fromarray(row.after), (PAD + THUMB_WIDTH + GAP, top + LABEL_HEIGHT))


async def _seam_rows(film: Path, joins: list[Join], frames: dict[int, Frame] | None) -> list[SeamRow]:
    if not joins:
        return []
    if frames is None:
        info = parse_probe(film, await run_ffmpeg(header_args(film)))  # size only: no need to decode the film
        frames = await seam_frames(film, joins, thumb_height(info.width, info.height), round(info.fps) or FPS)
    return [SeamRow(film.stem, j, frames[j.index - 1], frames[j.index], seam_ssim(frames, j.index),
                    is_duplicate(frames, j.index)) for j in joins]


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary sibling and rename, so `path` is never seen half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with temporary(path) as part:
        write(part)
        part.replace(path)
