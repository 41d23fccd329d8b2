"""The four formats, and what each adapter needs beyond the timeline `timeline.build` makes: the same timeline,
copied and dressed in the adapter's own metadata so that the facts an editor wants reach the fields each editor
shows.

- otio (OpenTimelineIO JSON): everything, as built (metadata["orchestrator"] on the timeline and every clip).
- fcpxml (Final Cut Pro X XML 1.8: Final Cut Pro, DaVinci Resolve): each clip's take, seed, model, task, cost and
  prompt as the browser clip's note; the adapter leaves out crossfades and the frame size, which `fcpxml.finish`
  puts back.
- xml (Final Cut Pro 7 XML: Premiere Pro, DaVinci Resolve): the sequence's frame size; per clip, logging info
  (scene: the shot, shot/take: the take, description: the prompt, log note: take, seed, model, task and cost).
- edl (CMX 3600): one video track only, so the soundtrack's audio track is dropped (the sound reaches the editor
  with the otio, fcpxml and xml exports); per event the clip's name and file (the adapter's FROM CLIP NAME and FROM
  CLIP comments), a reel name of up to 8 letters and digits unique to each clip file (every take's file is called
  clip.mp4, which would give every event one reel), and a comment with take, seed, model, task and cost. Prompts and
  the timeline's own facts are not in an EDL.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped]

from orchestrator.export.timeline import NAMESPACE, RATE

REEL_LENGTH = 8  # CMX 3600's reel field


@dataclass(frozen=True)
class Format:
    """One export format: its OTIO adapter and its file's extension."""

    name: str
    adapter: str
    suffix: str
    what: str  # for help and messages


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("otio", "otio_json", "otio", "OpenTimelineIO"),
    Format("fcpxml", "fcpx_xml", "fcpxml", "Final Cut Pro X XML (Final Cut Pro, DaVinci Resolve)"),
    Format("xml", "fcp_xml", "xml", "Final Cut Pro 7 XML (Premiere Pro, DaVinci Resolve)"),
    Format("edl", "cmx_3600", "edl", "CMX 3600 EDL (one video track)"),
)}


def dressed(timeline: Any, fmt: str) -> Any:
    """A copy of `timeline` ready for the adapter of `fmt` (adapters may change what they are given)."""
    copied = copy.deepcopy(timeline)
    if fmt == "fcpxml":
        _fcpx(copied)
    elif fmt == "xml":
        _fcp7(copied)
    elif fmt == "edl":
        _edl(copied)
    return copied


def _video_clips(timeline: Any) -> list[Any]:
    return [item for track in timeline.tracks if track.kind == otio.schema.TrackKind.Video
            for item in track if isinstance(item, otio.schema.Clip)]


def _facts(clip: Any) -> dict[str, Any]:
    facts: dict[str, Any] = dict(clip.metadata.get(NAMESPACE, {}))
    return facts


def summary(facts: dict[str, Any]) -> str:
    """One line: the clip's name, seed, model, task and cost (what it holds of them)."""
    parts = [str(facts.get("name") or facts.get("shot") or "")]
    for label, key in (("seed", "seed"), ("model", "model"), ("task", "task_id")):
        if facts.get(key) not in (None, ""):
            parts.append(f"{label} {facts[key]}")
    if facts.get("cost") is not None:
        parts.append(f"cost {facts['cost']:g} {facts.get('currency') or ''}".rstrip())
    return "; ".join(parts)


def _fcpx(timeline: Any) -> None:
    for clip in _video_clips(timeline):
        facts = _facts(clip)
        note = summary(facts) + (f". Prompt: {facts['prompt']}" if facts.get("prompt") else "")
        clip.media_reference.metadata["fcpx"] = {"note": note}


def _fcp7(timeline: Any) -> None:
    width, height = timeline.metadata[NAMESPACE]["size"]
    rate = {"timebase": str(RATE), "ntsc": "FALSE"}
    # Premiere takes a new sequence's frame size from here (otherwise it asks, or uses its default).
    timeline.metadata["fcp_xml"] = {"media": {"video": {"format": {"samplecharacteristics": {
        "rate": rate, "width": str(width), "height": str(height), "pixelaspectratio": "square",
        "fielddominance": "none"}}}}}
    for clip in _video_clips(timeline):
        facts = _facts(clip)
        clip.metadata["fcp_xml"] = {"logginginfo": {
            "description": str(facts.get("prompt") or ""), "scene": str(facts.get("shot") or ""),
            "shottake": "" if facts.get("take") is None else str(facts["take"]), "lognote": summary(facts)}}


def _edl(timeline: Any) -> None:
    for index in reversed(range(len(timeline.tracks))):
        if timeline.tracks[index].kind != otio.schema.TrackKind.Video:
            del timeline.tracks[index]
    reels: dict[str, str] = {}  # clip file -> reel
    for clip in _video_clips(timeline):
        facts = _facts(clip)
        path = str(facts.get("clip") or clip.media_reference.target_url)
        if path not in reels:
            reels[path] = reel_name(str(facts.get("shot") or clip.name), set(reels.values()))
        clip.metadata["cmx_3600"] = {"reel": reels[path], "comments": [f"ORCHESTRATOR: {summary(facts)}"]}


def reel_name(shot: str, taken: set[str]) -> str:
    """Up to 8 capital letters and digits from the shot id, made unique among `taken` by a number at the end."""
    base = re.sub(r"[^A-Za-z0-9]", "", shot).upper() or "CLIP"
    if base[:REEL_LENGTH] not in taken:
        return base[:REEL_LENGTH]
    number = 2
    while True:
        tail = str(number)
        candidate = base[: REEL_LENGTH - len(tail)] + tail
        if candidate not in taken:
            return candidate
        number += 1
