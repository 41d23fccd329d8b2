"""Where the ffmpeg binary is: one lookup for the assembly and the simulator, so both follow the same setting."""

from __future__ import annotations

import os
import shutil


def ffmpeg_binary() -> str:
    """ORCHESTRATOR_FFMPEG, else `ffmpeg` on PATH, else the binary the imageio-ffmpeg wheel ships.

    Looked up on every call (a PATH scan is nothing beside starting ffmpeg), so a changed setting applies at once.
    """
    configured = os.environ.get("ORCHESTRATOR_FFMPEG")
    if configured:
        return configured
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    import imageio_ffmpeg  # only when needed: it locates its bundled binary on import

    return str(imageio_ffmpeg.get_ffmpeg_exe())
