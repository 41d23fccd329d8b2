"""The colour anchor (`assembly.color_anchor: root`): each clip of a chain graded toward its chain's reference
picture in the films, never in what is sent to the provider (the handed-on frame stays the provider's bytes).

The grade is a gain and an offset per channel of the clips' own Y'CbCr (BT.709, limited range), which bring the
mean and spread of a clip's last frame to those of its reference, like a colourist's match of two shots: it undoes a
shift of colour balance and of contrast, and cannot tell one from a change the prompts asked for (so it is off by
default). It ramps along each clip, from the grade of its
parent's last frame on its first frame (the same picture, so a chained join shows no step) to its own on its last.
A shot that ends on a keyframe ramps back to no grade, since the keyframe is the picture its children are held to.
Correcting colour toward the first chunk, rather than each chunk toward the one before, is what practitioners report
stops drift; matching each to its predecessor follows it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from orchestrator.assembly.chains import LUMA_WEIGHTS, ChainPictures, Chains, Frame, reduced
from orchestrator.assembly.grading import NO_LEVELS, Grade, Levels

# BT.709 luma weights, and the limited-range scale of Y' (219) and of Cb, Cr (224)
_KR, _KG, _KB = LUMA_WEIGHTS
GAIN_LIMITS = (2 / 3, 1.5)  # a spread is matched within these: a flat picture must not be stretched into noise


@dataclass(frozen=True)
class Stats:
    """Mean and standard deviation of Y', Cb, Cr (limited range code values) of one picture."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def to_ycbcr(rgb: npt.NDArray[np.uint8] | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """RGB code values (0..255) as limited-range Y'CbCr code values, BT.709."""
    x = np.asarray(rgb, dtype=np.float64) / 255.0
    y = _KR * x[..., 0] + _KG * x[..., 1] + _KB * x[..., 2]
    cb = (x[..., 2] - y) / (2 * (1 - _KB))
    cr = (x[..., 0] - y) / (2 * (1 - _KR))
    return np.stack([16 + 219 * y, 128 + 224 * cb, 128 + 224 * cr], axis=-1)


def to_rgb(ycbcr: npt.NDArray[np.float64]) -> Frame:
    """`to_ycbcr` undone, rounded and clipped to 0..255."""
    y = (ycbcr[..., 0] - 16) / 219
    cb, cr = (ycbcr[..., 1] - 128) / 224, (ycbcr[..., 2] - 128) / 224
    r = y + 2 * (1 - _KR) * cr
    b = y + 2 * (1 - _KB) * cb
    g = (y - _KR * r - _KB * b) / _KG
    return np.clip(np.rint(np.stack([r, g, b], axis=-1) * 255), 0, 255).astype(np.uint8)


def stats(frame: Frame) -> Stats:
    """The picture's statistics, from a copy reduced to STATS_WIDTH."""
    values = to_ycbcr(reduced(frame)).reshape(-1, 3)
    mean, std = values.mean(axis=0), values.std(axis=0)
    return Stats((float(mean[0]), float(mean[1]), float(mean[2])), (float(std[0]), float(std[1]), float(std[2])))


def levels_toward(reference: Stats, end: Stats) -> Levels:
    """The levels that give `end`'s picture `reference`'s mean and (within GAIN_LIMITS) spread, per channel;
    rounded, so the same pictures always give the same filter and the same cached intermediate."""
    low, high = GAIN_LIMITS
    gains = [min(high, max(low, r / e)) if e > 1e-6 else 1.0 for r, e in zip(reference.std, end.std, strict=True)]
    offsets = [r - g * e for r, g, e in zip(reference.mean, gains, end.mean, strict=True)]
    found = Levels((round(gains[0], 4), round(gains[1], 4), round(gains[2], 4)),
                   (round(offsets[0], 3), round(offsets[1], 3), round(offsets[2], 3)))
    return NO_LEVELS if found == NO_LEVELS else found  # no -0.0 offsets: they would print into the cache key


def graded(frame: Frame, levels: Levels) -> Frame:
    """A picture with the levels applied as the films apply them (`Levels.expression`), for the report's figures."""
    values = to_ycbcr(frame)
    gains, offsets = np.array(levels.gains), np.array(levels.offsets)
    out = np.clip(np.floor(values * gains + offsets + 0.5), 0, 255)
    return to_rgb(out)


def end_levels(chains: Chains, shot: str, references: dict[str, Stats], ends: dict[str, Stats]) -> Levels | None:
    """The grade on a shot's last frame: toward its reference, none for a keyframed shot (its end is the reference),
    or None when a picture it needs is not there."""
    if chains.reference_is_end(shot):
        return NO_LEVELS
    reference = chains.reference(shot)
    if reference not in references or shot not in ends:
        return None
    return levels_toward(references[reference], ends[shot])


def grades(chains: Chains, pictures: ChainPictures, shots: list[str] | None = None, *, hold: bool = True
           ) -> dict[str, Grade | None]:
    """Each chain member's grade (of `shots`, default every member): None for one that needs none.

    A grade needs pictures that may be missing: a take can end without its last frame, and early in a run a
    parent's may not be downloaded yet. With `hold` (the films), a shot whose end cannot be worked out keeps the grade
    it starts with to its end, so its join to its parent shows no step; without (early normalisation, which the
    films redo when it guessed wrong), such a shot is left out."""
    references = {s: stats(f) for s, f in pictures.references.items()}
    ends = {s: stats(f) for s, f in pictures.ends.items()}
    known: dict[str, Levels | None] = {}

    def end_of(shot: str, depth: int = 0) -> Levels | None:
        if shot not in known:
            found = end_levels(chains, shot, references, ends)
            if found is None and hold and depth <= len(chains.parents):
                found = start_of(shot, depth + 1)
            known[shot] = found
        return known[shot]

    def start_of(shot: str, depth: int = 0) -> Levels | None:
        parent = chains.parents.get(shot)
        return NO_LEVELS if parent is None else end_of(parent, depth)

    members = set(chains.members())
    result: dict[str, Grade | None] = {}
    for shot in chains.members() if shots is None else [s for s in shots if s in members]:
        start, end = start_of(shot), end_of(shot)
        if start is not None and end is not None:
            result[shot] = None if start.identity and end.identity else Grade(start, end)
    return result
