"""ffmpeg command lines are data: what each step asks of ffmpeg, asserted without running it. Every command is
compiled by ffmpeg-python: filter graphs are read back with `filtergraph` (steps and chains, links labelled s0,
s1, ...), options per input and per output (ffmpeg-python writes them sorted by name)."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest

import orchestrator.assembly.ffmpeg as ffmpeg_args
from orchestrator.assembly import command as command_module
from orchestrator.assembly.command import Input, Output, Stream, command
from orchestrator.assembly.errors import ClipInvalid
from orchestrator.assembly.ffmpeg import (
    BITEXACT,
    QUIET,
    VIDEO_CODEC,
    AudioFinish,
    Measured,
    NormalizePlan,
    concat_args,
    concat_list,
    crossfade_graph,
    finish_args,
    fused_args,
    loudness_measure_args,
    normalize_args,
    originals_args,
    probe_args,
)
from orchestrator.assembly.pipeline import output_size
from orchestrator.assembly.probe import ClipInfo, parse_probe
from tests.assembly.filtergraph import assembly_argvs, chain_to, chains, parse, steps

ENCODED_ALIKE = {key: str(value) for key, value in {**VIDEO_CODEC, **BITEXACT}.items()}


def test_chained_clip_drops_its_first_frame_and_the_matching_audio() -> None:
    cmd = parse(normalize_args(Path("in.mp4"), [Path("out.mov")], NormalizePlan(1280, 720, 1, 120, True, 2000)))
    assert cmd.globals == list(QUIET) and cmd.files == ["in.mp4"]
    assert cmd.graph is not None
    video, audio = (chain_to(cmd.graph, label) for label in cmd.maps("out.mov"))
    assert video.inputs == ("0:v:0",) and video.filters == (
        "trim=start_frame=1", "setpts=PTS-STARTPTS", "fps=24",
        "scale=1280:720:flags=lanczos:force_original_aspect_ratio=decrease", "pad=1280:720:(ow-iw)/2:(oh-ih)/2",
        "setsar=1", "format=yuv420p", "trim=end_frame=120")
    assert audio.inputs == ("0:a:0",) and audio.filters == (
        "aresample=48000:async=1:first_pts=0", "aformat=channel_layouts=stereo:sample_fmts=s16",
        "atrim=start_sample=2000",  # one frame at 24 fps is 2000 samples at 48 kHz
        "asetpts=PTS-STARTPTS", "apad=whole_len=240000", "atrim=end_sample=240000", "afade=d=0.005:t=in",
        "afade=d=0.005:st=4.995000:t=out")
    out = cmd.output("out.mov")
    assert out["f"] == "mov"  # exact frame times (Matroska rounds them to milliseconds)
    assert out["video_track_timescale"] == "12288" and out["c:a"] == "pcm_s16le"
    assert "anullsrc" not in " ".join(cmd.files)


def test_silent_clip_gets_generated_silence_and_geometry_is_fitted() -> None:
    cmd = parse(normalize_args(Path("in.mp4"), [Path("out.mov")], NormalizePlan(1280, 720, 0, 121, False)))
    assert cmd.inputs == [("in.mp4", {}), ("anullsrc=r=48000:cl=stereo", {"f": "lavfi"})]
    assert cmd.graph is not None
    video, audio = (chain_to(cmd.graph, label) for label in cmd.maps("out.mov"))
    assert video.text.startswith("trim=start_frame=0,setpts=PTS-STARTPTS,fps=24,scale=1280:720:")
    assert "pad=1280:720:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p" in video.text
    assert audio.inputs == ("1:a",) and audio.filters[0] == "aresample=48000:async=1:first_pts=0"


def test_a_clip_with_crossfadeable_edges_is_written_as_head_body_and_tail() -> None:
    plan = NormalizePlan(640, 360, 1, 120, True, 2000, edge_frames=12)
    assert plan.pieces == [(0, 12), (12, 108), (108, 120)]
    cmd = parse(normalize_args(Path("in.mp4"), [Path("h.mov"), Path("b.mov"), Path("t.mov")], plan))
    assert list(cmd.outputs) == ["h.mov", "b.mov", "t.mov"]
    assert cmd.graph is not None
    whole = {c.filters[-1]: c for c in chains(cmd.graph) if c.filters[-1] in ("split=3", "asplit=3")}
    assert "afade=d=0.005:st=4.995000:t=out" in whole["asplit=3"].text  # the clip's edges fade before it is cut
    cut = {name: tuple(chain_to(cmd.graph, label) for label in cmd.maps(name)) for name in cmd.outputs}
    assert cut["b.mov"][0].filters == ("trim=end_frame=108:start_frame=12", "setpts=PTS-STARTPTS")
    assert cut["t.mov"][1].filters == ("atrim=end_sample=240000:start_sample=216000", "asetpts=PTS-STARTPTS")
    for name, (video, audio) in cut.items():
        assert video.inputs[0] in whole["split=3"].outputs and audio.inputs[0] in whole["asplit=3"].outputs
        assert cmd.output(name).items() >= ENCODED_ALIKE.items()  # every piece encoded alike
    with pytest.raises(ValueError, match="3 piece"):
        normalize_args(Path("in.mp4"), [Path("one.mov")], plan)


def test_every_intermediate_uses_the_same_encoder_settings() -> None:
    a = parse(normalize_args(Path("a.mp4"), [Path("a.mov")], NormalizePlan(640, 360, 0, 49, True)))
    b = parse(normalize_args(Path("b.mp4"), [Path("b.mov")], NormalizePlan(640, 360, 1, 48, False)))
    fused = parse(fused_args([Path("t.mov"), Path("h.mov")], crossfade_graph([12, 12], [True], 12)[0], Path("x.mov")))
    assert a.output("a.mov") == b.output("b.mov") == fused.output("x.mov")
    assert a.output("a.mov") == {**ENCODED_ALIKE, "c:a": "pcm_s16le", "f": "mov", "movie_timescale": "48000"}


def test_join_copies_video_and_encodes_audio_once() -> None:
    cmd = parse(concat_args(Path("list.txt"), Path("film.mp4")))
    assert cmd.inputs == [("list.txt", {"f": "concat", "safe": "0"})]
    assert cmd.maps("film.mp4") == ["0:v:0", "0:a:0"]
    out = cmd.output("film.mp4")
    assert out["c:v"] == "copy" and out["c:a"] == "aac" and out["b:a"] == "192k" and out["ac"] == "2"
    assert out["movflags"] == "+faststart" and out["f"] == "mp4"
    assert out["video_track_timescale"] == "12288"
    assert out["movie_timescale"] == "48000"  # 5.1 would write the header in milliseconds


def test_concat_list_quotes_paths_and_starts_each_file_at_zero() -> None:
    assert concat_list([Path("/a/it's.mov"), Path("/b.mov")]) == ("file '/a/it'\\''s.mov'\ninpoint 0\n"
                                                                  "file '/b.mov'\ninpoint 0\n")


def test_concat_list_states_each_files_exact_length_without_adding_up_rounding() -> None:
    listing = concat_list([Path("/a.mov"), Path("/b.mov"), Path("/c.mov")], [37, 37, 36])
    assert listing == ("file '/a.mov'\ninpoint 0\nduration 1.541667\n"  # 37 / 24 s, rounded to the microsecond
                       "file '/b.mov'\ninpoint 0\nduration 1.541666\n"  # ends at 74 / 24 = 3.083333 s, rounded
                       "file '/c.mov'\ninpoint 0\nduration 1.500000\n")
    many = concat_list([Path(f"/{i}.mov") for i in range(500)], [121] * 500)
    starts = [0]
    for line in many.splitlines():
        if line.startswith("duration "):
            seconds, micros = line.split()[1].split(".")
            starts.append(starts[-1] + int(seconds) * 1_000_000 + int(micros))
    # every file starts within half a microsecond of its exact time, however many came before it
    assert all(abs(start * 24 - i * 121 * 1_000_000) <= 12 for i, start in enumerate(starts))
    with pytest.raises(ValueError, match="frame count"):
        concat_list([Path("/a.mov")], [1, 2])


def test_the_fast_path_copies_video_and_cuts_each_clips_sound_to_its_frames() -> None:
    argv = originals_args(Path("list.txt"), [Path("/a.mp4"), Path("/b.mp4")], [121, 97], Path("film.mp4"), 1)
    cmd = parse(argv)
    assert cmd.globals == [*QUIET, "-copyts"]  # a B-frame clip's AAC priming packet must not delay the copied video
    assert cmd.inputs == [("list.txt", {"f": "concat", "safe": "0"}), ("/a.mp4", {}), ("/b.mp4", {})]
    video, sound = cmd.maps("film.mp4")
    assert video == "0:v:0" and cmd.output("film.mp4")["c:v"] == "copy" and cmd.output("film.mp4")["ac"] == "1"
    assert cmd.graph is not None
    joined = chain_to(cmd.graph, sound)
    assert joined.filters == ("concat=a=1:n=2:v=0",)
    first, second = (chain_to(cmd.graph, label) for label in joined.inputs)
    assert first.inputs == ("1:a:0",) and first.filters == (
        "aresample=48000:async=1:first_pts=0", "aformat=channel_layouts=mono", "atrim=end_sample=242000",
        "apad=whole_len=242000", "asetpts=PTS-STARTPTS")
    assert second.inputs == ("2:a:0",) and "atrim=end_sample=194000,apad=whole_len=194000" in second.text


def test_probe_decodes_strictly() -> None:
    assert probe_args(Path("x.mp4")) == ["-hide_banner", "-nostdin", "-xerror", "-err_detect", "explode", "-i",
                                         "x.mp4", "-map", "0:v:0", "-f", "null", "-"]


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
    graph, frames = crossfade_graph([49, 48, 49], [False, True], 12)
    assert frames == 49 + 48 + 49 - 12
    cmd = parse(fused_args([Path("a.mov"), Path("b.txt"), Path("c.mov")], graph, Path("x.mov")))
    assert cmd.inputs == [("a.mov", {}), ("b.txt", {"f": "concat", "safe": "0"}), ("c.mov", {})]
    assert cmd.graph is not None
    video, audio = (chain_to(cmd.graph, label) for label in cmd.maps("x.mov"))
    # One time base for every video link; the fade's offset is (97 - 12) / 24 s; both sides of the fade one frame
    # longer (5.1 stops blending when its first input ends), trimmed back after.
    assert video.filters == ("xfade=duration=0.500000:offset=3.541667:transition=fade", "trim=end_frame=134",
                             "settb=1/24", "setpts=N", "format=yuv420p")
    cut, faded_in = (chain_to(cmd.graph, label) for label in video.inputs)
    assert cut.filters == ("concat=a=0:n=2:v=1", "settb=1/24", "setpts=N", "tpad=stop=1:stop_mode=clone")
    assert faded_in.inputs == ("2:v",) and faded_in.filters == ("settb=1/24", "setpts=N", "tpad=stop=1:stop_mode=clone")
    assert [chain_to(cmd.graph, label).inputs for label in cut.inputs] == [("0:v",), ("1:v",)]
    assert audio.filters == ("acrossfade=c1=tri:c2=tri:d=0.500000", "anull") and audio.inputs[1] == "2:a"
    assert chain_to(cmd.graph, audio.inputs[0]).filters == ("concat=a=1:n=2:v=0",)
    assert sum(step.filter == "settb=1/24" for step in steps(cmd.graph)) == 5
    with pytest.raises(ValueError, match="3 part"):
        fused_args([Path("a.mov")], graph, Path("x.mov"))


def _finished(finish: AudioFinish) -> str:
    """The chain the film's sound ends in, from the mixing (or the film's own sound) to the mapped link."""
    cmd = parse(finish_args(Path("j.mov"), Path("f.mp4"), finish, 2.0))
    assert cmd.graph is not None and cmd.maps("f.mp4")[0] == "0:v:0"
    return chain_to(cmd.graph, cmd.maps("f.mp4")[1]).text


def test_audio_finishing_graphs() -> None:
    exact = "apad=whole_dur=2.000000,atrim=end=2.000000"
    assert _finished(AudioFinish("mute")) == f"volume=0,{exact},{exact}"
    assert _finished(AudioFinish("clips")) == f"anull,{exact}"
    ducked = parse(finish_args(Path("j.mov"), Path("f.mp4"), AudioFinish("soundtrack", Path("m.wav")), 2.0))
    assert ducked.graph is not None and ducked.files == ["j.mov", "m.wav"]
    mix = chain_to(ducked.graph, ducked.maps("f.mp4")[1])
    assert mix.filters == ("amix=duration=first:inputs=2:normalize=0", "apad=whole_dur=2.000000", "atrim=end=2.000000")
    compressed, voice = (chain_to(ducked.graph, label) for label in mix.inputs)
    assert compressed.filters == ("sidechaincompress=attack=20:ratio=8:release=300:threshold=0.03",)
    music, key = (chain_to(ducked.graph, label) for label in compressed.inputs)
    assert music.inputs == ("1:a",) and music.text == f"aformat=channel_layouts=stereo,aresample=48000,{exact}"
    assert key == voice and voice.inputs == ("0:a",) and voice.filters == ("asplit=2",)  # the two copies of one split
    replaced = _finished(AudioFinish("soundtrack", Path("m.wav"), duck=False))
    assert replaced == f"aformat=channel_layouts=stereo,aresample=48000,{exact},{exact}"
    quiet = Measured(integrated=-20.0, threshold=-30.0, lra=2.0, true_peak=-9.0)
    assert _finished(AudioFinish("clips", loudness_lufs=-14, measured=quiet)).endswith(f"{exact},volume=6.00dB")
    peaky = Measured(integrated=-20.0, threshold=-30.0, lra=2.0, true_peak=-3.0)  # +6 dB would clip: limit instead
    assert _finished(AudioFinish("clips", loudness_lufs=-14, measured=peaky)).endswith(
        f"{exact},loudnorm=I=-14:LRA=11:TP=-1.5:linear=true:measured_I=-20.0:measured_LRA=2.0:measured_TP=-3.0"
        ":measured_thresh=-30.0,aresample=48000")


def test_the_loudness_measurement_measures_the_mix_the_finish_encodes() -> None:
    finish = AudioFinish("soundtrack", Path("m.wav"), loudness_lufs=-14.0)
    measure = parse(loudness_measure_args(Path("j.mov"), finish, 2.0))
    assert measure.globals == ["-hide_banner", "-nostdin", "-nostats"]  # the summary is logged at info level
    assert list(measure.outputs) == ["-"] and measure.output("-") == {"f": "null"}
    assert measure.graph is not None
    measured = chain_to(measure.graph, measure.maps("-")[0])
    assert measured.filters[-1] == "ebur128=framelog=verbose:peak=true"  # the measuring pass
    # ffmpeg-python numbers inputs as it reaches them from the output: the ducked music is reached first here.
    assert measure.files == ["m.wav", "j.mov"]
    quiet = Measured(integrated=-20.0, threshold=-30.0, lra=2.0, true_peak=-9.0)
    corrected = AudioFinish("soundtrack", Path("m.wav"), loudness_lufs=-14.0, measured=quiet)
    finished = parse(finish_args(Path("j.mov"), Path("f.mp4"), corrected, 2.0))
    assert finished.graph is not None
    mixed = chain_to(finished.graph, finished.maps("f.mp4")[1])
    assert mixed.filters == (*measured.filters[:-1], "volume=6.00dB")  # the same mix measured, then corrected
    assert finished.output("f.mp4").items() >= {"c:v": "copy", "c:a": "aac", "movflags": "+faststart"}.items()


def test_every_filter_graph_is_compiled_by_ffmpeg_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[list[str]] = []
    real_get_args = command_module.ffmpeg.get_args

    def spy(node: object) -> list[str]:
        compiled.append(real_get_args(node))
        return compiled[-1]

    monkeypatch.setattr(command_module.ffmpeg, "get_args", spy)
    argvs = assembly_argvs(tmp_path)
    assert len(compiled) == len(argvs)
    for (name, argv), args in zip(argvs.items(), compiled, strict=True):
        assert argv[len(argv) - len(args):] == args, name  # global options, then what ffmpeg-python compiled
        assert "-af" not in argv and "-vf" not in argv, name
        cmd = parse(argv)
        if cmd.graph is not None:
            steps(cmd.graph)  # ffmpeg-python's labelled form: one filter a step, links s0, s1, ... used once
            assert all(label.startswith("s") or label[0].isdigit() for out in cmd.outputs.values()
                       for label in out[0]), name
        # the one graph left a string: the lavfi source of a silent clip's audio (ffmpeg-python has no sources)
        lavfi = [file for file, options in cmd.inputs if options.get("f") == "lavfi"]
        assert lavfi in ([], ["anullsrc=r=48000:cl=stereo"]), name
    assert {name for name, argv in argvs.items() if "-filter_complex" not in argv} == {
        "probe", "demux check", "audio samples", "header", "concat", "concat pcm", "first frame"}
    # every builder in ffmpeg.py that makes a command line is among those checked
    builders = {name for name in ffmpeg_args.__all__ if name.endswith("_args") and name != "aac_args"}
    assert builders == {"probe_args", "demux_check_args", "audio_samples_args", "normalize_args", "originals_args",
                        "concat_args", "fused_args", "loudness_measure_args", "finish_args", "concat_pcm_args",
                        "header_args", "seam_frames_args", "loudness_args", "poster_args", "first_frame_args"}


def test_the_node_wrapper_keeps_ffmpeg_python_from_changing_a_command() -> None:
    film = Input("f.mp4")
    twice = Input("f.mp4")  # two inputs of one file stay two -i (ffmpeg-python would merge equal nodes)
    both = [film["v:0"].filter("trim", end_frame=1), twice["v:0"].filter("trim", end_frame=1)]
    argv = command([Output(both, "out.mov", {"c:v": "libx264"})], ["-y"])
    assert argv[:5] == ["-y", "-i", "f.mp4", "-i", "f.mp4"] and argv[-3:] == ["-c:v", "libx264", "out.mov"]
    sound: Stream = film["a"]
    sound.filter("volume", 0)
    with pytest.raises(ValueError, match="one filter"):  # same arguments, same stream, another name: merged
        sound.filter("aresample", 0)
    with pytest.raises(ValueError, match="escaped"):
        film["v"].filter("scale", "w=320:h=180")


def test_a_crossfade_of_many_parts_compiles_however_deep_its_graph() -> None:
    graph, frames = crossfade_graph([24] * 60, [True] * 59, 12)  # about 300 links from the first input to the end
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 100)  # ffmpeg-python's sort recurses once a link
    try:
        argv = fused_args([Path(f"{i}.mov") for i in range(60)], graph, Path("x.mov"))
    finally:
        sys.setrecursionlimit(limit)
    cmd = parse(argv)
    assert cmd.graph is not None and len(cmd.files) == 60
    assert sum(step.name == "xfade" for step in steps(cmd.graph)) == 59 and frames == 60 * 24 - 59 * 12
