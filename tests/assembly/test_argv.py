"""ffmpeg command lines are data: what each step asks of ffmpeg, asserted without running it."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.assembly.errors import ClipInvalid
from orchestrator.assembly.ffmpeg import (
    VIDEO_CODEC_ARGS,
    NormalizePlan,
    concat_args,
    concat_list,
    normalize_args,
    probe_args,
)
from orchestrator.assembly.pipeline import output_size
from orchestrator.assembly.probe import ClipInfo, parse_probe


def graph(argv: list[str]) -> str:
    return argv[argv.index("-filter_complex") + 1]


def test_chained_clip_drops_its_first_frame_and_the_matching_audio() -> None:
    argv = normalize_args(Path("in.mp4"), [Path("out.mov")], NormalizePlan(1280, 720, 1, 120, True, 2000))
    filters = graph(argv)
    assert "trim=start_frame=1,setpts=PTS-STARTPTS" in filters
    assert "atrim=start_sample=2000" in filters  # one frame at 24 fps is 2000 samples at 48 kHz
    assert "apad=whole_len=240000" in filters and "atrim=end_sample=240000" in filters
    assert "trim=end_frame=120" in filters
    assert "afade=t=in:d=0.005" in filters and "afade=t=out:st=4.995000:d=0.005" in filters
    assert argv[-3:] == ["-f", "mov", "out.mov"]  # exact frame times (Matroska rounds them to milliseconds)
    assert argv[argv.index("-video_track_timescale") + 1] == "12288"
    assert "anullsrc" not in " ".join(argv)


def test_silent_clip_gets_generated_silence_and_geometry_is_fitted() -> None:
    argv = normalize_args(Path("in.mp4"), [Path("out.mov")], NormalizePlan(1280, 720, 0, 121, False))
    assert argv[argv.index("-f", 4) + 2: argv.index("-f", 4) + 4] == ["-i", "anullsrc=r=48000:cl=stereo"]
    filters = graph(argv)
    assert filters.startswith("[0:v:0]trim=start_frame=0")
    assert "scale=1280:720:force_original_aspect_ratio=decrease" in filters
    assert "pad=1280:720:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p" in filters
    assert "[1:a]aresample=48000" in filters


def test_a_clip_with_crossfadeable_edges_is_written_as_head_body_and_tail() -> None:
    plan = NormalizePlan(640, 360, 1, 120, True, 2000, edge_frames=12)
    assert plan.pieces == [(0, 12), (12, 108), (108, 120)]
    argv = normalize_args(Path("in.mp4"), [Path("h.mov"), Path("b.mov"), Path("t.mov")], plan)
    filters = graph(argv)
    assert "[vs1]trim=start_frame=12:end_frame=108,setpts=PTS-STARTPTS[v1]" in filters
    assert "[as2]atrim=start_sample=216000:end_sample=240000,asetpts=PTS-STARTPTS[a2]" in filters
    assert "afade=t=out:st=4.995000" in filters  # the clip's own edges fade before it is cut, not each piece
    outputs = [argv[i + 1] for i, a in enumerate(argv) if a == "-f" and argv[i + 1] == "mov"]
    assert len(outputs) == 3 and argv[-1] == "t.mov"
    for name, v, a in (("h.mov", "[v0]", "[a0]"), ("t.mov", "[v2]", "[a2]")):
        end = argv.index(name)
        start = max(i for i in range(end) if argv[i] == "-map" and argv[i + 1] == v)
        assert argv[start + 3] == a and VIDEO_CODEC_ARGS[1] in argv[start:end]  # every piece encoded alike
    with pytest.raises(ValueError, match="3 piece"):
        normalize_args(Path("in.mp4"), [Path("one.mov")], plan)


def test_every_intermediate_uses_the_same_encoder_settings() -> None:
    a = normalize_args(Path("a.mp4"), [Path("a.mov")], NormalizePlan(640, 360, 0, 49, True))
    b = normalize_args(Path("b.mp4"), [Path("b.mov")], NormalizePlan(640, 360, 1, 48, False))
    for argv in (a, b):
        start = argv.index("-c:v")
        assert tuple(argv[start:start + len(VIDEO_CODEC_ARGS)]) == VIDEO_CODEC_ARGS


def test_join_copies_video_and_encodes_audio_once() -> None:
    argv = concat_args(Path("list.txt"), Path("film.mp4"))
    assert argv[argv.index("-f"): argv.index("-f") + 6] == ["-f", "concat", "-safe", "0", "-i", "list.txt"]
    assert argv[argv.index("-c:v") + 1] == "copy"
    assert argv[argv.index("-c:a") + 1] == "aac"
    assert "+faststart" in argv
    assert argv[argv.index("-video_track_timescale") + 1] == "12288"


def test_concat_list_quotes_paths_and_starts_each_file_at_zero() -> None:
    assert concat_list([Path("/a/it's.mov"), Path("/b.mov")]) == ("file '/a/it'\\''s.mov'\ninpoint 0\n"
                                                                  "file '/b.mov'\ninpoint 0\n")


def test_probe_decodes_strictly() -> None:
    assert probe_args(Path("x.mp4"))[:6] == ["-hide_banner", "-nostdin", "-xerror", "-err_detect", "explode", "-i"]


REPORT = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'clip.mp4':
  Duration: 00:00:05.04, start: 0.000000, bitrate: 1642 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1248x704, \
1514 kb/s, 24 fps, 24 tbr, 12288 tbn (default)
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, mono, fltp, 124 kb/s (default)
frame=   60 fps=0.0 q=-0.0 size=N/A time=00:00:02.50
frame=  121 fps=0.0 q=-0.0 Lsize=N/A time=00:00:05.00
"""


