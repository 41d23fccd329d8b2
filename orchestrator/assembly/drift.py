"""How a picture looks, for drift along chains: colour in CIELAB (mean and spread) and a sharpness figure, and the
CIEDE2000 colour difference between two looks.

Last-frame chaining starts every generation on a frame that was already generated, so colour and detail drift link by
link, and the seam check (which compares the two frames at a join) passes it by construction: drift shows only
against the chain's root. The colour science (sRGB to CIE XYZ to CIELAB under D65, and CIEDE2000) is colour-science's,
not ours: its CIEDE2000 is tested against Sharma, Wu and Dalal's reference pairs. colour-science needs numpy only, where
scikit-image would bring scipy; it is imported when a look is first taken, since it takes over a second to load.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]  # height x width x 3, RGB (sRGB)

LOOK_WIDTH = 640  # frames are compared at this width, so figures of 480p and 1080p clips mean the same
DELTA_E_MAX = 5.0  # CIEDE2000 of a clip's end from its chain root's start above which the chain has visibly drifted
SHARPNESS_MIN = 0.70  # a clip's end this much as sharp as its chain root's start, or less: visibly softer
THRESHOLDS = (f"a chain has drifted when a clip's last frame differs from its root's first frame by more than "
              f"{DELTA_E_MAX:g} CIEDE2000 (mean colour) or is less than {SHARPNESS_MIN:.0%} as sharp (variance of the "
              "Laplacian)")
_LUMA = np.array([0.2126, 0.7152, 0.0722])  # BT.709, the clips' colour space


@dataclass(frozen=True)
class Look:
    """One frame's colour (CIELAB D65: mean and standard deviation of L*, a*, b*) and sharpness."""

    lab_mean: tuple[float, float, float]
    lab_std: tuple[float, float, float]
    sharpness: float  # variance of the 4-neighbour Laplacian of luma (0..255) at LOOK_WIDTH


@cache
def _colour() -> ModuleType:
    with warnings.catch_warnings():  # it warns, on import, of optional packages it would use for other features
        warnings.simplefilter("ignore")
        import colour
    return colour


def to_lab(rgb: npt.NDArray[np.floating] | npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """sRGB values (0..255, any shape ending in 3) as CIELAB under D65."""
    colour = _colour()
    xyz = colour.sRGB_to_XYZ(np.asarray(rgb, dtype=np.float64) / 255.0)
    return np.asarray(colour.XYZ_to_Lab(xyz), dtype=np.float64)


def look(frame: Frame) -> Look:
    """The look of a frame (RGB, already at LOOK_WIDTH or any width: sharpness depends on it)."""
    lab = to_lab(frame).reshape(-1, 3)
    mean, std = lab.mean(axis=0), lab.std(axis=0)
    return Look((float(mean[0]), float(mean[1]), float(mean[2])), (float(std[0]), float(std[1]), float(std[2])),
                sharpness(frame))


def sharpness(frame: Frame) -> float:
    """Variance of the Laplacian of the frame's luma: falls as detail softens."""
    luma = frame.astype(np.float64) @ _LUMA
    laplacian = (luma[1:-1, :-2] + luma[1:-1, 2:] + luma[:-2, 1:-1] + luma[2:, 1:-1] - 4 * luma[1:-1, 1:-1])
    return float(laplacian.var())


def delta_e2000(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """CIEDE2000 difference of two CIELAB colours."""
    return float(_colour().delta_E(np.array(a), np.array(b), method="CIE 2000"))


def drifted(root: Look, end: Look) -> tuple[float, float]:
    """(CIEDE2000 of the mean colours, sharpness of `end` relative to `root`) of a clip's end against its chain
    root's start."""
    relative = end.sharpness / root.sharpness if root.sharpness > 0 else 1.0
    return delta_e2000(root.lab_mean, end.lab_mean), relative
