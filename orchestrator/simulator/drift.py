"""The simulator's drift model: opt-in, a model of reported behaviour, not a measurement of the provider.

Practitioners report that a continuation made from a generated last frame "comes out a touch softer each time it
continues" and that its colour creeps. Here each clip shifts its colour balance (warmer: red up, blue down),
changes its contrast and softens its detail progressively along the clip: nothing on its first frame (the given
one, exactly), the clip's full drift on its last. A child starts on its parent's drifted last frame and adds its
own, so a chain accumulates drift link by link. A requested last frame (a keyframe) is ended on exactly, so a
keyframe resets the drift, as an anchor should. Amounts come from `SimConfig` (drift_colour, drift_contrast,
drift_blur, per clip); each clip takes 75-125 % of them, fixed by its seed and prompt, so renders stay deterministic.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

_WARM = np.array([1.0, 0.15, -1.0])  # per-channel direction of the colour shift: red up, green a little, blue down


@dataclass(frozen=True)
class Drift:
    """How far one clip has drifted by its last frame."""

    colour: float  # the red gain rises, the blue gain falls, by this fraction
    contrast: float  # deviations from the frame's mean grow by this fraction (negative: flatter)
    blur: float  # Gaussian blur radius in pixels

    @property
    def active(self) -> bool:
        """Whether this drift changes anything."""
        return bool(self.colour or self.contrast or self.blur)


NO_DRIFT = Drift(0.0, 0.0, 0.0)


def clip_drift(colour: float, contrast: float, blur: float, seed: int, prompt: str) -> Drift:
    """One clip's drift: the configured amounts scaled by 0.75-1.25, fixed by the clip's seed and prompt."""
    digest = hashlib.sha256(f"drift\0{seed}\0{prompt}".encode()).digest()
    scale = 0.75 + 0.5 * random.Random(int.from_bytes(digest, "big")).random()
    return Drift(colour * scale, contrast * scale, blur * scale)


def drifted(frame: Image.Image, drift: Drift, progress: float) -> Image.Image:
    """The frame with `progress` (0 at the clip's first frame, 1 at its last) of the clip's drift."""
    if not drift.active or progress <= 0:
        return frame
    if drift.blur * progress >= 0.05:
        frame = frame.filter(ImageFilter.GaussianBlur(drift.blur * progress))
    pixels = np.asarray(frame, dtype=np.float32)
    pixels = pixels * (1.0 + drift.colour * progress * _WARM).astype(np.float32)
    mean = pixels.mean(axis=(0, 1), keepdims=True)
    pixels = mean + (pixels - mean) * np.float32(1.0 + drift.contrast * progress)
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))
