"""Posters for the review report: the first frame of each clip and film as a small JPEG, made once.

A poster is made again only when its video is newer (a re-downloaded clip, a remade film). A video ffmpeg cannot
read gets no poster; the page then shows the player alone, and the run or check that reads the video says why.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from orchestrator.assembly.errors import AssemblyError
from orchestrator.assembly.ffmpeg import poster_args
from orchestrator.assembly.process import run_ffmpeg, run_together
from orchestrator.assembly.temp import temporary


@dataclass(frozen=True)
class Poster:
    """A poster to have: the video, the JPEG, its width."""

    src: Path
    dest: Path
    width: int

    @property
    def current(self) -> bool:
        """Made from the video as it is now."""
        return self.dest.is_file() and self.dest.stat().st_mtime_ns >= self.src.stat().st_mtime_ns


async def make_posters(posters: list[Poster]) -> None:
    """Make every poster that is missing or older than its video (in parallel, within the ffmpeg limit)."""
    await run_together(_make(p) for p in posters if p.src.is_file() and not p.current)


async def _make(poster: Poster) -> None:
    poster.dest.parent.mkdir(parents=True, exist_ok=True)
    with temporary(poster.dest, ".part.jpg") as tmp, contextlib.suppress(AssemblyError):
        await run_ffmpeg(poster_args(poster.src, tmp, poster.width))
        tmp.replace(poster.dest)
