"""Generated test clips: testsrc2 + sine made by real ffmpeg, small so the suite stays fast; a spy on the ffmpegs
assembly starts."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestrator.binaries import bundled_ffmpeg

FFMPEG = bundled_ffmpeg()  # test clips and measurements: always the bundled build, whichever one assembles


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


@dataclass
class Launches:
    """Every ffmpeg started while the `launches` fixture is active: its argv, and the most running at once."""

    argv: list[list[str]] = field(default_factory=list)
    running: int = 0
    most: int = 0
    _watchers: list[asyncio.Task[None]] = field(default_factory=list)

    def naming(self, *paths: Path) -> list[list[str]]:
        """The launches whose argv names any of `paths`."""
        names = {str(p) for p in paths}
        return [argv for argv in self.argv if names & set(argv)]

    def using(self, word: str) -> list[list[str]]:
        """The launches with `word` in any argument."""
        return [argv for argv in self.argv if any(word in arg for arg in argv)]


@pytest.fixture
def launches(monkeypatch: pytest.MonkeyPatch) -> Launches:
    """Spy on asyncio's process start (the only way assembly starts ffmpeg) and count what runs at once."""
    seen = Launches()
    real = asyncio.create_subprocess_exec

    async def spy(*argv: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        process = await real(*argv, **kwargs)
        seen.argv.append([str(a) for a in argv])
        seen.running += 1
        seen.most = max(seen.most, seen.running)

        async def watch() -> None:
            await process.wait()
            seen.running -= 1

        seen._watchers.append(asyncio.get_running_loop().create_task(watch()))
        return process

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spy)
    return seen


def running_with(marker: str) -> list[int]:
    """Pids of live processes (not zombies) whose command line contains `marker` (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def video_times(path: Path) -> tuple[int, list[int]]:
    """The film's video time base denominator and its frames' presentation times, in order (framecrc of a copy)."""
    out = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc",
                          "-"], capture_output=True, text=True, check=True).stdout
    base = next(int(line.split("/")[1]) for line in out.splitlines() if line.startswith("#tb 0:"))
    return base, sorted(int(line.split(",")[2]) for line in out.splitlines() if not line.startswith("#"))


def decoded_samples(path: Path) -> int:
    """Samples of the first audio stream as a player decodes it (priming and padding removed)."""
    raw = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-f", "s16le", "-"],
                         capture_output=True, check=True).stdout
    return len(raw) // 2


def logging_alias(path: Path, real: str, hide: str | None = None) -> Path:
    """A shell script standing in for `real` ffmpeg: it logs each command line to `<path>.log` and runs the real
    binary; with `hide`, the `-filters` listing leaves out that filter (an ffmpeg built without it)."""
    log = path.with_name(path.name + ".log")
    body = f'echo "$@" >> "{log}"\n'
    if hide is not None:
        body += (f'case " $* " in *" -filters "*) "{real}" "$@" | grep -v " {hide} "; exit 0;; esac\n')
    path.write_text(f"#!/bin/sh\n{body}exec \"{real}\" \"$@\"\n")
    path.chmod(0o755)
    return path
