"""Card clips: still pictures held for an exact number of frames, encoded like a generated clip (H.264 yuv420p,
24 fps, no sound), so the assembly treats a card as it treats the clip it stands in for.

The argv is built here, pure, of ffmpeg-python nodes (`command`), and run by `process`. Each picture reaches ffmpeg
as one raw rgb24 frame (written from the picture by the caller) that `tpad` repeats: rawvideo, tpad and concat are
already in the capability check's table (`capability.REQUIRED`), so a card needs nothing of ffmpeg that a film does
not (a PNG input would need the png decoder and the image2 demuxer, which the check does not ask for).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from orchestrator.assembly.command import Input, Option, Output, command, concat
from orchestrator.assembly.errors import ClipInvalid
from orchestrator.assembly.ffmpeg import BITEXACT, FPS, QUIET, VIDEO_CODEC
from orchestrator.assembly.probe import probe
from orchestrator.assembly.process import run_ffmpeg
from orchestrator.assembly.temp import temporary

CLIP: dict[str, Option] = {**VIDEO_CODEC, "fflags": BITEXACT["fflags"], "flags:v": BITEXACT["flags:v"],
                           "map_metadata": BITEXACT["map_metadata"], "f": "mp4"}  # the format: dest is a temp name


@dataclass(frozen=True)
class Hold:
    """One still of a card, as a raw rgb24 frame of the card's size, and how many frames it is shown."""

    raw: Path
    frames: int


def card_args(holds: Sequence[Hold], width: int, height: int, dest: Path) -> list[str]:
    """Each still shown for its frames, one after the other, at 24 fps: exactly their sum of frames, no audio."""
    if not holds or any(h.frames < 1 for h in holds):
        raise ValueError("a card needs at least one still, each shown for at least one frame")
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"a card needs even, positive sides (yuv420p), not {width}x{height}")
    stills = [Input(h.raw, f="rawvideo", pix_fmt="rgb24", s=f"{width}x{height}", framerate=FPS)["v:0"]
              .filter("tpad", stop_mode="clone", stop=h.frames - 1) for h in holds]
    video = stills[0] if len(stills) == 1 else concat(stills, video=1, audio=0)
    video = video.filter("setsar", 1).filter("format", "yuv420p")
    total = sum(h.frames for h in holds)
    return command([Output([video], dest, {**CLIP, "frames:v": total})], QUIET)


async def make_card(pictures: Sequence[tuple[Path, int]], width: int, height: int, dest: Path) -> None:
    """Write the card clip `dest` from `pictures` (image files of exactly `width`x`height`, each with its frames),
    and check by a strict decode that it has exactly their frames; ClipInvalid naming it when not."""
    if not 1 <= len(pictures) <= 2:
        raise ValueError(f"a card holds one or two stills, not {len(pictures)}")
    with temporary(dest) as first, temporary(dest) as second:
        raws = [first, second][:len(pictures)]
        for (picture, _), raw in zip(pictures, raws, strict=True):
            await asyncio.to_thread(_raw_frame, picture, raw, width, height)
        holds = [Hold(raw, frames) for raw, (_, frames) in zip(raws, pictures, strict=True)]
        await run_ffmpeg(card_args(holds, width, height, dest))
    made = await probe(dest)
    wanted = sum(frames for _, frames in pictures)
    if made.frames != wanted or (made.width, made.height) != (width, height) or made.has_audio:
        raise ClipInvalid(dest, f"card came out {made.width}x{made.height}, {made.frames} frames"
                          f"{', with sound' if made.has_audio else ''}; expected {width}x{height}, {wanted} frames, "
                          "no sound")


def _raw_frame(picture: Path, raw: Path, width: int, height: int) -> None:
    with Image.open(picture) as image:
        if image.size != (width, height):
            raise ValueError(f"{picture}: {image.size[0]}x{image.size[1]}, not the card's {width}x{height}")
        raw.write_bytes(image.convert("RGB").tobytes())
