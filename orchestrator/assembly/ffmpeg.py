"""ffmpeg command lines as data (DESIGN.md §10 rule 8): every argv the assembly runs is built here, pure, and
asserted in unit tests. Nothing here runs anything (process.py does).

Each command is built of ffmpeg-python nodes (`command`: inputs, the filter graphs of `graphs`, outputs) and
compiled to argv; `command` says what compiling does to a command line (options sorted by name, links labelled
[s0], [s1], ...), and why none of it changes what ffmpeg does.

Every intermediate is encoded with the same parameters (`VIDEO_CODEC`), so the final join can copy video.
Intermediates and joins are QuickTime files with a video time base of 1/12288 s (512 ticks a frame at 24 fps), so
every frame time is exact; Matroska would round them to whole milliseconds (41 and 42 ms frames in turn).

Every command line here gives the same films with the bundled n9 build and Debian 12's 5.1 (README, "ffmpeg"); where
the two builds behave differently, the argument that makes them agree says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from orchestrator.assembly.command import Input, Option, Output, Stream, command
from orchestrator.assembly.graphs import (
    AUDIO_RATE,
    FPS,
    SAMPLES_PER_FRAME,
    AudioFinish,
    Crossfade,
    Delivery,
    Measured,
    NormalizePlan,
    audio_graph,
    clips_sound,
    crossfade_graph,
    delivered,
    fade_out,
    normalized,
    seam_frames,
)

__all__ = [  # with the names other modules take from here rather than from graphs: clock, plans, finishes
    "AUDIO_RATE", "BITEXACT", "FPS", "QUIET", "SAMPLES_PER_FRAME", "TIMESCALE", "VIDEO_CODEC", "AudioFinish",
    "Crossfade", "Delivery", "Measured", "NormalizePlan", "aac_args", "audio_samples_args", "concat_args",
    "concat_list", "concat_pcm_args", "crossfade_graph", "demux_check_args", "finish_args", "first_frame_args",
    "fused_args", "header_args", "loudness_args", "loudness_measure_args", "normalize_args", "originals_args",
    "poster_args", "probe_args", "seam_frames_args",
]

# Output options (each output's own, so each is a mapping: ffmpeg-python writes them sorted by name).
# Exact frame times in every file we write, in the tracks and in the movie header too: 5.1's muxer writes the movie
# header (and the edit lists) in milliseconds unless told otherwise, and its concat demuxer places the next file at
# that rounded length (37 frames: 1.542 s, 4 ticks late). 48 kHz counts frames and samples exactly.
TIMESCALE: Mapping[str, Option] = {"video_track_timescale": FPS * 512, "movie_timescale": AUDIO_RATE}
VIDEO_CODEC: Mapping[str, Option] = {
    "c:v": "libx264", "preset": "veryfast", "crf": 18, "pix_fmt": "yuv420p", "profile:v": "high", "g": 48, "bf": 2,
    "threads": 2, **TIMESCALE,
}
INTERMEDIATE: Mapping[str, Option] = {"f": "mov"}  # QuickTime: PCM audio, exact time base, copied by the concat demuxer
BITEXACT: Mapping[str, Option] = {"fflags": "+bitexact", "flags:v": "+bitexact", "flags:a": "+bitexact",
                                  "map_metadata": -1}
FILM: Mapping[str, Option] = {"movflags": "+faststart", "f": "mp4"}  # a finished film: index at the front
# Global options, written first (see `command`).
QUIET: tuple[str, ...] = ("-hide_banner", "-nostdin", "-y", "-loglevel", "error")
_REPORTING: tuple[str, ...] = ("-hide_banner", "-nostdin", "-nostats")  # info-level reports on stderr are read


def _concat_listed(list_file: Path) -> Input:
    """A concat demuxer's list (`concat_list`) read as one input."""
    return Input(list_file, f="concat", safe=0)


def probe_args(path: Path) -> list[str]:
    """Header plus a strict decode of the first video stream: a truncated or corrupt clip fails here."""
    clip = Input(path, err_detect="explode")
    return command([Output([clip["v:0"]], "-", {"f": "null"})], ("-hide_banner", "-nostdin", "-xerror"))


