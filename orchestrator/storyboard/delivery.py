"""Rules for each output's delivery settings (`outputs: {name: {shots, size, fps, trim, soundtrack, ...}}`): the
files they name exist, and a trim keeps a part of the film that exists."""

from __future__ import annotations

from itertools import pairwise

from orchestrator import models as m
from orchestrator.storyboard.context import RuleContext
from orchestrator.storyboard.media import MediaKind
from orchestrator.storyboard.resolve import ShotSpec
from orchestrator.storyboard.schema import Output, Storyboard


def check_delivery(storyboard: Storyboard, specs: dict[str, ShotSpec], ctx: RuleContext) -> None:
    """Every output's delivery settings against the shots it holds (`specs`: by shot id)."""
    for name, output in (storyboard.outputs or {}).items():
        where = ("outputs", name)
        if output.soundtrack is not None:
            ctx.local_file((*where, "soundtrack"), output.soundtrack, MediaKind.AUDIO)
        if output.trim is None:
            continue
        start, end = output.trim.start, output.trim.end
        if end is not None and end <= start:
            ctx.error((*where, "trim", "end"), f"{end:g} s is not after trim.start ({start:g} s): the out point "
                      "comes after the in point")
            continue
        seconds = film_seconds(storyboard, output, specs)
        if seconds is None:
            continue
        if (end if end is not None else start) > seconds + 0.5 / m.FPS:
            field = "end" if end is not None else "start"
            value = end if end is not None else start
            ctx.error((*where, "trim", field), f"{value:g} s is past the film's end: '{name}' is {seconds:.2f} s "
                      "long")


def film_seconds(storyboard: Storyboard, output: Output, specs: dict[str, ShotSpec]) -> float | None:
    """How long the output's film will be before its trim (None when a shot's length is unknown here), by the
    assembly's rules: a chained child's first frame dropped, crossfades overlapping."""
    frames: list[int] = []
    for shot in output.shots:
        spec = specs.get(shot)
        if spec is None or spec.model is None:
            return None
        if spec.frames is not None:
            frames.append(spec.frames)
        elif spec.duration == -1:
            return None  # the model decides the length
        else:
            frames.append(m.frames_for(spec.duration or spec.model.default_duration))
    total = sum(frames)
    assembly = storyboard.assembly
    for before, after in pairwise(output.shots):
        if specs[after].shot.after == before:
            total -= 1
        elif assembly.transition == "crossfade":
            total -= max(1, round(assembly.crossfade_seconds * m.FPS))
    return total / m.FPS
