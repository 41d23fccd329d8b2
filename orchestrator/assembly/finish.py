"""Finishing: transitions that need a filter graph, the film's audio (mute, soundtrack with ducking, loudness),
and the fast path that copies the originals when nothing needs re-encoding."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from orchestrator.assembly.cache import cached
from orchestrator.assembly.errors import AssemblyError
from orchestrator.assembly.ffmpeg import (
    FPS,
    AudioFinish,
    Crossfade,
    Delivery,
    Measured,
    crossfade_graph,
    finish_args,
    fused_args,
    loudness_measure_args,
)
from orchestrator.assembly.join import concat_listing
from orchestrator.assembly.normalize import CACHE_VERSION, Intermediate
from orchestrator.assembly.probe import ClipInfo, probe
from orchestrator.assembly.process import run_ffmpeg, run_together

_NUMBER = r"(-?(?:\d+(?:\.\d+)?|inf))"
_SUMMARY = {"integrated": re.compile(rf"I:\s+{_NUMBER} LUFS"), "threshold": re.compile(rf"Threshold:\s+{_NUMBER} LUFS"),
            "lra": re.compile(rf"LRA:\s+{_NUMBER} LU\b"), "true_peak": re.compile(rf"Peak:\s+{_NUMBER} dBFS")}
SILENCE_LUFS = -70.0  # ebur128's floor: the absolute gate lets no block of silence count


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
    fade_frames = fade_length(seconds)
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


def fade_length(seconds: float) -> int:
    """A crossfade's length in frames (at least one)."""
    return max(1, round(seconds * FPS))


def crossfade_edges(transition: str, seconds: float) -> int:
    """Frames at each end of every clip that are normalised as pieces of their own: the crossfade's length when
    the storyboard crossfades, else none. Every clip alike, so the films that share a clip share its pieces."""
    return fade_length(seconds) if transition == "crossfade" else 0


def settled_groups(chained: list[bool], frames: dict[int, int], fade_frames: int) -> list[list[int]]:
    """The crossfaded groups of a film (`chained[i]`: part i starts on part i-1's last frame) that can be fused
    before all its parts exist: every part of the group is known (`frames`: frame counts by index) and long enough
    for a fade at both ends, so whatever the other parts turn out to be, `plan_transitions` cannot cut a fade
    inside it."""
    fades = [not chained[i + 1] for i in range(len(chained) - 1)]
    return [group for group in fade_groups(fades) if len(group) > 1
            and all(frames.get(i, 0) >= 2 * fade_frames + 1 for i in group)]


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


async def fuse(parts: list[Intermediate], plan: Transitions, cache_dir: Path) -> tuple[list[tuple[Path, int]], int]:
    """Crossfades by encoding anew only what each one touches, encoded like every intermediate (so the film still
    joins by stream copy); returns the files to join in order, each with its frame count, and the film's."""

    async def one(group: list[int]) -> list[tuple[Path, int]]:
        if len(group) == 1:
            return parts[group[0]].pieces
        return await _fused([parts[i] for i in group], plan.fade_frames, cache_dir)

    joined = await run_together(one(group) for group in fade_groups(plan.fades))
    pieces = [piece for files in joined for piece in files]
    return pieces, sum(count for _, count in pieces)


async def fuse_group(parts: list[Intermediate], fade_frames: int, cache_dir: Path) -> tuple[list[Path], int]:
    """Parts joined by crossfades: the files that make them up, in order, and their frame count (see `_fused`)."""
    pieces = await _fused(parts, fade_frames, cache_dir)
    return [path for path, _ in pieces], sum(count for _, count in pieces)


