"""The simulator's drift model (opt-in): each clip drifts along itself, its first frame untouched, so a chain made by
handing on last frames accumulates drift link by link, as practitioners report; with the model off, it does not."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

from orchestrator.assembly.drift import drifted as measured
from orchestrator.assembly.drift import look
from orchestrator.binaries import ffmpeg_binary
from orchestrator.simulator.config import SimConfig
from orchestrator.simulator.drift import NO_DRIFT, Drift, clip_drift, drifted
from orchestrator.simulator.render import RenderJob, render

LINKS = 4


def _chain(folder: Path, config: SimConfig) -> list[Path]:
    """A chain rendered as the provider would: each link starts on the last frame the one before returned."""
    lasts, first = [], None
    for link in range(LINKS):
        prompt = f"link {link}: the camera drifts over a sunlit orchard"
        drift = clip_drift(config.drift_colour, config.drift_contrast, config.drift_blur, 1000 + link, prompt)
        job = RenderJob(width=320, height=176, frames=25, prompt=prompt, seed=1000 + link, first_frame=first,
                        last_frame=None, generate_audio=False, drift=drift)
        result = render(job, folder / f"link{link}")
        lasts.append(result.last_frame_png)
        first = result.last_frame_png.read_bytes()
    return lasts


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_drift_grows_with_every_link_and_not_without_the_model(tmp_path: Path) -> None:
    drifting = _chain(tmp_path / "on", SimConfig.drifting(drift_colour=0.05, drift_blur=0.5))
    still = _chain(tmp_path / "off", SimConfig())
    # The chain's root frame is the first frame of its first link: the last frame of a clip of no drift there.
    root = look(_first_frame(tmp_path / "on" / "link0" / "video.mp4"))
    colour, sharp = zip(*(measured(root, look(_pixels(p))) for p in drifting), strict=True)
    assert all(b > a + 1.0 for a, b in itertools.pairwise(colour)), colour  # grows link by link
    assert all(b < a for a, b in itertools.pairwise(sharp)), sharp  # softer link by link
    assert colour[-1] > 7.0 and sharp[-1] < 0.6
    # Without the model a chain holds its look: the motion ends on the opening framing (moved by whole pixels), so
    # nothing is resampled from link to link. What is left is the root frame's H.264 encoding against lossless PNGs.
    plain = [measured(root, look(_pixels(p))) for p in still]
    assert all(delta < 1.5 and 0.9 < sharpness < 1.3 for delta, sharpness in plain), plain


def _first_frame(video: Path) -> np.ndarray:
    raw = subprocess.run([ffmpeg_binary(), "-v", "error", "-i", str(video), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(176, 320, 3)


def test_the_first_frame_is_untouched_and_the_last_carries_the_whole_drift() -> None:
    frame = Image.fromarray(np.random.default_rng(3).integers(0, 256, (40, 60, 3), dtype=np.uint8))
    drift = Drift(colour=0.05, contrast=0.05, blur=1.0)
    assert drifted(frame, drift, 0.0) is frame and drifted(frame, NO_DRIFT, 1.0) is frame
    half, whole = (np.asarray(drifted(frame, drift, p), dtype=np.float64) for p in (0.5, 1.0))
    red_blue = [float(x[..., 0].mean() - x[..., 2].mean()) for x in (np.asarray(frame, dtype=np.float64), half, whole)]
    assert red_blue[0] < red_blue[1] < red_blue[2]  # warmer as the clip goes on
    assert clip_drift(0.03, 0.03, 0.6, 5, "p") == clip_drift(0.03, 0.03, 0.6, 5, "p")  # fixed by seed and prompt
    assert clip_drift(0.03, 0.03, 0.6, 5, "p") != clip_drift(0.03, 0.03, 0.6, 6, "p")
    assert not clip_drift(0.0, 0.0, 0.0, 5, "p").active
