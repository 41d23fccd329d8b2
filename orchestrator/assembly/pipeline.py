"""One output from its clips: decide the geometry and which joins are chained (pure), normalise every clip in
parallel up to the core count, join, verify."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from orchestrator.assembly.join import Film, join
from orchestrator.assembly.normalize import Intermediate, normalize
from orchestrator.assembly.probe import ClipInfo, probe


@dataclass(frozen=True)
class OutputClip:
    """One entry of an output: the shot, its clip, and whether it starts on the previous entry's last frame."""

    shot_id: str
    path: Path
    chained: bool  # the previous entry is its parent and handed over its last frame as this clip's first frame


@dataclass(frozen=True)
class AssembledOutput:
    """The film plus what went into it, for the report."""

    film: Film
    parts: tuple[Intermediate, ...]
    width: int
    height: int


def output_size(infos: list[ClipInfo]) -> tuple[int, int]:
    """The size most of the film's frames already have (ties: the larger), so the fewest frames are rescaled."""
    weight: Counter[tuple[int, int]] = Counter()
    for info in infos:
        weight[(info.width, info.height)] += info.frames
    return max(weight, key=lambda size: (weight[size], size[0] * size[1]))


async def assemble_output(clips: list[OutputClip], dest: Path, cache_dir: Path,
                          workers: int | None = None) -> AssembledOutput:
    """Make one film from its clips; chained entries drop their repeated first frame."""
    infos = await asyncio.gather(*(probe(c.path) for c in clips))
    width, height = output_size(list(infos))
    limit = asyncio.Semaphore(workers or os.cpu_count() or 2)

    async def one(clip: OutputClip, info: ClipInfo) -> Intermediate:
        async with limit:
            return await normalize(clip.path, width, height, clip.chained, cache_dir, info)

    parts = await asyncio.gather(*(one(c, i) for c, i in zip(clips, infos, strict=True)))
    film = await join(list(parts), dest)
    return AssembledOutput(film, tuple(parts), width, height)
