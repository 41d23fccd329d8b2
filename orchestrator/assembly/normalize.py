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
from dataclasses import asdict, dataclass
from pathlib import Path

from orchestrator.assembly.cache import cached, file_sha256
from orchestrator.assembly.errors import ClipInvalid
from orchestrator.assembly.ffmpeg import AUDIO_RATE, FPS, NormalizePlan, normalize_args
from orchestrator.assembly.probe import ClipInfo, probe
from orchestrator.assembly.process import ffmpeg_version, run_ffmpeg

CACHE_VERSION = 2  # bump when normalize_args changes what it produces (2: QuickTime, exact frame times)


@dataclass(frozen=True)
class Intermediate:
    """A normalised clip ready to be joined by stream copy."""

    path: Path
    frames: int
    source: ClipInfo
    reused: bool


def plan_for(info: ClipInfo, width: int, height: int, skip_first: bool) -> NormalizePlan:
    """The normalisation of one clip for an output of this size."""
    skip = 1 if skip_first else 0
    if info.frames - skip < 1:
        raise ClipInvalid(info.path, f"only {info.frames} frame(s): nothing left after dropping the repeated frame")
    kept = info.frames - skip
    fps = info.fps if info.fps and abs(info.fps - FPS) > 0.01 else FPS
    # Another frame rate is resampled to 24 fps over the same length of time.
    frames = round(kept * FPS / fps)
    if frames < 1:
        raise ClipInvalid(info.path, f"{kept} frame(s) at {fps:g} fps is less than one frame at {FPS} fps")
    return NormalizePlan(width=width, height=height, skip_frames=skip, frames=frames, has_audio=info.has_audio,
                         skip_samples=round(skip * AUDIO_RATE / fps))


async def normalize(clip: Path, width: int, height: int, skip_first: bool, cache_dir: Path,
                    info: ClipInfo | None = None) -> Intermediate:
    """The clip's intermediate for this output size, from the cache when present and intact.

    `info` may come from a packet-level probe; a clip is strictly decoded before it is encoded anew."""
    info = info or await probe(clip)
    plan = plan_for(info, width, height, skip_first)
    digest = await file_sha256(clip)
    recipe = {"v": CACHE_VERSION, "ffmpeg": await ffmpeg_version(), "clip": digest, **asdict(plan)}
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:24]
    dest = cache_dir / f"{key}.mov"

    async def build(part: Path) -> None:
        await probe(clip)  # strict decode: a damaged clip is refused here, naming it, not encoded into the film
        await run_ffmpeg(normalize_args(clip, part, plan))

    reused = await cached(dest, build)
    return Intermediate(dest, plan.frames, info, reused=reused)
