"""Generated test clips: testsrc2 + sine made by real ffmpeg, small so the suite stays fast."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def make_clip(path: Path, frames: int = 121, size: str = "320x180", audio: bool = True, rate: int = 24,
              tone: int = 440) -> Path:
    """An H.264 clip of exactly `frames` frames, with a mono 48 kHz AAC tone when `audio`."""
    seconds = frames / rate
    argv = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
            "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds + 1}"]
    if audio:
        argv += ["-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000:duration={seconds}"]
    argv += ["-frames:v", str(frames), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    argv += ["-c:a", "aac", "-ac", "1"] if audio else []
    argv.append(str(path))
    subprocess.run(argv, check=True)
    return path
