"""How a picture looks, for drift along chains: colour in CIELAB (mean and spread) and a sharpness figure, and the
CIEDE2000 colour difference between two looks.

Last-frame chaining starts every generation on a frame that was already generated, so colour and detail drift link by
link, and the seam check (which compares the two frames at a join) passes it by construction: drift shows only
against the chain's root. The colour science (sRGB to CIE XYZ to CIELAB under D65, and CIEDE2000) is colour-science's,
not ours: its CIEDE2000 is tested against Sharma, Wu and Dalal's reference pairs. colour-science needs numpy only, where
scikit-image would bring scipy; it is imported when a look is first taken, since it takes over a second to load.
"""

from __future__ import annotations

import asyncio
import warnings
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
from PIL import Image

from orchestrator.assembly.errors import AssemblyError
from orchestrator.assembly.ffmpeg import first_frame_args
from orchestrator.assembly.probe import probe
from orchestrator.assembly.process import run_ffmpeg_stdout, run_together

Frame = npt.NDArray[np.uint8]  # height x width x 3, RGB (sRGB)

LOOK_WIDTH = 640  # frames are compared at this width, so figures of 480p and 1080p clips mean the same
COLOUR_WIDTH = 160  # colour statistics need far fewer pixels than sharpness
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
    """The look of a frame (RGB, at LOOK_WIDTH: sharpness depends on the width). The colour is taken from the frame
    reduced to COLOUR_WIDTH (box filter: the mean is unchanged, the spread nearly so), a sixteenth of the work."""
    small = Image.fromarray(frame).resize((COLOUR_WIDTH, max(1, round(frame.shape[0] * COLOUR_WIDTH / frame.shape[1]))),
                                          Image.Resampling.BOX)
    lab = to_lab(np.asarray(small)).reshape(-1, 3)
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


@dataclass(frozen=True)
class ShotDrift:
    """One chained shot's drift from its chain's root: its clip's last frame against the root clip's first."""

    shot: str
    root: str
    link: int  # 1 for the root's child, 2 for its grandchild, ...
    delta_e: float  # CIEDE2000 of the mean colours
    sharpness: float  # relative to the root's first frame
    start: Look  # this clip's first frame
    end: Look  # this clip's last frame


def scaled(picture: Image.Image) -> Frame:
    """A picture as RGB at LOOK_WIDTH (box filter: every source pixel counts once), so looks compare alike."""
    rgb = picture.convert("RGB")
    height = max(2, round(rgb.height * LOOK_WIDTH / rgb.width))
    return np.asarray(rgb.resize((LOOK_WIDTH, height), Image.Resampling.BOX), dtype=np.uint8)


async def first_frame(clip: Path) -> Frame:
    """A clip's first frame at LOOK_WIDTH (a keyframe: nothing before it is decoded)."""
    info = await probe(clip, decode=False)
    raw = await run_ffmpeg_stdout(first_frame_args(clip))
    size = info.width * info.height * 3
    if len(raw) < size:
        raise AssemblyError(f"{clip}: its first frame could not be read to measure its colour")
    return scaled(Image.frombytes("RGB", (info.width, info.height), raw[:size]))


def _picture_look(path: Path) -> Look:
    with Image.open(path) as picture:
        return look(scaled(picture))


async def chain_drift(lineage: dict[str, list[str]], clips: dict[str, Path], last_frames: dict[str, Path]
                      ) -> list[ShotDrift]:
    """For every chained shot (`lineage`: shot -> its ancestors, root first) whose files exist, how far its clip's
    end has drifted from its root's start.

    A clip's last frame is read from the provider's lossless last-frame image (`last_frames`), and a chained clip's
    first frame is its parent's last (it was handed on unmodified), so only each root's clip is decoded, and only its
    first frame."""
    chained = {shot: above for shot, above in lineage.items() if above}
    roots = sorted({above[0] for above in chained.values() if above[0] in clips})
    starts = dict(zip(roots, await run_together(first_frame(clips[r]) for r in roots), strict=True))
    root_looks = {r: await asyncio.to_thread(look, frame) for r, frame in starts.items()}
    ends: dict[str, Look] = {}

    async def end_of(shot: str) -> Look | None:
        if shot not in ends and shot in last_frames and last_frames[shot].is_file():
            ends[shot] = await asyncio.to_thread(_picture_look, last_frames[shot])
        return ends.get(shot)

    found = []
    for shot, above in chained.items():
        root = root_looks.get(above[0])
        end, start = await end_of(shot), await end_of(above[-1])
        if root is None or end is None or start is None:
            continue
        delta, sharp = drifted(root, end)
        found.append(ShotDrift(shot, above[0], len(above), round(delta, 2), round(sharp, 3), start, end))
    return found


def drift_report(found: list[ShotDrift]) -> dict[str, object]:
    """report.json's `drift` section: per chained shot, its figures against its chain's root.

    No verdict yet: the thresholds a chain is judged by are to be set from measurements of chains with and without
    drift (issue 16), and a verdict from guessed ones would fire on ordinary motion (a zoom softens a picture too)."""
    return {"shots": [asdict(d) for d in found]}
