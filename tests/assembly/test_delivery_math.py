"""The delivery's arithmetic, checked against ffmpeg itself: how many frames a film has at 25 and 30 fps, which
source frame each delivered frame shows, where a seam lands; and the size presets' frames."""

from __future__ import annotations

import subprocess

import pytest

from orchestrator.assembly.ffmpeg import Delivery
from orchestrator.assembly.presets import preset_size
from orchestrator.binaries import ffmpeg_binary


def _shown(frames: int, fps: int) -> list[int]:
    """Which source frame (24 fps) each output frame of ffmpeg's fps filter shows: every source frame is a
    distinct grey level, so it can be recognised in the output."""
    source = f"color=s=32x16:r=24,format=gray,geq=lum='N',trim=end_frame={frames},setpts=PTS-STARTPTS"
    raw = subprocess.run([ffmpeg_binary(), "-v", "error", "-f", "lavfi", "-i", source, "-vf", f"fps={fps}",
                          "-f", "rawvideo", "-pix_fmt", "gray", "-"], check=True, capture_output=True).stdout
    return [raw[i * 512] for i in range(len(raw) // 512)]


@pytest.mark.parametrize("fps", [25, 30])
@pytest.mark.parametrize("frames", [2, 12, 97, 98, 108, 241])
def test_frame_counts_and_the_frames_shown_are_ffmpegs(fps: int, frames: int) -> None:
    shown = _shown(frames, fps)
    delivery = Delivery(fps=fps)
    assert len(shown) == delivery.frames(frames)
    expected = [max(j for j in range(frames) if delivery.tick(j) <= k) for k in range(len(shown))]
    assert shown == expected
    for seam in range(1, frames):  # a seam's first frame shows first where `position` says, after the frame before
        at = delivery.position(seam)
        assert at is not None and shown[at] == seam and shown[at - 1] == seam - 1


def test_a_trim_keeps_its_frames_and_places_seams_from_its_in_point() -> None:
    cut = Delivery(start=24, end=156)
    assert (cut.kept(290), cut.frames(290), cut.changes_picture) == (132, 132, True)
    assert [cut.position(f) for f in (23, 24, 97, 155, 156)] == [None, 0, 73, 131, None]
    assert Delivery(start=24).kept(290) == 266 and Delivery(end=400).kept(290) == 290
    assert not Delivery().changes_picture and Delivery().frames(290) == 290


@pytest.mark.parametrize(("size", "preset", "frame"), [
    ((864, 496), "1080p", (1920, 1080)),  # the provider's 54:31 is nearest 16:9
    ((864, 496), "720p", (1280, 720)),
    ((496, 864), "720p", (720, 1280)),
    ((640, 640), "1080p", (1080, 1080)),
    ((752, 560), "720p", (960, 720)),  # 4:3
    ((992, 432), "1080p", (2520, 1080)),  # 21:9
    ((864, 496), "source", (864, 496)),
])
def test_a_preset_is_the_standard_frame_nearest_the_films_shape(size: tuple[int, int], preset: str,
                                                                frame: tuple[int, int]) -> None:
    assert preset_size(*size, preset) == frame
