"""Finishing: transitions that need a filter graph, the film's audio (mute, soundtrack with ducking, loudness),
and the fast path that copies the originals when nothing needs re-encoding."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from orchestrator.assembly.errors import AssemblyError
from orchestrator.assembly.ffmpeg import (
    FPS,
    AudioFinish,
    crossfade_graph,
    finish_args,
    fused_args,
    loudness_measure_args,
)
from orchestrator.assembly.normalize import Intermediate
from orchestrator.assembly.probe import ClipInfo, probe
from orchestrator.assembly.process import run_ffmpeg, run_together

_JSON_BLOCK = re.compile(r"\{[^{}]*\"input_i\"[^{}]*\}", re.DOTALL)


@dataclass(frozen=True)
class Transitions:
    """Which joins crossfade, after degrading those a clip is too short for; warnings say which degraded."""

    fades: list[bool]  # fades[i]: the join between part i and part i+1
    fade_frames: int
    warnings: list[str]


def plan_transitions(parts: list[Intermediate], chained: list[bool], names: list[str], crossfade: bool,
                     seconds: float) -> Transitions:
    """Crossfade every join that is not a chain edge. A clip must keep one frame of its own beside the frames it
    gives its fades: one too short for both keeps the fade into it (if that fits) and its next join is cut; one too
    short for any fade cuts both. Each join degraded to a cut gets a warning."""
    fade_frames = max(1, round(seconds * FPS))
    fades = [crossfade and not chained[i + 1] for i in range(len(parts) - 1)]
    warnings = []

    def cut(join: int, short: int) -> None:
        fades[join] = False
        warnings.append(f"{names[join]} -> {names[join + 1]}: {names[short]} is too short for a {seconds:g} s "
                        "crossfade; cut instead")

    for i, part in enumerate(parts):  # left to right: a fade into clip i has already fitted clip i - 1
        before, after = i > 0 and fades[i - 1], i < len(fades) and fades[i]
        if before and part.frames < fade_frames + 1:
            cut(i - 1, i)
            before = False
        if after and part.frames < (before + 1) * fade_frames + 1:
            cut(i, i)
    return Transitions(fades, fade_frames, warnings)


def fade_groups(fades: list[bool]) -> list[list[int]]:
    """The parts joined by crossfades, as runs of consecutive indices: [[0], [1, 2], [3]] when only the join
    between parts 1 and 2 fades. Only a run of several parts has to be encoded anew."""
    groups = [[0]]
    for i, fading in enumerate(fades):
        if fading:
            groups[-1].append(i + 1)
        else:
            groups.append([i + 1])
    return groups


async def fuse(parts: list[Intermediate], plan: Transitions, workdir: Path) -> tuple[list[Path], int]:
    """Crossfades by encoding anew only the parts each one touches, into intermediates encoded like every other
    (so the film still joins by stream copy); returns the files to join in order and the film's frame count.

    A 65 s film with two scene-change crossfades re-encodes about 20 s of video instead of all of it."""

    async def one(n: int, group: list[int]) -> tuple[Path, int]:
        if len(group) == 1:
            return parts[group[0]].path, parts[group[0]].frames
        fused = workdir / f"fused{n}.mov"
        graph, count = crossfade_graph([parts[i].frames for i in group], [True] * (len(group) - 1),
                                       plan.fade_frames)
        await run_ffmpeg(fused_args([parts[i].path for i in group], graph, fused))
        await probe(fused)  # strict decode of what was encoded here: the film itself is then checked by packets
        return fused, count

    joined = await run_together(one(n, group) for n, group in enumerate(fade_groups(plan.fades)))
    return [path for path, _ in joined], sum(count for _, count in joined)


async def finish_audio(joined: Path, dest: Path, finish: AudioFinish, frames: int, channels: int) -> None:
    """Encode the final file with its finished audio; loudness takes a measuring pass first (two-pass loudnorm)."""
    seconds = frames / FPS
    if finish.loudness_lufs is not None:
        report = await run_ffmpeg(loudness_measure_args(joined, finish, seconds))
        measured = _measured(report)
        # Silence has no loudness to correct (loudnorm would divide by it); the check afterwards reports the miss.
        target = finish.loudness_lufs if measured is not None else None
        finish = AudioFinish(finish.mode, finish.soundtrack, finish.duck, target, measured)
    await run_ffmpeg(finish_args(joined, dest, finish, seconds, channels))


def _measured(report: str) -> dict[str, str] | None:
    """loudnorm's first-pass numbers, or None for silence."""
    found = _JSON_BLOCK.findall(report)
    if not found:
        raise AssemblyError("loudnorm printed no measurement")
    values: dict[str, str] = json.loads(found[-1])
    return None if values.get("input_i") in {"-inf", "inf"} else values


def can_copy_originals(infos: list[ClipInfo], chained: list[bool], needs_audio_work: bool,
                       audio_frames: list[float]) -> bool:
    """The fast path: no trims, no audio work, and every clip's video encoded alike, so the originals' video
    joins by copy (their audio is still decoded and encoded once: copying AAC would carry each clip's encoder
    padding into the film, a gap and a drift at every join)."""
    if any(chained[1:]) or needs_audio_work or not all(i.has_audio and i.audio_rate == 48_000 for i in infos):
        return False
    # Audio shorter or longer than its video would shift every later clip's sound: normalise instead.
    if any(abs(a - i.frames) > 0.5 for a, i in zip(audio_frames, infos, strict=True)):
        return False
    same = [(i.video_codec, i.pix_fmt, i.width, i.height, i.fps) for i in infos]
    return infos[0].fps == FPS and all(s == same[0] for s in same)


def film_channels(infos: list[ClipInfo], soundtrack: bool) -> int:
    """Stereo when a soundtrack or any clip brings it; mono otherwise (the provider's clips are mono)."""
    return 2 if soundtrack or any(i.audio_channels not in (None, "mono") for i in infos) else 1