def demux_check_args(path: Path) -> list[str]:
    """Read every packet of the first video stream without decoding: exact frame count, container damage caught.

    Enough for a film whose video was stream-copied from intermediates that were each strictly decoded, and
    ten times faster than decoding a minute of 720p again."""
    film = Input(path)
    return command([Output([film["v:0"]], "-", {"c": "copy", "f": "null"})], ("-hide_banner", "-nostdin", "-xerror"))


def audio_samples_args(path: Path) -> list[str]:
    """Decode the first audio stream to raw 48 kHz mono s16 on stdout, to count samples exactly."""
    options: dict[str, Option] = {"ac": 1, "ar": AUDIO_RATE, "f": "s16le", "c:a": "pcm_s16le"}
    return command([Output([Input(path)["a:0"]], "pipe:1", options)], QUIET)


def normalize_args(src: Path, dests: list[Path], plan: NormalizePlan, commands: Path | None = None,
                   strict: bool = False) -> list[str]:
    """One clip to an intermediate: trim, 24 fps, fit + pad to the output size, SAR 1, PCM stereo 48 kHz; written to
    one file per piece of `plan.pieces` (as many `dests`). A graded clip whose grade ramps needs its `commands`
    file (`grading.ramp_commands`). `strict`: the clip is decoded as `probe_args` decodes it (the first error
    ends ffmpeg), so the normalisation also checks it."""
    if plan.grade is not None and plan.grade.ramps and commands is None:
        raise ValueError("a ramped grade needs its commands file")
    if len(dests) != len(plan.pieces):
        raise ValueError(f"{len(plan.pieces)} piece(s) to write, {len(dests)} file(s) given")
    clip = Input(src, err_detect="explode") if strict else Input(src)
    # A lavfi input's source is a filter graph that ffmpeg-python 0.2.0 cannot build (it has no source filters):
    # this one filter stays a string.
    sound = clip["a:0"] if plan.has_audio else Input(f"anullsrc=r={AUDIO_RATE}:cl=stereo", f="lavfi")["a"]
    options = {**VIDEO_CODEC, "c:a": "pcm_s16le", **BITEXACT, **INTERMEDIATE}
    pieces = normalized(clip["v:0"], sound, plan, commands)
    return command([Output(piece, dest, options) for piece, dest in zip(pieces, dests, strict=True)],
                   (*QUIET, "-xerror") if strict else QUIET)