def test_probe_report_is_parsed() -> None:
    info = parse_probe(Path("clip.mp4"), REPORT)
    assert (info.video_codec, info.pix_fmt, info.width, info.height, info.fps, info.frames) == (
        "h264", "yuv420p", 1248, 704, 24.0, 121)
    assert (info.audio_codec, info.audio_rate, info.audio_channels, info.duration) == ("aac", 48000, "mono", 5.04)


def test_probe_report_without_video_is_invalid() -> None:
    with pytest.raises(ClipInvalid, match="no decodable video"):
        parse_probe(Path("a.wav"), "Stream #0:0: Audio: pcm_s16le, 48000 Hz, mono, s16\nframe=    0\n")


def _info(w: int, h: int, frames: int) -> ClipInfo:
    return ClipInfo(Path("x"), "h264", "yuv420p", w, h, 24.0, frames, frames / 24, None, None, None)


def test_output_size_follows_most_frames() -> None:
    assert output_size([_info(1248, 704, 121), _info(1280, 720, 97), _info(1280, 720, 97)]) == (1280, 720)
    assert output_size([_info(1248, 704, 241), _info(1280, 720, 97)]) == (1248, 704)


def test_crossfade_graph_offsets_are_whole_frames() -> None:
    from orchestrator.assembly.ffmpeg import crossfade_graph

    graph, frames = crossfade_graph([49, 48, 49], [False, True], 12)
    assert frames == 49 + 48 + 49 - 12
    assert "[in0][in1]concat=n=2:v=1:a=0" in graph
    assert "xfade=transition=fade:duration=0.500000:offset=3.541667" in graph  # (97 - 12) / 24
    assert "acrossfade=d=0.500000" in graph
    assert graph.count("settb=1/24,setpts=N") == 5


def test_audio_finishing_graphs() -> None:
    from orchestrator.assembly.ffmpeg import AudioFinish, Measured, audio_graph

    assert audio_graph(AudioFinish("mute"), 2.0).startswith("[0:a]volume=0")
    ducked = audio_graph(AudioFinish("soundtrack", Path("m.wav"), duck=True), 2.0)
    assert "sidechaincompress" in ducked and "amix=inputs=2" in ducked and ducked.endswith("[out]")
    assert "sidechaincompress" not in audio_graph(AudioFinish("soundtrack", Path("m.wav"), duck=False), 2.0)
    first = audio_graph(AudioFinish("clips", loudness_lufs=-14), 2.0)
    assert first.endswith(",ebur128=peak=true:framelog=verbose[out]")  # the measuring pass
    quiet = Measured(integrated=-20.0, threshold=-30.0, lra=2.0, true_peak=-9.0)
    assert audio_graph(AudioFinish("clips", loudness_lufs=-14, measured=quiet), 2.0).endswith(",volume=6.00dB[out]")
    peaky = Measured(integrated=-20.0, threshold=-30.0, lra=2.0, true_peak=-3.0)  # +6 dB would clip: limit instead
    second = audio_graph(AudioFinish("clips", loudness_lufs=-14, measured=peaky), 2.0)
    assert "loudnorm=I=-14:TP=-1.5:LRA=11:measured_I=-20.0:measured_TP=-3.0" in second and "linear=true" in second
