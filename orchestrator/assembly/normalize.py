"""Normalise each clip once into a cached intermediate, as soon as the clip exists (DESIGN.md §7).

The cache key is the clip's sha256 plus every normalisation parameter, so an intermediate is reused exactly when
it would come out the same. Intermediates are written under a temporary name and renamed, so a crash never leaves
a half-written file under a name that would be reused.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from orchestrator.assembly.errors import ClipInvalid
from orchestrator.assembly.ffmpeg import AUDIO_RATE, FPS, NormalizePlan, normalize_args
from orchestrator.assembly.probe import ClipInfo, probe
from orchestrator.assembly.process import ffmpeg_version, run_ffmpeg

CACHE_VERSION = 1  # bump when normalize_args changes what it produces
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Intermediate:
    """A normalised clip ready to be joined by stream copy."""

    path: Path
    frames: int
    source: ClipInfo
    reused: bool


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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
    digest = await asyncio.to_thread(sha256_file, clip)
    recipe = {"v": CACHE_VERSION, "ffmpeg": await ffmpeg_version(), "clip": digest, **asdict(plan)}
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:24]
    dest = cache_dir / f"{key}.mkv"
    seal = dest.with_suffix(".sha256")
    if await asyncio.to_thread(_intact, dest, seal):
        return Intermediate(dest, plan.frames, info, reused=True)
    await probe(clip)  # strict decode: a damaged clip is refused here, naming it, not encoded into the film
    cache_dir.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
    try:
        await run_ffmpeg(normalize_args(clip, part, plan))
        # The seal is written before the file takes its name: a named intermediate always has one to check.
        _write_seal(seal, await asyncio.to_thread(sha256_file, part))
        part.replace(dest)
    finally:
        part.unlink(missing_ok=True)
    return Intermediate(dest, plan.frames, info, reused=False)


def _write_seal(seal: Path, digest: str) -> None:
    tmp = seal.with_name(f".{seal.name}.{secrets.token_hex(4)}")
    tmp.write_text(digest, encoding="ascii")
    tmp.replace(seal)


def _intact(path: Path, seal: Path) -> bool:
    """Reuse only bytes that hash to what was sealed when they were written: a damaged cache file is redone."""
    if not (path.is_file() and seal.is_file()):
        return False
    return sha256_file(path) == seal.read_text(encoding="ascii").strip()