def concat_list(parts: list[Path], frames: list[int] | None = None) -> str:
    """The concat demuxer's list file: one `file` line per clip, quoted for the demuxer, each starting at time 0,
    and, given each file's frame count, its exact length.

    `inpoint 0`: without it a file's timeline starts at its earliest packet, and an original's AAC priming packet
    (at -21 ms) would start its video 21 ms after its sound. `duration`: otherwise the demuxer places the next file
    where this one's header says it ends, which 5.1 reads rounded to the header's time scale (milliseconds in most
    files not written by us). Durations are in microseconds, so each is the difference of two rounded starts: the
    rounding never adds up along a film."""
    if frames is not None and len(frames) != len(parts):
        raise ValueError(f"{len(parts)} file(s), {len(frames)} frame count(s)")
    starts = [0]
    for count in frames or ():
        starts.append(starts[-1] + count)
    micros = [(2 * 1_000_000 * n + FPS) // (2 * FPS) for n in starts]  # n frames in whole microseconds, rounded
    lines = []
    for i, path in enumerate(parts):
        lines.append("file '" + str(path).replace("'", "'\\''") + "'\ninpoint 0\n")
        if frames is not None:
            length = micros[i + 1] - micros[i]
            lines.append(f"duration {length // 1_000_000}.{length % 1_000_000:06d}\n")
    return "".join(lines)


def _aac(channels: int) -> dict[str, Option]:
    """The film's audio encoding. Mono when every source is mono (the provider's clips are): it halves the one
    encode the final join waits for. The `fast` coder searches quantisers less than the default `twoloop`: on a
    film's music and ambience it encodes 2-2.5x faster at the same bit rate, which is most of the final join."""
    return {"c:a": "aac", "aac_coder": "fast", "b:a": "192k" if channels > 1 else "128k", "ac": channels,
            "ar": AUDIO_RATE}


def aac_args(channels: int) -> list[str]:
    """`_aac` as output arguments, for a command built by hand (the benchmarks)."""
    return [arg for key, value in _aac(channels).items() for arg in (f"-{key}", str(value))]


def originals_args(list_file: Path, originals: list[Path], frames: list[int], dest: Path, channels: int,
                   fade_seconds: float = 0.0) -> list[str]:
    """The fast path: the originals (`list_file` lists them, with `frames` each) joined with video stream-copied,
    and each clip's sound, read from the clip as an input of its own, cut or padded to exactly its frames' length,
    then encoded once to AAC.

    Sound through the concat demuxer would depend on the build: how much of an AAC track's encoder padding a decoder
    drops differs (5.1 keeps up to 1023 samples at the end of each clip, n9 none), and every clip's excess would
    delay all the sound after it. `-copyts` (a global option): when the demuxer's seek to a clip's start takes in
    its AAC priming packet (a clip with B-frames), the input seems to start 21 ms early, and ffmpeg would otherwise
    start the copied video 21 ms late to make up for it."""
    if len(originals) != len(frames):
        raise ValueError(f"{len(originals)} clip(s), {len(frames)} frame count(s)")
    listed = _concat_listed(list_file)
    sound = clips_sound([Input(path)["a:0"] for path in originals], frames, channels)
    sound = fade_out(sound, sum(frames) / FPS, fade_seconds)
    options = {"c:v": "copy", **TIMESCALE, **_aac(channels), **BITEXACT, **FILM}
    return command([Output([listed["v:0"], sound], dest, options)], (*QUIET, "-copyts"))


def concat_args(list_file: Path, dest: Path, channels: int = 2, frames: int = 0, fade_seconds: float = 0.0
                ) -> list[str]:
    """Join intermediates (or alike originals): video stream-copied, audio decoded and encoded once to AAC, so
    no clip's encoder padding is copied into the middle of the film; the sound faded out over its last
    `fade_seconds` of the film's `frames`."""
    listed = _concat_listed(list_file)
    sound = fade_out(listed["a:0"], frames / FPS, fade_seconds) if fade_seconds and frames else listed["a:0"]
    options = {"c:v": "copy", **TIMESCALE, **_aac(channels), **BITEXACT, **FILM}
    return command([Output([listed["v:0"], sound], dest, options)], QUIET)


# --- Transitions and finishing --------------------------------------------------------------------------------


def fused_args(parts: list[Path], graph: Crossfade, dest: Path) -> list[str]:
    """Crossfade a few intermediates into one more intermediate: the same video encoder settings as every other
    (so it joins the rest by stream copy), PCM audio. A part given as a `.txt` is a concat list: the pieces of
    one clip, read as one input."""
    inputs = [_concat_listed(p) if p.suffix == ".txt" else Input(p) for p in parts]
    options = {**VIDEO_CODEC, "c:a": "pcm_s16le", **BITEXACT, **INTERMEDIATE}
    return command([Output(graph.streams(inputs), dest, options)], QUIET)


def _finished(joined: Path, finish: AudioFinish, seconds: float) -> tuple[Input, Stream]:
    """The joined film as an input, and its finished audio (from the soundtrack too when it has one)."""
    film = Input(joined)
    soundtrack = Input(finish.soundtrack)["a"] if finish.soundtrack else None  # no -i unless the graph reads it
    return film, audio_graph(film["a"], soundtrack, finish, seconds)


def loudness_measure_args(joined: Path, finish: AudioFinish, seconds: float) -> list[str]:
    """First pass: the EBU R128 measures of the finished mix; the summary comes out on stderr (the last one: see
    `loudness_args`)."""
    _, audio = _finished(joined, finish, seconds)
    return command([Output([audio], "-", {"f": "null"})], _REPORTING)


def finish_args(joined: Path, dest: Path, finish: AudioFinish, seconds: float, channels: int = 2,
                picture: tuple[Delivery, int] | None = None) -> list[str]:
    """The final file: video copied, audio finished and encoded once to AAC 48 kHz, index at the front. With
    `picture` (the delivery and the joined film's frame count), the video is trimmed and brought to the delivery's
    frame rate, so encoded anew like the intermediates."""
    film, audio = _finished(joined, finish, seconds)
    if picture is None:
        video, encoding = film["v:0"], {"c:v": "copy", **TIMESCALE}
    else:
        delivery, frames = picture
        video = delivered(film["v:0"], delivery, frames)
        encoding = {**VIDEO_CODEC, "video_track_timescale": delivery.fps * 512, "r": delivery.fps}
    options = {**encoding, **_aac(channels), **BITEXACT, **FILM}
    return command([Output([video, audio], dest, options)], QUIET)


def concat_pcm_args(list_file: Path, dest: Path) -> list[str]:
    """Join intermediates losslessly (video copy, PCM audio kept) when finishing work follows."""
    listed = _concat_listed(list_file)
    options = {"c": "copy", **TIMESCALE, **BITEXACT, **INTERMEDIATE}
    return command([Output([listed["v:0"], listed["a:0"]], dest, options)], QUIET)


# --- QC: frames and levels at the joins


def header_args(path: Path) -> list[str]:
    """Read the header and decode one frame: the film's size, without the full decode of `probe_args`."""
    film = Input(path)
    return command([Output([film["v:0"]], "-", {"frames:v": 1, "f": "null"})], ("-hide_banner", "-nostdin"))


def seam_frames_args(path: Path, windows: list[tuple[int, int]], width: int, height: int, fps: int = FPS
                     ) -> list[str]:
    """Runs of frames, each (first 0-based index, count), ascending and apart, scaled to `width`x`height`, as raw
    rgb24 on stdout in order.

    Each run is read through its own input seeked to it, so only the frames since the keyframe before it are
    decoded (intermediates have one every 2 s), not the whole film up to its last seam. The seek aims half a frame
    early, so rounding the time can never skip the wanted frame; frames before the seek time are dropped.
    `-reinit_filter 0`: a joined film can change frame side data at a join, and a rebuilt graph would restart the
    frame count that `trim` relies on.
    """
    runs = []
    for first, count in windows:
        seek: dict[str, Option] = {"ss": f"{(first - 0.5) / fps:.6f}"} if first > 0 else {}
        runs.append((Input(path, reinit_filter=0, **seek)["v:0"], count))
    options: dict[str, Option] = {"fps_mode": "passthrough", "f": "rawvideo", "pix_fmt": "rgb24"}
    return command([Output([seam_frames(runs, width, height)], "pipe:1", options)], QUIET)


def loudness_args(path: Path) -> list[str]:
    """EBU R128 scan of the first audio stream; the summary (`I: -23.0 LUFS`) is logged at info level on stderr.
    5.1 logs an empty summary (`I: -70.0 LUFS`) before it, as in every graph given with -filter_complex: it builds
    the graph once to learn its links and frees it. The film's is the last."""
    scanned = Input(path)["a:0"].filter("ebur128", framelog="verbose")  # framelog=verbose: no line per 100 ms block
    return command([Output([scanned], "-", {"f": "null"})], _REPORTING)


# --- the review report: a poster per clip and film


def first_frame_args(src: Path) -> list[str]:
    """A video's first frame, as raw rgb24 at its own size on stdout (drift: the look of a chain's root)."""
    first = Input(src)["v:0"]
    return command([Output([first], "pipe:1", {"frames:v": 1, "f": "rawvideo", "pix_fmt": "rgb24"})], QUIET)


def poster_args(src: Path, dest: Path, width: int) -> list[str]:
    """The first frame of a video as a JPEG `width` pixels wide (height to scale, even)."""
    first = Input(src)["v:0"].filter("scale", width, -2)
    return command([Output([first], str(dest), {"frames:v": 1, "q:v": 4, "f": "image2"})], QUIET)
