"""One film's edit as an OpenTimelineIO timeline, at 24 fps (the clips' rate). Pure: the clip files' lengths and
where each clip came from come in as data.

How a crossfade is laid out. The film is its clips end to end, a crossfade of F frames overlapping the last F frames
of the left clip with the first F of the right. OTIO holds it as a Transition between the two clips that takes no
time on the track: it starts `in_offset` frames before the cut between them and ends `out_offset` frames after it,
showing the left clip's media past the end of its range and the right clip's media before the start of its range
(their handles). With in_offset = F // 2 and out_offset = F - F // 2, the cut sits in_offset frames into the fade,
so the left clip's range ends out_offset frames before the last frame it shows in the film, and the right clip's
range starts in_offset frames after the first it shows. Each clip's range then covers the film's frames from the
cut before it to the cut after it, and the track lasts exactly the film's frames (`layout` checks the sum).

A trim keeps frames [start, end) of the edit: the clips outside it go, the first and last kept are shortened. An
editor's dissolve cannot begin before its timeline does or end after it, so a crossfade the trim cuts into becomes a
plain cut at its cut point (the clips either side still meet there, frame for frame), and the timeline's notes say
so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped]

from orchestrator import __version__
from orchestrator.export.edits import Edit, OutputEdit
from orchestrator.export.errors import ExportError
from orchestrator.export.provenance import ClipFacts

RATE = 24
NAMESPACE = "orchestrator"  # metadata key of everything this tool adds
DISSOLVE = "Cross Dissolve"
CLIP_SOUND = ("the clips' own sound is in their media files (the video track's clips), not on an audio track: link "
              "or add it in the editor")


@dataclass(frozen=True)
class Placed:
    """One clip as the timeline holds it."""

    index: int  # its entry in the edit
    start: int  # the first frame of the clip file its range covers
    frames: int  # its range's length: its length on the track
    dissolve: tuple[int, int] | None  # (in_offset, out_offset) of the crossfade into it from the clip before


@dataclass(frozen=True)
class Layout:
    """The clips of a timeline, in order, and what the trim changed."""

    clips: tuple[Placed, ...]
    notes: tuple[str, ...]

    @property
    def frames(self) -> int:
        """The track's length."""
        return sum(p.frames for p in self.clips)


