"""Join intermediates into the film: concat demuxer with video stream copy and one audio encode, then verify and
rename. No file with the final name is ever partial."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from orchestrator.assembly.errors import AssemblyError
from orchestrator.assembly.ffmpeg import FPS, SAMPLES_PER_FRAME, concat_args, concat_list
from orchestrator.assembly.normalize import Intermediate
from orchestrator.assembly.probe import ClipInfo, audio_samples, probe
from orchestrator.assembly.process import run_ffmpeg

AUDIO_TOLERANCE_SAMPLES = SAMPLES_PER_FRAME + 1024  # one frame, plus one AAC frame of encoder priming


@dataclass(frozen=True)
class Film:
    """A verified film: where it is and what it holds."""

    path: Path
    frames: int
    seconds: float
    audio_samples: int
    info: ClipInfo


async def join(parts: list[Intermediate], dest: Path) -> Film:
    """Concatenate intermediates into `dest`, verify frames, streams and audio length, then rename into place."""
    if not parts:
        raise AssemblyError(f"{dest}: an output needs at least one clip")
    dest.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(4)
    listing = dest.with_name(f".{dest.name}.{token}.txt")
    part = dest.with_name(f".{dest.name}.{token}.part.mp4")
    try:
        listing.write_text(concat_list([p.path.resolve() for p in parts]), encoding="utf-8")
        await run_ffmpeg(concat_args(listing, part))
        film = await verify(part, sum(p.frames for p in parts))
        part.replace(dest)
    finally:
        listing.unlink(missing_ok=True)
        part.unlink(missing_ok=True)
    return Film(dest, film.frames, film.seconds, film.audio_samples, film.info)


async def verify(path: Path, expected_frames: int) -> Film:
    """Strict decode; the frame count must be exact and the audio as long as the video within one frame."""
    info = await probe(path)
    if info.frames != expected_frames:
        raise AssemblyError(f"{path}: {info.frames} frames, expected {expected_frames}")
    if not info.has_audio:
        raise AssemblyError(f"{path}: the film has no audio stream")
    samples = await audio_samples(path)
    if abs(samples - expected_frames * SAMPLES_PER_FRAME) > AUDIO_TOLERANCE_SAMPLES:
        raise AssemblyError(f"{path}: audio is {samples / 48_000:.3f} s, video {expected_frames / FPS:.3f} s")
    return Film(path, info.frames, info.frames / FPS, samples, info)
