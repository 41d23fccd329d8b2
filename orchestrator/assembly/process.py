"""Runs ffmpeg: the only module that starts processes for assembly (DESIGN.md §10 rule 8)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from orchestrator.assembly.errors import FfmpegFailed
from orchestrator.binaries import ffmpeg_binary

__all__ = ["ffmpeg_binary", "ffmpeg_version", "run_ffmpeg", "run_ffmpeg_stdout"]


async def run_ffmpeg(args: Sequence[str]) -> str:
    """Run `ffmpeg ARGS`; return its stderr (where it reports); raise FfmpegFailed on a non-zero exit."""
    _, stderr = await _run(args, capture_stdout=False)
    return stderr


async def run_ffmpeg_stdout(args: Sequence[str]) -> bytes:
    """Run `ffmpeg ARGS` and return what it writes to stdout (raw samples or frames); FfmpegFailed on failure."""
    stdout, _ = await _run(args, capture_stdout=True)
    return stdout


_version: str | None = None


async def ffmpeg_version() -> str:
    """The first line of `ffmpeg -version`: intermediates made by another build are not reused."""
    global _version
    if _version is None:
        out, _ = await _run(["-version"], capture_stdout=True)
        _version = out.decode("utf-8", errors="replace").splitlines()[0] if out else "unknown"
    return _version


async def _run(args: Sequence[str], *, capture_stdout: bool) -> tuple[bytes, str]:
    argv = [ffmpeg_binary(), *args]
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE if capture_stdout else asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:  # no such binary, not executable: ORCHESTRATOR_FFMPEG points somewhere wrong
        raise FfmpegFailed(argv, -1, f"cannot start ffmpeg: {exc}") from exc
    try:
        out, err = await process.communicate()
    except asyncio.CancelledError:
        process.kill()  # a cancelled assembly must not leave ffmpeg writing behind it
        await process.wait()
        raise
    stderr = err.decode("utf-8", errors="replace")
    if process.returncode != 0:
        raise FfmpegFailed(argv, process.returncode or -1, stderr)
    return out or b"", stderr
