"""A downloaded clip's strict check and its normalisation share one decode (FilmMaker.check), and the journal's rule
still holds: a damaged clip is refused (ClipInvalid), however the normalisation failed, and leaves no intermediate."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from orchestrator.assembly.errors import ClipInvalid
from orchestrator.assembly.ffmpeg import Delivery
from orchestrator.assembly.normalize import normalize
from orchestrator.assembly.pipeline import AssemblySettings, copy_expected
from orchestrator.assembly.probe import probe
from tests.assembly.conftest import Launches, make_clip


def full_decodes(launches: Launches, clip: Path) -> list[list[str]]:
    """Launches that decode the clip to nothing just to check it (a strict probe)."""
    return [argv for argv in launches.naming(clip) if argv[-1] == "-" and "copy" not in argv]


def test_a_24_fps_clip_is_checked_by_its_normalisation_and_never_decoded_again(tmp_path: Path,
                                                                                 launches: Launches) -> None:
    clip = make_clip(tmp_path / "clip.mp4")

    part = asyncio.run(normalize(clip, 320, 180, True, tmp_path / "cache", check=True))
    asyncio.run(probe(clip))  # what the films ask later: already known to decode

    assert part.frames == 120
    assert full_decodes(launches, clip) == []
    (encode,) = [argv for argv in launches.naming(clip) if "-xerror" in argv and "libx264" in argv]
    assert encode[encode.index("-i") - 2:encode.index("-i")] == ["-err_detect", "explode"]


def damage(clip: Path) -> Path:
    """Garbage over a stretch of the middle of the clip's data: the file is whole, its pictures are not."""
    data = bytearray(clip.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4000] = bytes((i * 37 + 11) % 256 for i in range(4000))
    clip.write_bytes(bytes(data))
    return clip


def test_a_damaged_clip_is_refused_by_the_shared_decode_as_by_a_strict_probe(tmp_path: Path) -> None:
    clip = damage(make_clip(tmp_path / "clip.mp4", size="640x360"))
    twin = damage(make_clip(tmp_path / "twin.mp4", size="640x360"))

    with pytest.raises(ClipInvalid):
        asyncio.run(probe(twin))  # the rule as it was: a strict decode refuses it
    with pytest.raises(ClipInvalid, match=r"clip\.mp4"):
        asyncio.run(normalize(clip, 640, 360, True, tmp_path / "cache", check=True))
    assert not any(p.suffix == ".mov" for p in (tmp_path / "cache").glob("*"))


def test_a_clip_at_another_frame_rate_is_strictly_decoded_first(tmp_path: Path, launches: Launches) -> None:
    clip = make_clip(tmp_path / "clip.mp4", frames=125, rate=25)

    asyncio.run(normalize(clip, 320, 180, False, tmp_path / "cache", check=True))

    assert len(full_decodes(launches, clip)) == 1  # the fps filter may end before the last frame is decoded


@pytest.mark.parametrize(("chained", "settings", "graded", "expected"), [
    ([False, False, False], AssemblySettings(loudness_lufs=None), False, True),
    ([False, True, False], AssemblySettings(loudness_lufs=None), False, False),  # a chained join drops a frame
    ([False, False], AssemblySettings(loudness_lufs=-14), False, False),  # loudness is audio work
    ([False, False], AssemblySettings(loudness_lufs=None, transition="crossfade"), False, False),
    ([False], AssemblySettings(loudness_lufs=None, transition="crossfade"), False, True),  # one clip: no join
    ([False, False], AssemblySettings(loudness_lufs=None), True, False),  # the colour anchor grades it
    ([False, False], AssemblySettings(loudness_lufs=None, delivery=Delivery(start=24)), False, False),
])
def test_a_film_expected_to_join_its_originals_by_copy_gets_no_intermediates_ahead(
        chained: list[bool], settings: AssemblySettings, graded: bool, expected: bool) -> None:
    assert copy_expected(chained, settings, graded) is expected
