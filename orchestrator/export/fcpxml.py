"""What the FCP X XML adapter leaves out of a timeline, put back into the FCPXML (1.8) it writes.

- Crossfades: the adapter writes clips only, so every dissolve would import as a cut. Each OTIO Transition becomes
  a `<transition>` in the spine, between the two clips, from `in_offset` frames before their cut for the
  crossfade's length, with Final Cut's own Cross Dissolve (the effect uid Final Cut writes; DaVinci Resolve reads
  it as its cross dissolve). A spine's transition overlaps its neighbours through their handles and moves nothing
  after it, as OTIO's does, so no clip's offset changes.
- The frame size: the adapter names a format from ffprobe on PATH (when there is one) as `FFVideoFormat<W>x<H>p24`,
  which is not a name Final Cut knows; the format gets the film's width and height instead, and no name (a custom
  format).
- An empty `uid=""` on the project, which is dropped (the attribute is optional).
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from fractions import Fraction
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped]

from orchestrator.export.timeline import DISSOLVE, NAMESPACE, RATE

CROSS_DISSOLVE_UID = "FxPlug:4731E73A-8DAC-4113-9A30-AE85B1761265"
HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n'


def finish(text: str, timeline: Any) -> str:
    """The adapter's FCPXML of `timeline` with its crossfades, frame size and no empty uid."""
    root = ElementTree.fromstring(text)
    width, height = timeline.metadata[NAMESPACE]["size"]
    for element in root.iter("format"):
        element.attrib.pop("name", None)
        element.set("width", str(width))
        element.set("height", str(height))
    for element in root.iter("project"):
        if element.get("uid") == "":
            del element.attrib["uid"]
    _transitions(root, timeline)
    ElementTree.indent(root, space="    ")
    return HEADER + ElementTree.tostring(root, encoding="unicode") + "\n"


def seconds(frames: int) -> str:
    """FCPXML's time of `frames` at 24 fps: `0s`, `5s`, `121/24s`."""
    value = Fraction(frames, RATE)
    if value.denominator == 1:
        return f"{value.numerator}s"
    return f"{value.numerator}/{value.denominator}s"


def _transitions(root: ElementTree.Element, timeline: Any) -> None:
    video = next(t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video)
    if not any(isinstance(item, otio.schema.Transition) for item in video):
        return
    spine = root.find("./project/sequence/spine")
    resources = root.find("./resources")
    assert spine is not None and resources is not None, "the adapter writes one project with a spine"
    clips = [e for e in spine if e.tag == "clip"]
    assert len(clips) == sum(isinstance(i, otio.schema.Clip) for i in video), "a spine clip per video clip"
    used = [int(e.get("id", "")[1:]) for e in resources if e.get("id", "")[1:].isdigit()]
    effect = f"r{max(used, default=0) + 1}"
    ElementTree.SubElement(resources, "effect", {"id": effect, "name": DISSOLVE, "uid": CROSS_DISSOLVE_UID})
    placed = 0  # spine clips before the next transition
    for index, item in enumerate(video):
        if isinstance(item, otio.schema.Clip):
            placed += 1
            continue
        if not isinstance(item, otio.schema.Transition):
            continue
        cut = video.range_of_child_at_index(index + 1).start_time.value
        start, length = int(cut - item.in_offset.value), int(item.in_offset.value + item.out_offset.value)
        element = ElementTree.Element("transition", {"name": DISSOLVE, "offset": seconds(start),
                                                     "duration": seconds(length)})
        ElementTree.SubElement(element, "filter-video", {"ref": effect, "name": DISSOLVE})
        spine.insert(list(spine).index(clips[placed - 1]) + 1, element)
