"""The same clips make the same films with the bundled ffmpeg and the system's (Debian 12's 5.1): frame counts,
frame times, audio length within one AAC frame, and the same seam checks. Runs in `make test-ffmpeg` only (marker
`system_ffmpeg`), against ORCHESTRATOR_FFMPEG when it is set, else /usr/bin/ffmpeg."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from orchestrator.assembly.capability import ffmpeg_report
from orchestrator.assembly.ffmpeg import SAMPLES_PER_FRAME
from orchestrator.assembly.films import FilmSet, assemble_films
from orchestrator.assembly.join import AUDIO_TOLERANCE_SAMPLES
from orchestrator.assembly.pipeline import AssemblySettings, OutputClip
from orchestrator.binaries import bundled_ffmpeg
from tests.assembly.conftest import FFMPEG, make_clip, video_times

pytestmark = pytest.mark.system_ffmpeg

WAYS = {
    "fast path": ([False, False, False], AssemblySettings(loudness_lufs=None)),
    "intermediates copied": ([False, True, False], AssemblySettings(loudness_lufs=None)),
    "audio finished": ([False, True, False], AssemblySettings(loudness_lufs=-16.0)),
    "crossfaded": ([False, False, True], AssemblySettings(transition="crossfade", crossfade_seconds=0.5)),
}


@pytest.fixture(scope="module")
def system_ffmpeg() -> str:
    """The other build: ORCHESTRATOR_FFMPEG (make test-ffmpeg sets it), else /usr/bin/ffmpeg; never skipped."""
    path = os.environ.get("ORCHESTRATOR_FFMPEG") or "/usr/bin/ffmpeg"
    if not Path(path).is_file():
        pytest.fail(f"{path} is missing: these tests compare the bundled ffmpeg with the system's (apt-get install "
                    "ffmpeg on Debian)")
    if Path(path).resolve() == Path(bundled_ffmpeg()).resolve():
        pytest.fail("ORCHESTRATOR_FFMPEG is the bundled build: nothing to compare it with")
    return path


def _clips(folder: Path) -> list[Path]:
    """Three clips of 37, 49 and 31 frames, the last re-encoded with B-frames: its AAC priming packet sits before
    its first video packet, as in most encoders' files."""
    clips = [make_clip(folder / "c0.mp4", frames=37, tone=300), make_clip(folder / "c1.mp4", frames=49, tone=400)]
    plain = make_clip(folder / "plain.mp4", frames=31, tone=500)
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(plain), "-c:v", "libx264", "-preset", "medium",
                    "-bf", "3", "-pix_fmt", "yuv420p", "-c:a", "copy", str(folder / "c2.mp4")], check=True)
    return [*clips, folder / "c2.mp4"]


def _films(clips: list[Path], folder: Path, binary: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, FilmSet]:
    monkeypatch.setenv("ORCHESTRATOR_FFMPEG", binary)
    made = {}
    for way, (chained, settings) in WAYS.items():
        entries = [OutputClip(f"s{i}", c, link) for i, (c, link) in enumerate(zip(clips, chained, strict=True))]
        made[way] = asyncio.run(assemble_films({"main": entries}, folder / way.replace(" ", "-"), folder / "cache",
                                               settings))
    return made


def _samples(path: Path, binary: str) -> int:
    raw = subprocess.run([binary, "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-f", "s16le", "-"],
                         capture_output=True, check=True).stdout
    return len(raw) // 2


def test_both_builds_make_the_same_films(tmp_path: Path, system_ffmpeg: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clips = _clips(tmp_path)
    ours = _films(clips, tmp_path / "bundled", bundled_ffmpeg(), monkeypatch)
    theirs = _films(clips, tmp_path / "system", system_ffmpeg, monkeypatch)
    assert ffmpeg_report().path == system_ffmpeg and ffmpeg_report().ok
    for way in WAYS:
        a, b = ours[way].films["main"], theirs[way].films["main"]
        assert a.fast_path == b.fast_path == (way == "fast path"), way
        assert a.film.frames == b.film.frames and a.seams == b.seams, way
        for film in (a.film.path, b.film.path):  # every frame 1/24 s after the last, from 0
            base, times = video_times(film)
            assert times == [n * base // 24 for n in range(a.film.frames)], (way, film)
        expected = a.film.frames * SAMPLES_PER_FRAME
        # Read by one decoder, both films hold exactly the video's length of sound...
        assert _samples(a.film.path, FFMPEG) == _samples(b.film.path, FFMPEG) == expected, way
        # ...and each build reads either film within one AAC frame of it (5.1 keeps the encoder's end padding).
        for decoder in (FFMPEG, system_ffmpeg):
            for film in (a.film.path, b.film.path):
                assert 0 <= _samples(film, decoder) - expected < AUDIO_TOLERANCE_SAMPLES, (way, decoder, film)
        qa, qb = ours[way].qc[0], theirs[way].qc[0]
        assert qa.frames == qb.frames and [j.frame for j in qa.joins] == [j.frame for j in qb.joins]
        assert [j.duplicate for j in qa.joins] == [j.duplicate for j in qb.joins] == [False] * len(qa.joins)
        for ja, jb in zip(qa.joins, qb.joins, strict=True):
            assert abs(ja.ssim - jb.ssim) < 0.02 and abs(ja.audio_step_db - jb.audio_step_db) < 1.0, (way, ja, jb)
        if qa.integrated_lufs is not None or qb.integrated_lufs is not None:
            assert qa.integrated_lufs is not None and qb.integrated_lufs is not None
            assert abs(qa.integrated_lufs - qb.integrated_lufs) < 0.5, way
