"""Where the ffmpeg binary is: one lookup for the assembly and the simulator, so both follow the same setting.

The policy: the build the imageio-ffmpeg wheel ships, unless ORCHESTRATOR_FFMPEG names another. A user's own ffmpeg
is used by explicit choice only, never because it happens to be first on PATH: builds differ in ways that change
films (see README, "ffmpeg"), and the bundled one is the build the suite is tested against by default.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from importlib import resources
from typing import Literal

SETTING = "ORCHESTRATOR_FFMPEG"
Source = Literal["bundled", "ORCHESTRATOR_FFMPEG"]


@dataclass(frozen=True)
class FfmpegChoice:
    """The binary in use and why: `setting` is what ORCHESTRATOR_FFMPEG said, when it chose."""

    path: str
    source: Source
    setting: str | None = None


def ffmpeg_choice() -> FfmpegChoice:
    """ORCHESTRATOR_FFMPEG (a path, or a bare name looked up on PATH), else the imageio-ffmpeg wheel's binary.

    Looked up on every call (a PATH scan is nothing beside starting ffmpeg), so a changed setting applies at once.
    A name not found on PATH is returned as given: starting it fails, and the capability check says why.
    """
    configured = os.environ.get(SETTING)
    if configured:
        found = configured if os.sep in configured else shutil.which(configured)
        return FfmpegChoice(found or configured, "ORCHESTRATOR_FFMPEG", configured)
    return FfmpegChoice(bundled_ffmpeg(), "bundled")


def ffmpeg_binary() -> str:
    """The path of the ffmpeg to run (`ffmpeg_choice().path`)."""
    return ffmpeg_choice().path


def bundled_ffmpeg() -> str:
    """The binary inside the imageio-ffmpeg wheel, found in its package folder.

    Not `imageio_ffmpeg.get_ffmpeg_exe()`: that honours IMAGEIO_FFMPEG_EXE and falls back to `ffmpeg` on PATH, the
    silent choices this policy rules out. A wheel without a binary for this platform gives a path that does not
    exist, which the capability check refuses by name."""
    folder = resources.files("imageio_ffmpeg") / "binaries"
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.startswith("ffmpeg-"))
    return str(folder / (names[-1] if names else "ffmpeg-missing-for-this-platform"))
