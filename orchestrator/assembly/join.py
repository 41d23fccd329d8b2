"""Join intermediates into the film: concat demuxer with video stream copy, verification, atomic rename.
No file with the final name is ever partial."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from orchestrator.assembly.errors import AssemblyError
from orchestrator.assembly.ffmpeg import AUDIO_RATE, FPS, concat_list
from orchestrator.assembly.probe import ClipInfo, audio_samples, probe
from orchestrator.assembly.process import run_ffmpeg, task_group
from orchestrator.assembly.temp import temporary

AUDIO_TOLERANCE_SAMPLES = 1024  # one AAC frame: the encoder works in blocks of 1024 samples


@dataclass(frozen=True)
class Film:
    """A verified film: where it is and what it holds."""

    path: Path
    frames: int
    seconds: float
    audio_samples: int
    info: ClipInfo


async def concat(pieces: list[tuple[Path, int]], dest: Path, argv: Callable[[Path, Path], list[str]]) -> None:
    """Run a concat-demuxer join of `pieces` (each file and its frame count) into `dest` with the argv builder
    given."""
    with concat_listing(pieces, dest) as listing:
        await run_ffmpeg(argv(listing, dest))


@contextlib.contextmanager
def concat_listing(pieces: list[tuple[Path, int]], beside: Path) -> Iterator[Path]:
    """The concat demuxer's list of `pieces` (each file and its frame count, so its exact length) in a temporary
    file next to `beside`, removed afterwards."""
    with temporary(beside, ".txt") as listing:
        listing.write_text(concat_list([p.resolve() for p, _ in pieces], [n for _, n in pieces]), encoding="utf-8")
        yield listing


async def publish(part: Path, dest: Path, frames: int, *, decode: bool = True, fps: int = FPS) -> Film:
    """Verify the finished temp file and rename it to its final name (decode=False: video was stream-copied
    from verified intermediates, so reading its packets is enough)."""
    film = await verify(part, frames, decode=decode, fps=fps)
    part.replace(dest)
    return Film(dest, film.frames, film.seconds, film.audio_samples, film.info)


async def verify(path: Path, expected_frames: int, *, decode: bool = True, fps: int = FPS) -> Film:
    """The frame count must be exact and the audio as long as the video (at `fps`) within one AAC block (21 ms)."""
    async with task_group() as group:
        probing, counting = group.create_task(probe(path, decode=decode)), group.create_task(audio_samples(path))
    info, samples = probing.result(), counting.result()
    if info.frames != expected_frames:
        raise AssemblyError(f"{path}: {info.frames} frames, expected {expected_frames}")
    if not info.has_audio:
        raise AssemblyError(f"{path}: the film has no audio stream")
    if abs(samples - expected_frames * AUDIO_RATE / fps) > AUDIO_TOLERANCE_SAMPLES:
        raise AssemblyError(f"{path}: audio is {samples / AUDIO_RATE:.3f} s, video {expected_frames / fps:.3f} s")
    return Film(path, info.frames, info.frames / fps, samples, info)
