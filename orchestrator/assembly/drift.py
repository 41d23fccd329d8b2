"""How a picture looks, for drift along chains: colour in CIELAB (mean and spread) and a sharpness figure, and the
CIEDE2000 colour difference between two looks.

Last-frame chaining starts every generation on a frame that was already generated, so colour and detail drift link by
link, and the seam check (which compares the two frames at a join) passes it by construction: drift shows only
against the chain's root. The colour science (sRGB to CIE XYZ to CIELAB under D65, and CIEDE2000) is colour-science's,
not ours: its CIEDE2000 is tested against Sharma, Wu and Dalal's reference pairs. colour-science needs numpy only, where
scikit-image would bring scipy; it takes over a second to load, so a run with chains loads it in the background while
its shots generate (`preload`).
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import asdict, dataclass
from functools import cache
from types import ModuleType

import numpy as np
import numpy.typing as npt

from orchestrator.assembly.anchor import graded
from orchestrator.assembly.chains import LUMA_WEIGHTS, ChainPictures, Chains, Frame, reduced
from orchestrator.assembly.grading import Grade

_LUMA = np.array(LUMA_WEIGHTS)


@dataclass(frozen=True)
class Look:
    """One frame's colour (CIELAB D65: mean and standard deviation of L*, a*, b*) and sharpness."""

    lab_mean: tuple[float, float, float]
    lab_std: tuple[float, float, float]
    sharpness: float  # variance of the 4-neighbour Laplacian of luma (0..255) at LOOK_WIDTH


# colour-science warns, on import, of optional packages it would use for features we do not (SciPy, Matplotlib).
# A filter for those messages alone, set once: catch_warnings would swap the process's filters from the thread that
# preloads it, and two threads doing so can leave every warning ignored.
warnings.filterwarnings("ignore", message=r'".*" related API features are not available')
_loading = threading.Lock()


@cache
def _colour() -> ModuleType:
    with _loading:
        import colour
    return colour


def preload() -> None:
    """Load colour-science in the background (1.5-2 s of CPU): a run with chains starts it while its shots generate,
    so the drift measured after the films does not wait for it."""
    threading.Thread(target=_colour, name="colour-science", daemon=True).start()


def to_lab(rgb: npt.NDArray[np.floating] | npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """sRGB values (0..255, any shape ending in 3) as CIELAB under D65."""
    colour = _colour()
    xyz = colour.sRGB_to_XYZ(np.asarray(rgb, dtype=np.float64) / 255.0)
    return np.asarray(colour.XYZ_to_Lab(xyz), dtype=np.float64)


def look(frame: Frame) -> Look:
    """The look of a frame (RGB, at LOOK_WIDTH: sharpness depends on the width). The colour is taken from the frame
    reduced to STATS_WIDTH (`chains.reduced`)."""
    small = reduced(frame)
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


DELTA_E_LIMIT = 5.0
SHARPNESS_LIMIT = 0.6


@dataclass(frozen=True)
class ShotDrift:
    """One chained shot's drift from its chain's reference: its clip's last frame against the reference picture."""

    shot: str
    root: str  # the chain's reference shot (its first shot, or the last keyframed shot above)
    link: int  # 1 for the root's child, 2 for its grandchild, ...
    delta_e: float  # CIEDE2000 of the mean colours
    sharpness: float  # relative to the reference picture's
    start: Look  # this clip's first frame (its parent's last)
    end: Look  # this clip's last frame
    anchored_delta_e: float | None = None  # delta_e of the last frame as the films show it, with the colour anchor

    @property
    def over(self) -> list[str]:
        """Which limits the shot passes: colour (in the films: after the anchor's grade, when on), sharpness."""
        colour = self.delta_e if self.anchored_delta_e is None else self.anchored_delta_e
        return [name for name, past in (("colour", colour > DELTA_E_LIMIT), ("sharpness",
                                         self.sharpness < SHARPNESS_LIMIT)) if past]


def chain_drift(chains: Chains, pictures: ChainPictures, grades: dict[str, Grade] | None = None) -> list[ShotDrift]:
    """For every chained shot whose pictures exist, how far its clip's end has drifted from its chain's reference
    (`chains.lineage`); with `grades` (the colour anchor on), also how far the end the films show has."""
    looks = {s: look(f) for s, f in pictures.ends.items()}
    references = {s: look(f) for s, f in pictures.references.items()}
    found = []
    for shot, above in chains.lineage().items():
        root, end, start = references.get(above[0]), looks.get(shot), looks.get(above[-1])
        if root is None or end is None or start is None:
            continue
        delta, sharp = drifted(root, end)
        anchored = None
        if grades is not None:
            grade = grades.get(shot)
            shown = graded(pictures.ends[shot], grade.end) if grade else pictures.ends[shot]
            anchored = round(drifted(root, look(shown))[0], 2)
        found.append(ShotDrift(shot, above[0], len(above), round(delta, 2), round(sharp, 3), start, end, anchored))
    return found


def drift_report(found: list[ShotDrift], anchor: str = "off") -> dict[str, object]:
    """report.json's `drift` section: the limits, each chained shot's figures against its chain's reference, and
    each chain's worst (a chain: its reference shot and every shot held to it)."""
    return {
        "limits": {"delta_e": DELTA_E_LIMIT, "sharpness": SHARPNESS_LIMIT},
        "anchor": anchor,
        "shots": [{**asdict(d), "over": d.over} for d in found],
        "chains": [_chain(root, shots) for root, shots in _by_root(found).items()],
    }


def _chain(root: str, shots: list[ShotDrift]) -> dict[str, object]:
    anchored = [d.anchored_delta_e for d in shots if d.anchored_delta_e is not None]
    return {"root": root, "shots": [d.shot for d in shots], "links": max(d.link for d in shots),
            "delta_e": max(d.delta_e for d in shots), "sharpness": min(d.sharpness for d in shots),
            "anchored_delta_e": max(anchored) if anchored else None,
            "over": [k for k in ("colour", "sharpness") if any(k in d.over for d in shots)]}


def drift_warnings(found: list[ShotDrift], anchor: str = "off") -> list[str]:
    """One line per chain that passes a limit: where, by how much, and what would help."""
    lines = []
    for root, shots in _by_root(found).items():
        colour = next((d for d in shots if "colour" in d.over), None)
        sharp = next((d for d in shots if "sharpness" in d.over), None)
        if colour is not None:
            shown = colour.delta_e if colour.anchored_delta_e is None else colour.anchored_delta_e
            fix = ("give a shot before it a last_frame keyframe, or start a new chain" if anchor == "root" else
                   f"set assembly.color_anchor: root to grade the chain back toward {root}'s picture in the films")
            lines.append(f"chain from {root}: colour drifts past the limit at {colour.shot} (link {colour.link}): "
                         f"CIEDE2000 {shown:.1f} from {root}'s picture (limit {DELTA_E_LIMIT:g}); {fix}")
        if sharp is not None:
            lines.append(f"chain from {root}: detail softens past the limit at {sharp.shot} (link {sharp.link}): "
                         f"sharpness {sharp.sharpness:.2f} of {root}'s (limit {SHARPNESS_LIMIT:g}); give a shot "
                         "before it a last_frame keyframe, or start a new chain (a shot without after)")
    return lines


def _by_root(found: list[ShotDrift]) -> dict[str, list[ShotDrift]]:
    by_root: dict[str, list[ShotDrift]] = {}
    for d in sorted(found, key=lambda d: d.link):
        by_root.setdefault(d.root, []).append(d)
    return by_root
