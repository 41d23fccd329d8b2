"""A film's size given by the caller, and clips normalised early in the same process (as the engine does when
each clip arrives) joined later without probing, hashing or encoding them again; a changed file is looked at
anew, and the memory is bounded."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from orchestrator.assembly import cache as cache_module
from orchestrator.assembly.films import assemble_films
from orchestrator.assembly.memo import FileMemo
from orchestrator.assembly.normalize import normalize
from orchestrator.assembly.pipeline import AssemblySettings, OutputClip, assemble_output, output_geometry
from orchestrator.assembly.probe import probe
from tests.assembly.conftest import Launches, make_clip


@pytest.mark.parametrize(("items", "size"), [
    ([(1280, 720, 121)], (1280, 720)),
    ([(1280, 720, 121), (720, 1280, 121), (720, 1280, 1)], (720, 1280)),  # most frames
    ([(1280, 720, 100), (864, 496, 100)], (1280, 720)),  # a tie: the larger
    ([(864, 496, 100), (1280, 720, 100)], (1280, 720)),  # whatever the order
    ([(321, 181, 10), (320, 180, 5)], (320, 180)),  # even sides
])
def test_output_geometry_is_the_size_most_frames_have(items: list[tuple[int, int, int]],
                                                      size: tuple[int, int]) -> None:
    assert output_geometry(items) == size


def test_a_given_size_wins_over_the_clips(tmp_path: Path) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=24, tone=300 + 100 * i) for i in range(2)]
    entries = [OutputClip(f"s{i}", c, False) for i, c in enumerate(clips)]
    out = asyncio.run(assemble_output(entries, tmp_path / "f.mp4", tmp_path / "cache", size=(256, 144)))
    assert (out.width, out.height) == (256, 144)
    assert not out.fast_path  # alike originals, but not of the film's size: they are scaled, not copied
    info = asyncio.run(probe(out.film.path))
    assert (info.width, info.height, info.frames) == (256, 144, 48)
    with pytest.raises(ValueError, match="even"):
        asyncio.run(assemble_output(entries, tmp_path / "g.mp4", tmp_path / "cache", size=(255, 144)))


def test_assemble_films_takes_each_outputs_size(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", frames=24)
    outputs = {"small": [OutputClip("a", clip, False)], "own": [OutputClip("a", clip, False)]}
    films = asyncio.run(assemble_films(outputs, tmp_path / "run", tmp_path / "cache", sizes={"small": (160, 90)}))
    assert [(f.width, f.height) for f in films.films.values()] == [(160, 90), (320, 180)]


def test_clips_normalised_early_are_joined_without_probing_hashing_or_encoding_again(
        tmp_path: Path, launches: Launches, monkeypatch: pytest.MonkeyPatch) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=24, tone=300 + 100 * i) for i in range(3)]
    cache = tmp_path / "cache"

    async def engine() -> None:
        for i, clip in enumerate(clips):  # as each clip is downloaded
            await normalize(clip, 320, 180, i > 0, cache)

    asyncio.run(engine())
    assert len(launches.naming(*clips)) == 2 * 3  # a strict probe and an encode each
    launches.argv.clear()
    hashed: list[Path] = []
    real_hash = cache_module.sha256_file
    monkeypatch.setattr(cache_module, "sha256_file", lambda p: hashed.append(p) or real_hash(p))
    entries = [OutputClip(f"s{i}", c, chained=i > 0) for i, c in enumerate(clips)]
    out = asyncio.run(assemble_output(entries, tmp_path / "f.mp4", cache, size=(320, 180)))
    assert all(p.reused for p in out.parts) and out.film.frames == 3 * 24 - 2
    assert launches.naming(*clips, *(p.path for p in out.parts)) == []  # no probe, decode or encode of them
    assert hashed == []  # neither the clips nor the cached intermediates were hashed again
    assert len(launches.argv) == 3  # the join, and the film's packet check and audio count


def test_a_changed_clip_is_probed_and_normalised_anew(tmp_path: Path) -> None:
    clip, cache = tmp_path / "c.mp4", tmp_path / "cache"

    async def scenario() -> tuple[int, int, int, int]:
        make_clip(clip, frames=24)
        first = await normalize(clip, 320, 180, False, cache)
        make_clip(tmp_path / "other.mp4", frames=30)
        clip.write_bytes((tmp_path / "other.mp4").read_bytes())  # in place: the same path, other bytes
        probed = await probe(clip, decode=False)
        second = await normalize(clip, 320, 180, False, cache)
        return first.frames, probed.frames, second.frames, second.reused

    assert asyncio.run(scenario()) == (24, 30, 30, False)


def test_a_damaged_intermediate_is_not_taken_from_memory(tmp_path: Path) -> None:
    clip, cache = make_clip(tmp_path / "c.mp4", frames=24), tmp_path / "cache"

    async def scenario() -> tuple[bool, bool]:
        first = await normalize(clip, 320, 180, False, cache)
        data = bytearray(first.path.read_bytes())
        data[len(data) // 2] ^= 0xFF  # one flipped bit, same size
        first.path.write_bytes(bytes(data))
        stamp = first.path.stat()
        os.utime(first.path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1))  # whatever the clock's granularity
        again = await normalize(clip, 320, 180, False, cache)
        return first.reused, again.reused

    assert asyncio.run(scenario()) == (False, False)


def test_the_memory_keeps_only_the_most_recently_used(tmp_path: Path) -> None:
    memo: FileMemo[int] = FileMemo(entries=2)
    files = [tmp_path / f"{i}.txt" for i in range(3)]
    for i, file in enumerate(files):
        file.write_text(str(i))
        memo.put(file, i)
        memo.get(files[0])  # the first stays in use
    assert len(memo) == 2
    assert (memo.get(files[0]), memo.get(files[1]), memo.get(files[2])) == (0, None, 2)
    files[2].write_text("22")
    assert memo.get(files[2]) is None


def test_two_callers_asking_for_one_intermediate_at_once_share_one_encode(tmp_path: Path,
                                                                          launches: Launches) -> None:
    clip, cache = make_clip(tmp_path / "c.mp4", frames=24), tmp_path / "cache"

    async def both() -> list[bool]:
        parts = await asyncio.gather(*(normalize(clip, 320, 180, False, cache) for _ in range(2)))
        assert parts[0].path == parts[1].path
        return sorted(p.reused for p in parts)

    assert asyncio.run(both()) == [False, True]  # the second waited for the first's build, then reused it
    assert len(launches.using("libx264")) == 1


def test_a_crossfade_two_films_share_is_encoded_once_and_kept_for_the_next_assembly(tmp_path: Path,
                                                                                    launches: Launches) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=48, tone=300 + 100 * i) for i in range(2)]
    scene_change = [OutputClip("a", clips[0], False), OutputClip("b", clips[1], False)]
    outputs = {"main": scene_change, "alt": scene_change}
    settings = AssemblySettings(transition="crossfade", crossfade_seconds=0.5)
    first = asyncio.run(assemble_films(outputs, tmp_path / "run", tmp_path / "cache", settings))
    assert [f.film.frames for f in first.films.values()] == [96 - 12, 96 - 12]
    assert len(launches.using("xfade")) == 1
    assert len(list((tmp_path / "cache").glob("fade-*.mov"))) == 1
    launches.argv.clear()
    (tmp_path / "run" / "outputs" / "main.mp4").unlink()
    again = asyncio.run(assemble_films(outputs, tmp_path / "run", tmp_path / "cache", settings))
    assert again.films["main"].film.frames == 96 - 12
    assert launches.using("xfade") == [] and launches.using("libx264") == []  # joined by copy from the cache
