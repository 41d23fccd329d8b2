"""Normalise each clip once into a cached intermediate, as soon as the clip exists (DESIGN.md §7).

The cache key is the clip's sha256 plus every normalisation parameter, so an intermediate is reused exactly when
it would come out the same (`cache` seals it and writes it under a temporary name first).

Hashes are remembered while a file is unchanged (`memo`), so normalising a clip the engine already normalised
when it arrived costs no ffmpeg and no hashing: the clip's probe and sha256, and the intermediate's seal check, are
answered from memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

from orchestrator.assembly.cache import cached, file_sha256
from orchestrator.assembly.capability import ffmpeg_version
from orchestrator.assembly.errors import ClipInvalid, FfmpegFailed
from orchestrator.assembly.ffmpeg import AUDIO_RATE, FPS, NormalizePlan, normalize_args
from orchestrator.assembly.grading import Grade, ramp_commands
from orchestrator.assembly.graphs import GRADE_FILTER
from orchestrator.assembly.memo import identity
from orchestrator.assembly.probe import ClipInfo, damaged, decoded_whole, probe
from orchestrator.assembly.process import run_ffmpeg

# Bump when normalize_args (or a crossfade graph) changes what it produces (2: QuickTime, exact frame times; 3: exact
# movie header times, crossfades blended to their last frame by every build).
CACHE_VERSION = 3


@dataclass(frozen=True)
class Intermediate:
    """A normalised clip ready to be joined by stream copy."""

    path: Path  # the whole clip, or its body when the edges are pieces of their own
    frames: int  # the whole clip's
    source: ClipInfo
    reused: bool
    head: Path | None = None  # the first `edge_frames` frames, when cut off
    tail: Path | None = None  # the last `edge_frames` frames, when cut off
    edge_frames: int = 0

    @property
    def files(self) -> list[Path]:
        """Every piece in order: the whole clip, joined by copy."""
        return [p for p, _ in self.pieces]

    @property
    def pieces(self) -> list[tuple[Path, int]]:
        """Every piece in order with its frame count (a join states each file's exact length)."""
        if self.head is None or self.tail is None:
            return [(self.path, self.frames)]
        edge = self.edge_frames
        return [(self.head, edge), (self.path, self.frames - 2 * edge), (self.tail, edge)]


def plan_for(info: ClipInfo, width: int, height: int, skip_first: bool, edge_frames: int = 0, fit: str = "pad",
             grade: Grade | None = None) -> NormalizePlan:
    """The normalisation of one clip for an output of this size; its first and last `edge_frames` frames become
    pieces of their own when it has at least one frame more than both (see NormalizePlan.pieces). A `grade` (the
    colour anchor's) ramps over the source clip's frames."""
    skip = 1 if skip_first else 0
    if info.frames - skip < 1:
        raise ClipInvalid(info.path, f"only {info.frames} frame(s): nothing left after dropping the repeated frame")
    kept = info.frames - skip
    fps = info.fps if info.fps and abs(info.fps - FPS) > 0.01 else FPS
    # Another frame rate is resampled to 24 fps over the same length of time.
    frames = round(kept * FPS / fps)
    if frames < 1:
        raise ClipInvalid(info.path, f"{kept} frame(s) at {fps:g} fps is less than one frame at {FPS} fps")
    edge = edge_frames if frames >= 2 * edge_frames + 1 else 0
    return NormalizePlan(width=width, height=height, skip_frames=skip, frames=frames, has_audio=info.has_audio,
                         skip_samples=round(skip * AUDIO_RATE / fps), edge_frames=edge, fit=fit, grade=grade,
                         source_frames=info.frames if grade else 0, source_rate=_rate(fps) if grade else (FPS, 1))


async def normalize(clip: Path, width: int, height: int, skip_first: bool, cache_dir: Path,
                    info: ClipInfo | None = None, edge_frames: int = 0, fit: str = "pad",
                    grade: Grade | None = None, check: bool = False) -> Intermediate:
    """The clip's intermediate for this output size, from the cache when present and intact. With `edge_frames`
    (a storyboard with crossfades: the fade's length), the clip's ends are written as pieces of their own, so a
    crossfade re-encodes only them. With a `grade`, the clip is graded (the colour anchor) before anything else.

    `info` may come from a packet-level probe; a clip is strictly decoded before it is encoded anew. With `check`
    (a clip just downloaded, not decoded yet), that strict decode is the normalisation's own where one decode can
    serve both (a 24 fps clip: every frame goes through the filters), else a strict probe first; a failed
    normalisation is then judged by a strict probe, so a damaged clip raises ClipInvalid however it failed."""
    one_decode, seen = False, identity(clip)
    if check and info is None:
        info = await probe(clip, decode=False)  # packets only: the sizes and counts the plan needs
        one_decode = round(info.fps * 1000) == FPS * 1000
    info = info or await probe(clip)
    plan = plan_for(info, width, height, skip_first, edge_frames, fit, grade)
    digest = await file_sha256(clip)
    recipe = {"v": CACHE_VERSION, "ffmpeg": await ffmpeg_version(), "clip": digest, **asdict(plan)}
    if plan.fit == "pad":
        del recipe["fit"]  # the fit every intermediate had before it was a choice: those stay valid
    if plan.grade is None:
        for ungraded in ("grade", "source_frames", "source_rate"):  # likewise for the colour anchor
            del recipe[ungraded]
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:24]
    names = [f"{key}.head.mov", f"{key}.mov", f"{key}.tail.mov"] if plan.edge_frames else [f"{key}.mov"]
    dests = [cache_dir / name for name in names]

    async def build(parts: list[Path]) -> None:
        if not one_decode:
            await probe(clip)  # strict decode: a damaged clip is refused here, naming it, not encoded into the film
        with ramp_file(plan) as commands:
            try:
                report = await run_ffmpeg(normalize_args(clip, parts, plan, commands, strict=one_decode))
            except FfmpegFailed:
                if one_decode:
                    await probe(clip)  # ClipInvalid when the clip is damaged; otherwise the failure was not the clip's
                raise
        if one_decode:
            if damaged(report):
                await probe(clip)  # says what is wrong with it (ClipInvalid)
            assert info is not None
            decoded_whole(clip, info, seen)

    reused = await cached(dests, build)
    if plan.edge_frames:
        return Intermediate(dests[1], plan.frames, info, reused, dests[0], dests[2], plan.edge_frames)
    return Intermediate(dests[0], plan.frames, info, reused=reused)


def _rate(fps: float) -> tuple[int, int]:
    """A frame rate as the fraction it stands for (23.976... is 24000/1001)."""
    exact = Fraction(fps).limit_denominator(1001)
    return exact.numerator, exact.denominator


@contextmanager
def ramp_file(plan: NormalizePlan) -> Iterator[Path | None]:
    """The commands file of a ramped grade, for as long as ffmpeg reads it; None for no ramp. It lives in the
    system's temporary folder rather than the run's: a filter argument is refused if it would need escaping (as a
    path holding `:` or `'` would), and a run folder is the user's choice."""
    grade = plan.grade
    if grade is None or not grade.ramps:
        yield None
        return
    handle, name = tempfile.mkstemp(prefix="orchestrator-grade-", suffix=".txt")
    path = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(ramp_commands(grade, plan.source_frames, plan.source_rate, f"lutyuv@{GRADE_FILTER}"))
        yield path
    finally:
        path.unlink(missing_ok=True)
