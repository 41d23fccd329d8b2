"""Normalise each clip once into a cached intermediate, as soon as the clip exists (DESIGN.md §7).

The cache key is the clip's sha256 plus every normalisation parameter, so an intermediate is reused exactly when
it would come out the same. Intermediates are written under a temporary name and renamed, so a crash never leaves
a half-written file under a name that would be reused.

Hashes are remembered while a file is unchanged (`memo`), so normalising a clip the engine already normalised
when it arrived costs no ffmpeg and no hashing: the clip's probe and sha256, and the intermediate's seal check, are
answered from memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from orchestrator.assembly.errors import ClipInvalid
from orchestrator.assembly.ffmpeg import AUDIO_RATE, FPS, NormalizePlan, normalize_args
from orchestrator.assembly.memo import FileMemo
from orchestrator.assembly.probe import ClipInfo, probe
from orchestrator.assembly.process import ffmpeg_version, run_ffmpeg
from orchestrator.assembly.temp import temporary

CACHE_VERSION = 2  # bump when normalize_args changes what it produces (2: QuickTime, exact frame times)
_HASH_CHUNK = 1 << 20

_digests: FileMemo[str] = FileMemo()


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


async def file_sha256(path: Path) -> str:
    """`sha256_file` off the event loop, once per unchanged file."""
    return await _digests.answer(path, lambda: asyncio.to_thread(sha256_file, path))


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
    seal = dest.with_suffix(".sha256")
    if await _intact(dest, seal):
        return Intermediate(dest, plan.frames, info, reused=True)
    await probe(clip)  # strict decode: a damaged clip is refused here, naming it, not encoded into the film
    cache_dir.mkdir(parents=True, exist_ok=True)
    with temporary(dest) as part:
        await run_ffmpeg(normalize_args(clip, part, plan))
        sealed = await asyncio.to_thread(sha256_file, part)
        # The seal is written before the file takes its name: a named intermediate always has one to check.
        _write_seal(seal, sealed)
        part.replace(dest)
    _digests.put(dest, sealed)  # only this process knew the part's name: the bytes hashed are the bytes renamed
    return Intermediate(dest, plan.frames, info, reused=False)


def _write_seal(seal: Path, digest: str) -> None:
    with temporary(seal) as tmp:
        tmp.write_text(digest, encoding="ascii")
        tmp.replace(seal)


async def _intact(path: Path, seal: Path) -> bool:
    """Reuse only bytes that hash to what was sealed when they were written: a damaged cache file is redone."""
    if not (path.is_file() and seal.is_file()):
        return False
    return await file_sha256(path) == seal.read_text(encoding="ascii").strip()
