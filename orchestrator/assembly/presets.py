"""Delivery size presets: a film's frame for `size: 720p | 1080p`.

The provider's frames are close to, not exactly, the standard ones (864x496 at 480p is 54:31, not 16:9). A preset
takes the standard ratio nearest the film's own shape (compared as logarithms, so 2:1 is as far from 1:1 as 1:2 is)
and gives it the preset's short side: 16:9 at 1080p is 1920x1080, 9:16 is 1080x1920. The clips are then fitted
into that frame by the output's `fit` (crop: fill and cut the excess evenly at the edges; pad: letterbox).
"""

from __future__ import annotations

import math

SHORT_SIDES = {"720p": 720, "1080p": 1080}
STANDARD_RATIOS = ((16, 9), (9, 16), (1, 1), (4, 3), (3, 4), (21, 9))


def preset_size(width: int, height: int, preset: str) -> tuple[int, int]:
    """The delivered frame for a film of `width`x`height` (the provider's size) under `preset`; `source` keeps
    the film's own size."""
    if preset == "source":
        return width, height
    short = SHORT_SIDES[preset]
    aspect = math.log(width / height)
    across, down = min(STANDARD_RATIOS, key=lambda r: abs(math.log(r[0] / r[1]) - aspect))
    if across >= down:
        long_side = round(short * across / down)
        return long_side + long_side % 2, short
    long_side = round(short * down / across)
    return short, long_side + long_side % 2
