"""Transitions and audio finishing with real ffmpeg: crossfade arithmetic, degrading to cuts, the fast path,
mute, soundtrack replacing or ducked under the clips, and loudness to target."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from orchestrator.assembly.errors import AssemblyError
from orchestrator.assembly.ffmpeg import SAMPLES_PER_FRAME, Measured
from orchestrator.assembly.finish import _measured, plan_transitions
from orchestrator.assembly.normalize import Intermediate
from orchestrator.assembly.pipeline import AssemblySettings, OutputClip, assemble_output
from orchestrator.assembly.probe import ClipInfo
from tests.assembly.conftest import FFMPEG, make_clip

RATE = 48_000


def assemble(tmp_path: Path, clips: list[OutputClip], **settings: object) -> object:
    return asyncio.run(assemble_output(clips, tmp_path / "film.mp4", tmp_path / "cache",
                                       AssemblySettings(**settings)))  # type: ignore[arg-type]


def samples(path: Path) -> np.ndarray:
    raw = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(RATE),
                          "-f", "s16le", "pipe:1"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.int16).astype(np.float64) / 32768


def level_at(signal: np.ndarray, start_s: float, end_s: float, hz: float) -> float:
    """Amplitude of one frequency in a stretch of audio (FFT bin magnitude, normalised)."""
    part = signal[int(start_s * RATE): int(end_s * RATE)]
    spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part))))
    return float(spectrum[round(hz * len(part) / RATE)] / len(part))


def integrated_lufs(path: Path) -> float:
    report = subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:a:0", "-af", "ebur128",
                             "-f", "null", "-"], capture_output=True, text=True, check=True).stderr
    return float(re.findall(r"I:\s+(-?\d+(?:\.\d+)?) LUFS", report)[-1])


def test_crossfades_overlap_exactly_and_chain_edges_never_fade(tmp_path: Path) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=49, tone=300 + 100 * i) for i in range(3)]
    entries = [OutputClip("a", clips[0], False), OutputClip("b", clips[1], True), OutputClip("c", clips[2], False)]
    out = assemble(tmp_path, entries, transition="crossfade", crossfade_seconds=0.5)
    assert out.film.frames == 49 + 48 + 49 - 12  # one chained trim, one 12-frame crossfade
    assert abs(out.film.audio_samples - out.film.frames * SAMPLES_PER_FRAME) <= SAMPLES_PER_FRAME
    assert not out.warnings


def test_a_clip_too_short_for_its_crossfades_degrades_to_cuts(tmp_path: Path) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=n, tone=300 + 100 * i) for i, n in enumerate((49, 10, 49))]
    out = assemble(tmp_path, [OutputClip(s, c, False) for s, c in zip("abc", clips, strict=True)],
                   transition="crossfade", crossfade_seconds=0.5)
    assert out.film.frames == 49 + 10 + 49
    assert len(out.warnings) == 2 and "too short" in out.warnings[0]


def test_fast_path_copies_alike_originals(tmp_path: Path) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=49, tone=300 + 100 * i) for i in range(2)]
    fast = assemble(tmp_path, [OutputClip(f"s{i}", c, False) for i, c in enumerate(clips)])
    assert fast.fast_path and fast.parts == () and fast.film.frames == 98
    slow = assemble(tmp_path, [OutputClip(f"s{i}", c, i > 0) for i, c in enumerate(clips)])
    assert not slow.fast_path and slow.film.frames == 97


def _db(part: np.ndarray) -> float:
    return float(20 * np.log10(max(float(np.sqrt(np.mean(part ** 2))), 1e-10)))


@pytest.mark.parametrize("way", ["fast path", "joined by copy", "finished"])
def test_every_way_to_a_film_ends_on_a_fade(tmp_path: Path, way: str) -> None:
    """The fast path, the join of intermediates and the audio finish each fade the sound out over the film's
    last second: its last 50 ms are at least 30 dB below its loudness; with the fade off, the tone runs to the
    end (the measure can fail)."""
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=49, tone=300 + 100 * i) for i in range(2)]
    chained = way != "fast path"
    loudness = -16.0 if way == "finished" else None
    entries = [OutputClip(f"s{i}", c, chained and i > 0) for i, c in enumerate(clips)]
    for fade, folder in ((1.0, tmp_path / "on"), (0.0, tmp_path / "off")):
        folder.mkdir()
        out = assemble(folder, entries, loudness_lufs=loudness, fade_out_seconds=fade)
        assert out.fast_path == (way == "fast path")
        sound = samples(out.film.path)
        lufs = integrated_lufs(out.film.path)
        last, second_before = _db(sound[-2400:]), _db(sound[-96_000:-48_000])
        if fade:
            assert last <= lufs - 30 and second_before > last + 30, (way, last, lufs)
        else:
            assert last > lufs - 10, (way, last, lufs)


def test_mute_keeps_a_silent_track_of_the_right_length(tmp_path: Path) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=49) for i in range(2)]
    out = assemble(tmp_path, [OutputClip(f"s{i}", c, i > 0) for i, c in enumerate(clips)], audio="mute")
    audio = samples(tmp_path / "film.mp4")
    assert np.abs(audio).max() < 1e-3
    assert abs(len(audio) - out.film.frames * SAMPLES_PER_FRAME) <= SAMPLES_PER_FRAME + 1024


@pytest.fixture
def soundtrack(tmp_path: Path) -> Path:
    path = tmp_path / "music.wav"
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=220:sample_rate=48000:duration=8",
                    "-ac", "2", str(path)], check=True)
    return path


def test_soundtrack_replaces_clip_audio(tmp_path: Path, soundtrack: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", frames=97, tone=880)
    assemble(tmp_path, [OutputClip("a", clip, False)], audio="soundtrack", soundtrack=soundtrack, duck=False)
    audio = samples(tmp_path / "film.mp4")
    assert level_at(audio, 1, 3, 220) > 20 * level_at(audio, 1, 3, 880)


def test_soundtrack_is_ducked_while_the_clips_speak(tmp_path: Path, soundtrack: Path) -> None:
    quiet = make_clip(tmp_path / "quiet.mp4", frames=72, audio=False)
    talk = make_clip(tmp_path / "talk.mp4", frames=72, tone=880)
    assemble(tmp_path, [OutputClip("a", quiet, False), OutputClip("b", talk, False)], audio="soundtrack",
             soundtrack=soundtrack, duck=True)
    audio = samples(tmp_path / "film.mp4")
    music_alone, music_under_talk = level_at(audio, 0.5, 2.5, 220), level_at(audio, 3.5, 5.5, 220)
    assert level_at(audio, 3.5, 5.5, 880) > 0.01  # the clip's own sound is there
    assert music_under_talk < music_alone / 2  # and pushed the music down


def test_loudness_reaches_the_target(tmp_path: Path) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=120, tone=300 + 200 * i) for i in range(2)]
    assemble(tmp_path, [OutputClip(f"s{i}", c, False) for i, c in enumerate(clips)], loudness_lufs=-14.0)
    assert abs(integrated_lufs(tmp_path / "film.mp4") - -14.0) <= 1.0


def test_a_film_that_cannot_reach_its_loudness_says_so(tmp_path: Path) -> None:
    quiet = make_clip(tmp_path / "silent.mp4", frames=49, audio=False)
    out = assemble(tmp_path, [OutputClip("a", quiet, False)], loudness_lufs=-14.0)
    (warning,) = [w for w in out.warnings if "integrated loudness" in w]
    assert "the film is silent (its clips have no sound)" in warning and "assembly.audio: mute" in warning


def test_a_clip_short_for_two_crossfades_keeps_the_one_that_fits(tmp_path: Path) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=n, tone=300 + 100 * i) for i, n in enumerate((49, 20, 49))]
    out = assemble(tmp_path, [OutputClip(s, c, False) for s, c in zip("abc", clips, strict=True)],
                   transition="crossfade", crossfade_seconds=0.5)
    assert out.film.frames == 49 + 20 + 49 - 12  # a -> b crossfades, b -> c is cut
    assert out.seams == (43, 49 + 20 - 12)
    assert out.warnings == ["b -> c: b is too short for a 0.5 s crossfade; cut instead"]


def _parts(*frames: int) -> list[Intermediate]:
    info = ClipInfo(Path("x.mp4"), "h264", "yuv420p", 320, 180, 24.0, 0, 0.0, None, None, None)
    return [Intermediate(Path(f"p{i}.mkv"), n, info, reused=True) for i, n in enumerate(frames)]


@pytest.mark.parametrize(("frames", "chained", "fades", "cut"), [
    ((49, 49, 49), (False, False, False), [True, True], []),
    ((49, 25, 49), (False, False, False), [True, True], []),  # 12 + 12 + one of its own
    ((49, 24, 49), (False, False, False), [True, False], ["b -> c: b"]),  # one fade fits: the first kept
    ((49, 13, 49), (False, False, False), [True, False], ["b -> c: b"]),
    ((49, 12, 49), (False, False, False), [False, False], ["a -> b: b", "b -> c: b"]),  # none fits
    ((12, 49, 49), (False, False, False), [False, True], ["a -> b: a"]),  # the first clip has one fade
    ((49, 49, 12), (False, False, False), [True, False], ["b -> c: c"]),
    ((49, 20, 20, 49), (False, False, False, False), [True, False, True], ["b -> c: b"]),  # c keeps c -> d
    ((49, 20, 49), (False, True, False), [False, True], []),  # a chain edge never fades, so b has room
    ((49, 20, 49), (False, False, True), [True, False], []),
])
def test_plan_transitions_degrades_only_what_does_not_fit(frames: tuple[int, ...], chained: tuple[bool, ...],
                                                          fades: list[bool], cut: list[str]) -> None:
    names = list("abcd"[: len(frames)])
    plan = plan_transitions(_parts(*frames), list(chained), names, True, 0.5)
    assert plan.fades == fades and plan.fade_frames == 12
    assert [w.split(" is too short")[0] for w in plan.warnings] == cut


SUMMARY = """[Parsed_ebur128_0 @ 0x55] Summary:

  Integrated loudness:
    I:         -20.3 LUFS
    Threshold: -30.6 LUFS

  Loudness range:
    LRA:         2.1 LU
    Threshold: -40.4 LUFS
    LRA low:   -21.5 LUFS
    LRA high:  -19.4 LUFS

  True peak:
    Peak:       -7.9 dBFS
"""


def test_the_measuring_pass_reads_ebur128s_summary() -> None:
    assert _measured("[Parsed_ebur128_0 @ 0x55] t: 1.0  M: -20.0 S: -20.0\n" + SUMMARY) == Measured(
        integrated=-20.3, threshold=-30.6, lra=2.1, true_peak=-7.9)  # the integrated gate, not the range's
    silence = SUMMARY.replace("-20.3 LUFS", "-70.0 LUFS").replace("-7.9 dBFS", "-inf dBFS")
    assert _measured(silence) is None  # nothing to correct
    with pytest.raises(AssemblyError, match="no loudness summary"):
        _measured("[aac @ 0x1] something else")
