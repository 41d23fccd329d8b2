"""One output from its clips: decide geometry, joins and audio work (pure), normalise every clip in parallel up to
the core count, join (copy when possible), finish, verify, rename."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.assembly.ffmpeg import SAMPLES_PER_FRAME, AudioFinish, concat_args, concat_pcm_args
from orchestrator.assembly.finish import (
    Transitions,
    can_copy_originals,
    crossfade,
    film_channels,
    finish_audio,
    plan_transitions,
)
from orchestrator.assembly.join import Film, concat, publish, temp_beside
from orchestrator.assembly.normalize import Intermediate, normalize
from orchestrator.assembly.probe import ClipInfo, audio_samples, probe
from orchestrator.assembly.qc import integrated_loudness

LOUDNESS_TOLERANCE_LU = 1.0


@dataclass(frozen=True)
class OutputClip:
    """One entry of an output: the shot, its clip, and whether it starts on the previous entry's last frame."""

    shot_id: str
    path: Path
    chained: bool  # the previous entry is its parent and handed over its last frame as this clip's first frame


@dataclass(frozen=True)
class AssemblySettings:
    """The storyboard's `assembly:` section, resolved (paths absolute)."""

    transition: str = "cut"
    crossfade_seconds: float = 0.5
    audio: str = "clips"  # clips | mute | soundtrack
    soundtrack: Path | None = None
    duck: bool = True  # soundtrack under the clips' own audio (ducked), or replacing it
    loudness_lufs: float | None = None

    @property
    def audio_work(self) -> bool:
        """True when the clips' audio cannot simply be carried over."""
        return self.audio != "clips" or self.loudness_lufs is not None


@dataclass(frozen=True)
class AssembledOutput:
    """The film plus what went into it, for the report."""

    film: Film
    parts: tuple[Intermediate, ...]
    width: int
    height: int
    seams: tuple[int, ...] = ()  # film frame right after each join (mid-fade for a crossfade)
    fast_path: bool = False
    warnings: list[str] = field(default_factory=list)


def output_size(infos: list[ClipInfo]) -> tuple[int, int]:
    """The size most of the film's frames already have (ties: the larger), so the fewest frames are rescaled."""
    weight: Counter[tuple[int, int]] = Counter()
    for info in infos:
        weight[(info.width, info.height)] += info.frames
    width, height = max(weight, key=lambda size: (weight[size], size[0] * size[1]))
    return width - width % 2, height - height % 2  # yuv420p needs even sides


async def assemble_output(clips: list[OutputClip], dest: Path, cache_dir: Path,
                          settings: AssemblySettings | None = None, workers: int | None = None) -> AssembledOutput:
    """Make one film from its clips; chained entries drop their repeated first frame."""
    settings = settings or AssemblySettings()
    # Packet-level probes: enough for geometry; each clip is decoded in full only if it must be encoded anew.
    infos = list(await asyncio.gather(*(probe(c.path, decode=False) for c in clips)))
    width, height = output_size(infos)
    chained = [False, *(c.chained for c in clips[1:])]
    fading = settings.transition == "crossfade" and not all(chained[1:])
    dest.parent.mkdir(parents=True, exist_ok=True)
    channels = film_channels(infos, settings.audio == "soundtrack")
    if not fading and await _copyable(infos, chained, settings):
        part = temp_beside(dest, ".part.mp4")
        try:
            await concat([c.path for c in clips], part, lambda lst, out: concat_args(lst, out, channels))
            film = await publish(part, dest, sum(i.frames for i in infos), decode=False)
        finally:
            part.unlink(missing_ok=True)
        return AssembledOutput(film, (), width, height, seams=_seams([i.frames for i in infos], []), fast_path=True)
    parts = await _normalize_all(clips, infos, chained, width, height, cache_dir, workers)
    names = [c.shot_id for c in clips]
    plan = plan_transitions(parts, chained, names, fading, settings.crossfade_seconds)
    film = await _join_and_finish(parts, plan, settings, dest, channels)
    warnings = [*plan.warnings, *await _loudness_check(film, settings)]
    seams = _seams([p.frames for p in parts], [plan.fade_frames if f else 0 for f in plan.fades])
    return AssembledOutput(film, tuple(parts), width, height, seams=seams, warnings=warnings)


def _seams(frames: list[int], overlaps: list[int]) -> tuple[int, ...]:
    """Where each join lands in the film: after the frames so far, less the overlaps so far (a crossfade's seam is
    its middle)."""
    seams, position = [], 0
    for i, count in enumerate(frames[:-1]):
        overlap = overlaps[i] if i < len(overlaps) else 0
        position += count - overlap
        seams.append(position + overlap // 2)
    return tuple(seams)


async def _loudness_check(film: Film, settings: AssemblySettings) -> list[str]:
    """Loudness is verified on the finished file; a miss (e.g. a film of near silence) is reported, not fatal."""
    if settings.loudness_lufs is None or settings.audio == "mute":
        return []
    measured = await integrated_loudness(film.path)
    if measured is None or abs(measured - settings.loudness_lufs) > LOUDNESS_TOLERANCE_LU:
        return [f"{film.path.name}: integrated loudness {measured} LUFS, target {settings.loudness_lufs:g} "
                f"(more than {LOUDNESS_TOLERANCE_LU:g} LU off)"]
    return []


async def _copyable(infos: list[ClipInfo], chained: list[bool], settings: AssemblySettings) -> bool:
    if not can_copy_originals(infos, chained, settings.audio_work, [float(i.frames) for i in infos]):
        return False  # cheap conditions first; the audio lengths cost a decode each
    lengths = await asyncio.gather(*(audio_samples(i.path) for i in infos))
    return can_copy_originals(infos, chained, settings.audio_work, [n / SAMPLES_PER_FRAME for n in lengths])


async def _normalize_all(clips: list[OutputClip], infos: list[ClipInfo], chained: list[bool], width: int,
                         height: int, cache_dir: Path, workers: int | None) -> list[Intermediate]:
    limit = asyncio.Semaphore(workers or os.cpu_count() or 2)

    async def one(clip: OutputClip, info: ClipInfo, skip: bool) -> Intermediate:
        async with limit:
            return await normalize(clip.path, width, height, skip, cache_dir, info)

    return list(await asyncio.gather(*(one(c, i, s) for c, i, s in zip(clips, infos, chained, strict=True))))


async def _join_and_finish(parts: list[Intermediate], plan: Transitions, settings: AssemblySettings,
                           dest: Path, channels: int) -> Film:
    joined, final = temp_beside(dest, ".joined.mkv"), temp_beside(dest, ".part.mp4")
    try:
        if any(plan.fades):
            frames = await crossfade(parts, plan, joined)
        else:
            frames = sum(p.frames for p in parts)
            if not settings.audio_work:  # straight to the film: video copied, audio encoded once
                await concat([p.path for p in parts], final, lambda lst, out: concat_args(lst, out, channels))
                return await publish(final, dest, frames, decode=False)
            await concat([p.path for p in parts], joined, concat_pcm_args)
        finish = AudioFinish(settings.audio, settings.soundtrack, settings.duck, settings.loudness_lufs)
        await finish_audio(joined, final, finish, frames, channels)
        return await publish(final, dest, frames, decode=any(plan.fades))  # crossfades were re-encoded here
    finally:
        joined.unlink(missing_ok=True)
        final.unlink(missing_ok=True)
