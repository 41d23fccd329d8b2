"""One limit for every ffmpeg a pipeline starts, and a failure that cancels its siblings: their ffmpegs are
killed at once, not left running behind the error."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from orchestrator.assembly.errors import ClipInvalid, FfmpegFailed
from orchestrator.assembly.pipeline import OutputClip, assemble_output
from orchestrator.assembly.process import run_ffmpeg, run_together
from orchestrator.binaries import ffmpeg_binary
from tests.assembly.conftest import Launches, logging_alias, make_clip, running_with


@pytest.mark.parametrize("workers", [1, 2])
def test_a_pipeline_runs_at_most_workers_ffmpegs_at_once(tmp_path: Path, launches: Launches, workers: int) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=24, tone=300 + 100 * i) for i in range(4)]
    entries = [OutputClip(f"s{i}", c, chained=i > 0) for i, c in enumerate(clips)]
    asyncio.run(assemble_output(entries, tmp_path / "f.mp4", tmp_path / "cache", workers=workers))
    assert len(launches.argv) >= 4 * 3  # a packet probe, a strict probe and an encode per clip, then the join
    assert launches.most == workers


def test_the_default_limit_is_the_core_count(tmp_path: Path, launches: Launches) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=12, tone=300 + 100 * i) for i in range(2 * (os.cpu_count() or 2))]
    asyncio.run(assemble_output([OutputClip(f"s{i}", c, False) for i, c in enumerate(clips)], tmp_path / "f.mp4",
                                tmp_path / "cache"))
    assert launches.most <= (os.cpu_count() or 2)


def test_a_failure_kills_the_sibling_ffmpegs_before_it_is_raised(tmp_path: Path) -> None:
    marker = str(tmp_path / "endless.wav")
    endless = ["-v", "error", "-re", "-f", "lavfi", "-i", "anullsrc", "-y", marker]  # runs until killed

    async def scenario() -> list[int]:
        with pytest.raises(FfmpegFailed):  # itself, not an exception group
            await run_together([run_ffmpeg(endless), _fail_soon(tmp_path)])
        return running_with(marker)

    start = time.monotonic()
    assert asyncio.run(scenario()) == []
    assert time.monotonic() - start < 20


async def _fail_soon(tmp_path: Path) -> str:
    await asyncio.sleep(0.3)  # the endless one has started
    return await run_ffmpeg(["-v", "error", "-i", str(tmp_path / "missing.mp4"), "-f", "null", "-"])


def test_a_damaged_clip_stops_the_other_clips_normalisation(tmp_path: Path) -> None:
    big = make_clip(tmp_path / "big.mp4", frames=241, size="640x360")
    damaged = make_clip(tmp_path / "damaged.mp4", frames=48)
    data = bytearray(damaged.read_bytes())
    data[2000:2400] = bytes(400)  # inside the first frames' data: packets read, decoding fails
    damaged.write_bytes(bytes(data))
    cache = tmp_path / "cache"

    async def scenario() -> tuple[list[int], list[str]]:
        with pytest.raises(ClipInvalid, match=r"damaged\.mp4"):
            await assemble_output([OutputClip("a", big, False), OutputClip("b", damaged, False)],
                                  tmp_path / "f.mp4", cache, size=(640, 360))
        return running_with(str(big)), sorted(p.name for p in cache.iterdir()) if cache.exists() else []

    still_running, cached = asyncio.run(scenario())
    assert still_running == []
    assert cached == []  # the big clip's half-made intermediate went with its ffmpeg


def test_the_ffmpeg_version_is_asked_once_however_many_ask_at_once(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.assembly import capability

    real = ffmpeg_binary()  # whichever build this run tests: the banner is the build's own
    first_alias, log = logging_alias(tmp_path / "one", real), tmp_path / "one.log"
    monkeypatch.setenv("ORCHESTRATOR_FFMPEG", str(first_alias))

    async def ask(times: int) -> set[str]:
        return set(await asyncio.gather(*(capability.ffmpeg_version() for _ in range(times))))

    first = asyncio.run(ask(12))
    assert len(first) == 1 and next(iter(first)).startswith("ffmpeg version")
    assert _asked(log, "-version") == 1
    assert asyncio.run(ask(3)) == first and _asked(log, "-version") == 1
    second_alias = logging_alias(tmp_path / "two", real)  # another binary is asked for its own version
    monkeypatch.setenv("ORCHESTRATOR_FFMPEG", str(second_alias))
    assert asyncio.run(ask(3)) == first and _asked(tmp_path / "two.log", "-version") == 1
    assert _asked(log, "-version") == 1


def _asked(log: Path, question: str) -> int:
    return sum(question in line.split() for line in log.read_text().splitlines()) if log.exists() else 0
