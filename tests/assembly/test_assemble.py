"""Assembly with real ffmpeg on generated clips: exact frame counts after chained trims, audio length, mixed
inputs, truncated inputs and caching (crash safety: test_sweep)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from orchestrator.assembly.errors import ClipInvalid
from orchestrator.assembly.ffmpeg import SAMPLES_PER_FRAME
from orchestrator.assembly.pipeline import OutputClip, assemble_output
from orchestrator.assembly.probe import audio_samples, probe
from tests.assembly.conftest import FFMPEG, make_clip


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_three_chained_clips_drop_two_repeated_frames(tmp_path: Path) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", tone=300 + 100 * i) for i in range(3)]
    entries = [OutputClip(f"s{i}", c, chained=i > 0) for i, c in enumerate(clips)]
    out = run(assemble_output(entries, tmp_path / "film.mp4", tmp_path / "cache"))
    assert out.film.frames == 3 * 121 - 2 == 361
    info = run(probe(tmp_path / "film.mp4"))
    assert (info.frames, info.width, info.height, info.fps) == (361, 320, 180, 24.0)
    assert (info.video_codec, info.pix_fmt, info.audio_codec, info.audio_rate) == ("h264", "yuv420p", "aac", 48000)
    samples = run(audio_samples(tmp_path / "film.mp4"))
    assert abs(samples - 361 * SAMPLES_PER_FRAME) <= SAMPLES_PER_FRAME  # no drift: audio = video within a frame


def test_cut_joins_keep_every_frame(tmp_path: Path) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=49) for i in range(2)]
    out = run(assemble_output([OutputClip(f"s{i}", c, False) for i, c in enumerate(clips)], tmp_path / "f.mp4",
                              tmp_path / "cache"))
    assert out.film.frames == 98


def test_clip_without_audio_gets_exact_silence(tmp_path: Path) -> None:
    loud = make_clip(tmp_path / "loud.mp4", frames=49)
    mute = make_clip(tmp_path / "mute.mp4", frames=49, audio=False)
    out = run(assemble_output([OutputClip("a", loud, False), OutputClip("b", mute, True)], tmp_path / "f.mp4",
                              tmp_path / "cache"))
    assert out.film.frames == 97
    assert abs(out.film.audio_samples - 97 * SAMPLES_PER_FRAME) <= SAMPLES_PER_FRAME


def test_mixed_sizes_and_rates_are_normalised(tmp_path: Path) -> None:
    wide = make_clip(tmp_path / "a.mp4", frames=121, size="320x180")
    other = make_clip(tmp_path / "b.mp4", frames=49, size="312x176")
    fast = make_clip(tmp_path / "c.mp4", frames=60, size="320x180", rate=30)  # 2 s at 30 fps -> 48 frames at 24
    out = run(assemble_output([OutputClip("a", wide, False), OutputClip("b", other, False),
                               OutputClip("c", fast, False)], tmp_path / "f.mp4", tmp_path / "cache"))
    assert (out.width, out.height) == (320, 180)
    assert out.film.frames == 121 + 49 + 48


def test_truncated_clip_is_rejected_naming_the_file(tmp_path: Path) -> None:
    whole = make_clip(tmp_path / "whole.mp4", frames=121)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ClipInvalid, match=r"cut\.mp4: .*truncated|cut\.mp4: not a readable video"):
        run(assemble_output([OutputClip("a", cut, False)], tmp_path / "f.mp4", tmp_path / "cache"))
    assert not (tmp_path / "f.mp4").exists()


def test_rerun_reuses_intermediates(tmp_path: Path) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=49) for i in range(2)]
    entries = [OutputClip(f"s{i}", c, i > 0) for i, c in enumerate(clips)]
    first = run(assemble_output(entries, tmp_path / "f.mp4", tmp_path / "cache"))
    second = run(assemble_output(entries, tmp_path / "g.mp4", tmp_path / "cache"))
    assert [p.reused for p in first.parts] == [False, False]
    assert [p.reused for p in second.parts] == [True, True]
    assert (tmp_path / "f.mp4").read_bytes() == (tmp_path / "g.mp4").read_bytes()


def test_an_ffmpeg_failure_carries_argv_and_the_tail_of_stderr(tmp_path: Path) -> None:
    from orchestrator.assembly.errors import FfmpegFailed
    from orchestrator.assembly.process import run_ffmpeg

    missing = tmp_path / "missing.mp4"
    with pytest.raises(FfmpegFailed) as caught:
        run(run_ffmpeg(["-hide_banner", "-i", str(missing), "-f", "null", "-"]))
    assert caught.value.returncode != 0
    assert str(missing) in caught.value.argv
    assert "No such file" in caught.value.stderr
    assert str(missing) in str(caught.value)


def test_odd_sizes_become_even(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "odd.mp4", frames=24, size="322x182")
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(clip), "-vf", "crop=321:181", "-c:v", "libx264",
                    "-pix_fmt", "yuv444p", "-c:a", "copy", str(tmp_path / "odd2.mp4")], check=True)
    out = run(assemble_output([OutputClip("a", tmp_path / "odd2.mp4", False)], tmp_path / "f.mp4", tmp_path / "c"))
    assert (out.width, out.height) == (320, 180) and out.film.frames == 24


def test_a_chained_30fps_clip_drops_a_30th_of_a_second_of_audio(tmp_path: Path) -> None:
    from orchestrator.assembly.normalize import plan_for

    info = run(probe(make_clip(tmp_path / "c.mp4", frames=60, rate=30)))
    plan = plan_for(info, 320, 180, skip_first=True)
    assert (plan.skip_frames, plan.skip_samples, plan.frames) == (1, 1600, 47)


def test_a_damaged_cached_intermediate_is_redone(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", frames=49)
    first = run(assemble_output([OutputClip("a", clip, False), OutputClip("b", clip, True)], tmp_path / "f.mp4",
                                tmp_path / "cache"))
    victim = first.parts[0].path
    data = bytearray(victim.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)
    victim.write_bytes(bytes(data))
    again = run(assemble_output([OutputClip("a", clip, False), OutputClip("b", clip, True)], tmp_path / "g.mp4",
                                tmp_path / "cache"))
    assert [p.reused for p in again.parts] == [False, True]
    assert again.film.frames == 97


def test_fast_path_is_refused_when_audio_and_video_lengths_differ(tmp_path: Path) -> None:
    short = tmp_path / "short.mp4"
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24",
                    "-f", "lavfi", "-i", "sine=sample_rate=48000:duration=1.5", "-frames:v", "49",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "1", str(short)], check=True)
    out = run(assemble_output([OutputClip("a", short, False), OutputClip("b", short, False)], tmp_path / "f.mp4",
                              tmp_path / "cache"))
    assert not out.fast_path and out.film.frames == 98
