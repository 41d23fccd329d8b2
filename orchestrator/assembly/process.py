"""Runs ffmpeg: the only module that starts processes for assembly (DESIGN.md §10 rule 8)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Sequence
from functools import cache

from orchestrator.assembly.errors import FfmpegFailed


@cache
def ffmpeg_binary() -> str:
    """ORCHESTRATOR_FFMPEG, else `ffmpeg` on PATH, else the binary the imageio-ffmpeg wheel ships."""
    configured = os.environ.get("ORCHESTRATOR_FFMPEG")
    if configured:
        return configured
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    import imageio_ffmpeg  # only when needed: it locates its bundled binary on import

    return str(imageio_ffmpeg.get_ffmpeg_exe())


async def run_ffmpeg(args: Sequence[str]) -> str:
    """Run `ffmpeg ARGS`; return its stderr (where it reports); raise FfmpegFailed on a non-zero exit."""
    _, stderr = await _run(args, capture_stdout=False)
    return stderr


async def run_ffmpeg_stdout(args: Sequence[str]) -> bytes:
    """Run `ffmpeg ARGS` and return what it writes to stdout (raw samples or frames); FfmpegFailed on failure."""
    stdout, _ = await _run(args, capture_stdout=True)
    return stdout


async def _run(args: Sequence[str], *, capture_stdout: bool) -> tuple[bytes, str]:
    argv = [ffmpeg_binary(), *args]
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE if capture_stdout else asyncio.subprocess.DEVNULL,
    )
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
