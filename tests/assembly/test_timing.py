"""Every film's frames are exactly 1/24 s apart from time 0, and its sound starts with its picture and lasts exactly
as long, whichever way the film was made (copied originals, copied intermediates, finished audio, crossfades)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from orchestrator.assembly.ffmpeg import FPS, SAMPLES_PER_FRAME
from orchestrator.assembly.pipeline import AssemblySettings, OutputClip, assemble_output
from tests.assembly.conftest import decoded_samples, make_clip, video_times

WAYS = {
    "fast path": ([False, False, False], AssemblySettings(loudness_lufs=None)),
    "intermediates copied": ([False, True, False], AssemblySettings(loudness_lufs=None)),
    "audio finished": ([False, True, False], AssemblySettings(loudness_lufs=-16.0)),
    "crossfaded": ([False, True, False], AssemblySettings(transition="crossfade", crossfade_seconds=0.25)),
}


@pytest.mark.parametrize("way", list(WAYS))
def test_frames_are_evenly_timed_from_zero_and_the_sound_matches(tmp_path: Path, way: str) -> None:
    chained, settings = WAYS[way]
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=37, tone=300 + 100 * i) for i in range(3)]
    entries = [OutputClip(f"s{i}", c, link) for i, (c, link) in enumerate(zip(clips, chained, strict=True))]
    out = asyncio.run(assemble_output(entries, tmp_path / "film.mp4", tmp_path / "cache", settings))
    assert out.fast_path == (way == "fast path")
    base, times = video_times(out.film.path)
    assert base % FPS == 0 and len(times) == out.film.frames
    assert times == [n * base // FPS for n in range(len(times))]  # from 0, one frame's time apart, no jitter
    assert decoded_samples(out.film.path) == out.film.frames * SAMPLES_PER_FRAME