async def _fused(parts: list[Intermediate], fade_frames: int, cache_dir: Path) -> list[tuple[Path, int]]:
    """Parts joined by crossfades: the files that make them up, in order, each with its frame count.

    When every part's ends are pieces of the fade's length (normalised with `edge_frames`), a join re-encodes only
    the tail and the head it blends: half a second of video. Otherwise the whole group is encoded anew. Either way
    the result is cached under a name made of the parts' names (which say what they are made of) and the fade, so
    films sharing a scene change share it, and the engine makes it as soon as the clips either side exist."""
    count = sum(p.frames for p in parts) - fade_frames * (len(parts) - 1)
    ends = [(p.head, p.tail) for p in parts if p.edge_frames == fade_frames]
    if len(ends) < len(parts):
        return [(await _encoded_anew(parts, fade_frames, cache_dir), count)]
    heads, tails = [h for h, _ in ends if h], [t for _, t in ends if t]
    fades = await run_together(_crossfade_piece(tail, head, fade_frames, cache_dir)
                               for tail, head in zip(tails[:-1], heads[1:], strict=True))
    files = [(heads[0], fade_frames)]
    for part, fade in zip(parts, [*fades, tails[-1]], strict=True):
        files += [(part.path, part.frames - 2 * fade_frames), (fade, fade_frames)]
    return files


async def _crossfade_piece(tail: Path, head: Path, fade_frames: int, cache_dir: Path) -> Path:
    """One clip's last frames blended into the next one's first: `fade_frames` frames, encoded like the rest."""
    graph, _ = crossfade_graph([fade_frames, fade_frames], [True], fade_frames)
    return await _cached_graph("fade", [[(tail, fade_frames)], [(head, fade_frames)]], fade_frames, graph, cache_dir)


async def _encoded_anew(parts: list[Intermediate], fade_frames: int, cache_dir: Path) -> Path:
    graph, _ = crossfade_graph([p.frames for p in parts], [True] * (len(parts) - 1), fade_frames)
    return await _cached_graph("fused", [p.pieces for p in parts], fade_frames, graph, cache_dir)


async def _cached_graph(kind: str, inputs: list[list[tuple[Path, int]]], fade_frames: int, graph: Crossfade,
                        cache_dir: Path) -> Path:
    """`graph` over the inputs (each one file, or the pieces of one clip, with their frame counts) into an
    intermediate in the cache."""
    recipe = {"v": CACHE_VERSION, "inputs": [[p.name for p, _ in files] for files in inputs],
              "fade_frames": fade_frames}
    dest = cache_dir / f"{kind}-{hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:24]}.mov"

    async def build(part: list[Path]) -> None:
        with contextlib.ExitStack() as stack:
            sources = [files[0][0] if len(files) == 1 else stack.enter_context(concat_listing(files, dest))
                       for files in inputs]
            await run_ffmpeg(fused_args(sources, graph, part[0]))
        await probe(part[0])  # strict decode of what was encoded here: the film itself is then checked by packets

    await cached([dest], build)
    return dest


async def finish_audio(joined: Path, dest: Path, finish: AudioFinish, frames: int, channels: int,
                       picture: tuple[Delivery, int] | None = None) -> None:
    """Encode the final file (`frames` long) with its finished audio; loudness takes a measuring pass first (two
    passes). With `picture` (the delivery and the joined film's frames), the video is delivered too."""
    seconds = frames / (picture[0].fps if picture else FPS)
    if finish.loudness_lufs is not None:
        report = await run_ffmpeg(loudness_measure_args(joined, finish, seconds))
        measured = _measured(report)
        # Silence has no loudness to correct (loudnorm would divide by it); the check afterwards reports the miss.
        target = finish.loudness_lufs if measured is not None else None
        finish = dataclasses.replace(finish, loudness_lufs=target, measured=measured)
    await run_ffmpeg(finish_args(joined, dest, finish, seconds, channels, picture))


def _measured(report: str) -> Measured | None:
    """ebur128's summary as numbers, or None for silence (nothing to correct; loudnorm would divide by it)."""
    summary = report[report.rfind("Summary:"):]
    found = {name: pattern.search(summary) for name, pattern in _SUMMARY.items()}
    if "Summary:" not in report or not all(found.values()):
        raise AssemblyError("ebur128 printed no loudness summary")
    values = {name: float(match.group(1)) for name, match in found.items() if match}
    if values["integrated"] <= SILENCE_LUFS or math.isinf(values["true_peak"]):
        return None
    return Measured(**values)


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
