"""Chains of shots as drift and the colour anchor see them, and the pictures they compare.

A chained shot starts on its parent's last frame, so its look is held to its chain's **reference**: the first frame
of the chain's first shot, or, where a shot of the chain ends on a keyframe (`last_frame`, an image the producer
chose), that shot's last frame as the provider returned it (ending on the keyframe), which the shots after it
continue from. Each shot's own end is its last frame as the provider returned it (a lossless image), so only a
reference that is a clip's first frame is decoded, and only that frame.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from orchestrator.assembly.errors import AssemblyError
from orchestrator.assembly.ffmpeg import first_frame_args
from orchestrator.assembly.memo import FileMemo
from orchestrator.assembly.probe import probe
from orchestrator.assembly.process import run_ffmpeg_stdout, run_together

Frame = npt.NDArray[np.uint8]  # height x width x 3, RGB (sRGB)

LOOK_WIDTH = 640  # pictures are compared at this width, so figures of 480p and 1080p clips mean the same

_pictures: FileMemo[Frame] = FileMemo()


@dataclass(frozen=True)
class Chains:
    """Every shot's parent (`after`) and the shots that end on a keyframe."""

    parents: dict[str, str | None]
    keyframed: frozenset[str] = frozenset()

    def reference(self, shot: str) -> str:
        """The shot whose picture `shot` is held to: its chain's first shot, or the nearest keyframed shot above
        it (itself, when it is keyframed)."""
        seen = {shot}
        while shot not in self.keyframed and (parent := self.parents.get(shot)) is not None and parent not in seen:
            seen.add(parent)
            shot = parent
        return shot

    def members(self) -> list[str]:
        """Shots in a chain (with a parent or a child), in the order given."""
        children = {p for p in self.parents.values() if p is not None}
        return [s for s, p in self.parents.items() if p is not None or s in children]

    def lineage(self) -> dict[str, list[str]]:
        """Each shot held to another's picture: the shots from its reference down to its parent (counted as the
        depth guard counts links, `storyboard.chains.chain_links`)."""
        found: dict[str, list[str]] = {}
        for shot in self.parents:
            above: list[str] = []
            node = shot
            while node not in self.keyframed and (parent := self.parents.get(node)) is not None \
                    and len(above) <= len(self.parents):
                above.append(parent)
                node = parent
            if above:
                found[shot] = above[::-1]
        return found

    def reference_is_end(self, shot: str) -> bool:
        """Whether a reference shot's picture is its last frame (a keyframe) rather than its first."""
        return shot in self.keyframed


@dataclass(frozen=True)
class ChainPictures:
    """The pictures chains are compared by, at LOOK_WIDTH: each reference's, and each member's last frame."""

    references: dict[str, Frame]
    ends: dict[str, Frame]


STATS_WIDTH = 160  # colour statistics need far fewer pixels than sharpness: a sixteenth of the work
LUMA_WEIGHTS = (0.2126, 0.7152, 0.0722)  # BT.709, the clips' colour space


def reduced(frame: Frame, width: int = STATS_WIDTH) -> Frame:
    """A picture reduced to `width` (box filter: its mean colour is unchanged, its spread nearly so)."""
    height = max(1, round(frame.shape[0] * width / frame.shape[1]))
    return np.asarray(Image.fromarray(frame).resize((width, height), Image.Resampling.BOX), dtype=np.uint8)


def scaled(picture: Image.Image) -> Frame:
    """A picture as RGB at LOOK_WIDTH (box filter: every source pixel counts once), so pictures compare alike."""
    rgb = picture.convert("RGB")
    height = max(2, round(rgb.height * LOOK_WIDTH / rgb.width))
    return np.asarray(rgb.resize((LOOK_WIDTH, height), Image.Resampling.BOX), dtype=np.uint8)


async def first_frame(clip: Path) -> Frame:
    """A clip's first frame at LOOK_WIDTH (a keyframe: nothing before it is decoded)."""

    async def read() -> Frame:
        info = await probe(clip, decode=False)
        raw = await run_ffmpeg_stdout(first_frame_args(clip))
        size = info.width * info.height * 3
        if len(raw) < size:
            raise AssemblyError(f"{clip}: its first frame could not be read to measure its colour")
        return scaled(Image.frombytes("RGB", (info.width, info.height), raw[:size]))

    return await _pictures.answer(clip, read, "first")


async def picture(path: Path) -> Frame:
    """An image file at LOOK_WIDTH."""

    async def read() -> Frame:
        def load() -> Frame:
            with Image.open(path) as opened:
                return scaled(opened)
        return await asyncio.to_thread(load)

    return await _pictures.answer(path, read, "picture")


async def chain_pictures(chains: Chains, clips: dict[str, Path], last_frames: dict[str, Path],
                         shots: list[str] | None = None) -> ChainPictures:
    """The pictures that exist for `shots` (default: every member): their own ends, their parents' ends (where a
    shot's grade starts), and the references of both. Files not there yet are left out."""
    wanted = chains.members() if shots is None else shots
    parents = {p for s in wanted if (p := chains.parents.get(s)) is not None}
    ends_of = set(wanted) | parents  # a shot's grade starts where its parent's ends
    refs = sorted({chains.reference(s) for s in set(wanted) | parents})
    ends_of |= {r for r in refs if chains.reference_is_end(r)}
    starts = [r for r in refs if not chains.reference_is_end(r) and r in clips and clips[r].is_file()]
    ends = [s for s in sorted(ends_of) if s in last_frames and last_frames[s].is_file()]
    read_starts = await run_together(first_frame(clips[r]) for r in starts)
    read_ends = await run_together(picture(last_frames[s]) for s in ends)
    end_frames = dict(zip(ends, read_ends, strict=True))
    references = dict(zip(starts, read_starts, strict=True))
    references.update({r: end_frames[r] for r in refs if chains.reference_is_end(r) and r in end_frames})
    return ChainPictures(references, end_frames)