def layout(edit: Edit) -> Layout:
    """Each kept clip's range and the crossfades kept, for the frames [start, end) of the edit the trim keeps."""
    clips, fades = edit.clips, [j.fade for j in edit.joins]
    starts = [0]  # the film frame each clip's first shown frame falls on
    for clip, fade in zip(clips, fades, strict=False):
        starts.append(starts[-1] + clip.frames - fade)
    total = starts[-1] + clips[-1].frames
    if total != edit.frames:
        raise ExportError(f"the edit's clips and crossfades make {total} frames, not the {edit.frames} it records")
    cuts = [0, *(starts[i + 1] + fade // 2 for i, fade in enumerate(fades)), total]  # clip i's range: cuts[i:i+2]
    for i, clip in enumerate(clips):
        around = (fades[i - 1] if i else 0) + (fades[i] if i < len(fades) else 0)
        if around > clip.frames or cuts[i + 1] <= cuts[i]:  # two dissolves on one clip may meet, never overlap
            raise ExportError(f"the clip of {clip.shot} shows {clip.frames} frames, too few for its crossfades "
                              f"({around} frames)")
    start, end = edit.trim
    kept, notes = _dissolves(edit, starts, fades, cuts)
    placed = []
    for i, clip in enumerate(clips):
        low, high = max(cuts[i], start), min(cuts[i + 1], end)
        if low >= high:
            continue
        fade = fades[i - 1] if i else 0
        dissolve = (fade // 2, fade - fade // 2) if i - 1 in kept else None
        placed.append(Placed(i, clip.source_in + low - starts[i], high - low, dissolve))
    result = Layout(tuple(placed), tuple(notes))
    assert result.frames == end - start, "the kept ranges cover the trim exactly"
    return result


def _dissolves(edit: Edit, starts: list[int], fades: list[int], cuts: list[int]) -> tuple[set[int], list[str]]:
    """The joins whose crossfade the timeline keeps, and a note for each the trim cuts into."""
    start, end = edit.trim
    kept: set[int] = set()
    notes = []
    for i, fade in enumerate(fades):
        if not fade:
            continue
        first, last = starts[i + 1], starts[i + 1] + fade  # the film frames the crossfade blends, end exclusive
        left_shown = cuts[i + 1] > start  # one frame of fade starting on the trim leaves its left clip no frame
        if start <= first and last <= end and left_shown:
            kept.add(i)
        elif first < end and last > start:
            left, right = edit.clips[i].shot, edit.clips[i + 1].shot
            cut = cuts[i + 1] - start  # where the cut falls on the timeline
            instead = (f"the timeline starts on {right}" if cut <= 0 else f"the timeline ends on {left}"
                       if cut >= end - start else f"a plain cut at frame {cut} of the timeline")
            notes.append(f"the trim [{start}, {end}) cuts into the {fade}-frame crossfade {left} -> {right} (frames "
                         f"{first}-{last - 1}): {instead} instead")
    return kept, notes


def build(output: OutputEdit, facts: Mapping[Path, ClipFacts], lengths: Mapping[Path, int],
          storyboard: str, soundtrack_frames: int | None = None) -> Any:
    """The otio Timeline of one output: a video track of its clips (with their facts under metadata
    ["orchestrator"]) and, for a soundtrack, an audio track. `lengths` gives each clip file's frames (its media's
    available range); `soundtrack_frames`, the soundtrack's length in 24 fps frames."""
    edit = output.edit
    placed = layout(edit)
    timeline = otio.schema.Timeline(name=f"{storyboard} {output.name}", global_start_time=_time(0))
    timeline.metadata[NAMESPACE] = _timeline_facts(output, storyboard, placed)
    video = otio.schema.Track(name="video", kind=otio.schema.TrackKind.Video)
    for clip in placed.clips:
        entry = edit.clips[clip.index]
        if clip.dissolve is not None:
            fade = clip.dissolve[0] + clip.dissolve[1]
            video.append(otio.schema.Transition(
                name=DISSOLVE, transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                in_offset=_time(clip.dissolve[0]), out_offset=_time(clip.dissolve[1]),
                metadata={NAMESPACE: {"crossfade_frames": fade}}))
        available = lengths[entry.path]
        if available < entry.source_out:
            raise ExportError(f"{entry.path}: the clip of {entry.shot} has {available} frames, and the edit uses it "
                              f"up to frame {entry.source_out}: the report is older than the clip")
        known = facts[entry.path]
        reference = otio.schema.ExternalReference(target_url=entry.path.as_uri(),
                                                  available_range=_range(0, available))
        reference.name = known.name
        video.append(otio.schema.Clip(name=known.name, media_reference=reference,
                                      source_range=_range(clip.start, clip.frames),
                                      metadata={NAMESPACE: _clip_facts(known, entry.path, clip)}))
    timeline.tracks.append(video)
    if edit.audio == "soundtrack" and edit.soundtrack is not None:
        timeline.tracks.append(_soundtrack(edit.soundtrack, placed.frames, soundtrack_frames))
    return timeline


def _soundtrack(path: Path, frames: int, available: int | None) -> Any:
    """The audio track: the soundtrack from its start, for the timeline's length (or the soundtrack's, when it is
    shorter: the film is silent after it)."""
    length = frames if available is None else min(frames, available)
    reference = otio.schema.ExternalReference(target_url=path.as_uri(),
                                              available_range=_range(0, length if available is None else available))
    reference.name = path.name
    track = otio.schema.Track(name="soundtrack", kind=otio.schema.TrackKind.Audio)
    track.append(otio.schema.Clip(name=path.name, media_reference=reference, source_range=_range(0, length),
                                  metadata={NAMESPACE: {"soundtrack": str(path)}}))
    return track


def _timeline_facts(output: OutputEdit, storyboard: str, placed: Layout) -> dict[str, Any]:
    edit = output.edit
    sound = {"clips": CLIP_SOUND, "mute": "the film is silent: no audio track",
             "soundtrack": "the soundtrack is on the audio track, from the timeline's start"}[edit.audio]
    return {
        "generated_by": f"orchestrator {__version__}",
        "storyboard": storyboard,
        "output": output.name,
        "film": str(output.film) if output.film else None,
        "delivered_fps": output.fps,
        "delivered_frames": output.frames,
        "size": list(edit.size),
        "edit_fps": RATE,
        "edit_frames": edit.frames,
        "trim": list(edit.trim),
        "audio": edit.audio,
        "sound": sound,
        "notes": list(placed.notes),
    }


def _clip_facts(facts: ClipFacts, path: Path, clip: Placed) -> dict[str, Any]:
    return {"name": facts.name, "shot": facts.shot, "take": facts.take, "prompt": facts.prompt, "seed": facts.seed,
            "model": facts.model, "task_id": facts.task_id, "cost": facts.cost, "currency": facts.currency,
            "clip": str(path), "edit_index": clip.index}


def _time(frames: int) -> Any:
    return otio.opentime.RationalTime(frames, RATE)


def _range(start: int, frames: int) -> Any:
    return otio.opentime.TimeRange(_time(start), _time(frames))
