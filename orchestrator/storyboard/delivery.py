"""Rules for each output's delivery settings (`outputs: {name: {shots, size, fps, trim, soundtrack, ...}}`): the
files they name exist here, and a trim keeps frames of the film that exist, counted as the assembly counts them (in
whole frames at 24 fps), so a bad trim is refused before anything is paid, not after the clips are made."""

from __future__ import annotations

from itertools import pairwise

from orchestrator import models as m
from orchestrator.storyboard.context import RuleContext
from orchestrator.storyboard.diagnostics import DataPath
from orchestrator.storyboard.media import MediaKind, is_remote
from orchestrator.storyboard.resolve import ShotSpec
from orchestrator.storyboard.schema import Output, Storyboard


def check_delivery(storyboard: Storyboard, specs: dict[str, ShotSpec], ctx: RuleContext) -> None:
    """Every output's delivery settings against the shots it holds (`specs`: by shot id)."""
    for name, output in (storyboard.outputs or {}).items():
        where = ("outputs", name)
        if output.soundtrack is not None:
            check_soundtrack((*where, "soundtrack"), output.soundtrack, ctx)
        if output.trim is not None:
            _check_trim(storyboard, name, output, specs, ctx)


def check_soundtrack(path: DataPath, raw: str, ctx: RuleContext) -> None:
    """A soundtrack is mixed here, by ffmpeg, so it must be a file beside the storyboard, not a URL."""
    if is_remote(raw):
        ctx.error(path, f"'{raw[:60]}' is a URL: a soundtrack must be a local audio file (download it and give its "
                  "path)")
        return
    ctx.local_file(path, raw, MediaKind.AUDIO)


def _check_trim(storyboard: Storyboard, name: str, output: Output, specs: dict[str, ShotSpec],
                ctx: RuleContext) -> None:
    trim = output.trim
    assert trim is not None
    where = ("outputs", name, "trim")
    start = round(trim.start * m.FPS)  # the assembly keeps whole frames, rounded like this
    end = round(trim.end * m.FPS) if trim.end is not None else None
    if trim.end is not None and end is not None and end <= start:
        ctx.error((*where, "end"), f"{trim.end:g} s keeps no frame after trim.start ({trim.start:g} s): the out "
                  "point must come at least one frame (1/24 s) after the in point")
        return
    frames = film_frames(storyboard, output, specs)
    if frames is None:
        ctx.warn((*where, "start"), f"'{name}' has a shot whose length the model decides (duration -1): the trim "
                 "can only be checked when the film is made, after the shots are paid for")
        return
    seconds = f"'{name}' is {frames / m.FPS:.2f} s long ({frames} frames at 24 fps)"
    if start >= frames:
        ctx.error((*where, "start"), f"{trim.start:g} s is at or past the film's end: {seconds}")
    elif end is not None and end > frames:
        ctx.error((*where, "end"), f"{trim.end:g} s is past the film's end: {seconds}")


def film_frames(storyboard: Storyboard, output: Output, specs: dict[str, ShotSpec]) -> int | None:
    """How many frames the output's film will have before its trim (None when a shot's length is unknown here), by
    the assembly's rules: a chained child's first frame dropped, crossfades overlapping."""
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
            total -= max(1, round(assembly.crossfade_seconds * m.FPS))  # assembly.finish.fade_length, a layer up
    return total
