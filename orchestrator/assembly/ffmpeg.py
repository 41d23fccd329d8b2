"""ffmpeg command lines as data (DESIGN.md §10 rule 8): every argv the assembly runs is built here, pure, and
asserted in unit tests. Nothing here runs anything.

Every intermediate is encoded with the same parameters (`VIDEO_CODEC_ARGS`), so the final join can copy video.
Intermediates and joins are QuickTime files with a video time base of 1/12288 s (512 ticks a frame at 24 fps), so
every frame time is exact; Matroska would round them to whole milliseconds (41 and 42 ms frames in turn).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FPS = 24
AUDIO_RATE = 48_000
SAMPLES_PER_FRAME = AUDIO_RATE // FPS  # 2000: audio cut points land exactly on frame boundaries
TRUE_PEAK_DB = -1.5  # the loudness correction keeps true peaks at or below this
JOIN_FADE_S = 0.005  # a few ms of fade at every clip edge: no click at any join
TIMESCALE: tuple[str, ...] = ("-video_track_timescale", str(FPS * 512))  # exact frame times in every file we write
VIDEO_CODEC_ARGS: tuple[str, ...] = (
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", "-profile:v", "high",
    "-g", "48", "-bf", "2", "-threads", "2", *TIMESCALE,
)
INTERMEDIATE = ("-f", "mov")  # QuickTime: PCM audio, exact time base, stream-copied by the concat demuxer
BITEXACT: tuple[str, ...] = ("-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
                             "-map_metadata", "-1")
QUIET: tuple[str, ...] = ("-hide_banner", "-nostdin", "-y", "-loglevel", "error")


@dataclass(frozen=True)
class NormalizePlan:
    """How one clip becomes an intermediate: output geometry, frames dropped at the start, frames kept."""

    width: int
    height: int
    skip_frames: int  # 1 for a chained child: its first frame repeats its parent's last
    frames: int  # frames the intermediate keeps
    has_audio: bool
    skip_samples: int = 0  # the audio of the skipped frames at the source's frame rate (2000 at 24 fps)
    edge_frames: int = 0  # when > 0: the first and last this many frames are written as pieces of their own

    @property
    def seconds(self) -> float:
        """Length of the intermediate."""
        return self.frames / FPS

    @property
    def pieces(self) -> list[tuple[int, int]]:
        """The frame ranges written as separate files, in order: the whole clip, or head, body and tail. A
        crossfade then re-encodes only a tail and a head; everything else joins by copy."""
        edge, n = self.edge_frames, self.frames
        return [(0, edge), (edge, n - edge), (n - edge, n)] if edge else [(0, n)]


def probe_args(path: Path) -> list[str]:
    """Header plus a strict decode of the first video stream: a truncated or corrupt clip fails here."""
    return ["-hide_banner", "-nostdin", "-xerror", "-err_detect", "explode", "-i", str(path),
            "-map", "0:v:0", "-f", "null", "-"]


def demux_check_args(path: Path) -> list[str]:
    """Read every packet of the first video stream without decoding: exact frame count, container damage caught.

    Enough for a film whose video was stream-copied from intermediates that were each strictly decoded, and
    ten times faster than decoding a minute of 720p again."""
    return ["-hide_banner", "-nostdin", "-xerror", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"]


def audio_samples_args(path: Path) -> list[str]:
    """Decode the first audio stream to raw 48 kHz mono s16 on stdout, to count samples exactly."""
    return [*QUIET, "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(AUDIO_RATE), "-f", "s16le",
            "-c:a", "pcm_s16le", "pipe:1"]


def normalize_args(src: Path, dests: list[Path], plan: NormalizePlan) -> list[str]:
    """One clip to an intermediate: trim, 24 fps, fit + pad to the output size, SAR 1, PCM stereo 48 kHz; written to
    one file per piece of `plan.pieces` (as many `dests`)."""
    samples = plan.frames * SAMPLES_PER_FRAME
    video = (f"[0:v:0]trim=start_frame={plan.skip_frames},setpts=PTS-STARTPTS,fps={FPS},"
             f"scale={plan.width}:{plan.height}:force_original_aspect_ratio=decrease:flags=lanczos,"
             f"pad={plan.width}:{plan.height}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p,"
             f"trim=end_frame={plan.frames}[v]")
    source = "[0:a:0]" if plan.has_audio else "[1:a]"
    skip = plan.skip_samples
    # async + first_pts=0: audio that starts after the video keeps its offset (filled with silence), not shifted.
    audio = (f"{source}aresample={AUDIO_RATE}:async=1:first_pts=0,aformat=sample_fmts=s16:channel_layouts=stereo,"
             f"atrim=start_sample={skip},asetpts=PTS-STARTPTS,apad=whole_len={samples},"
             f"atrim=end_sample={samples},afade=t=in:d={JOIN_FADE_S},"
             f"afade=t=out:st={plan.seconds - JOIN_FADE_S:.6f}:d={JOIN_FADE_S}[a]")
    silence = [] if plan.has_audio else ["-f", "lavfi", "-i", f"anullsrc=r={AUDIO_RATE}:cl=stereo"]
    if len(dests) != len(plan.pieces):
        raise ValueError(f"{len(plan.pieces)} piece(s) to write, {len(dests)} file(s) given")
    graph, outputs = f"{video};{audio}", [("[v]", "[a]")]
    if len(dests) > 1:
        graph, outputs = graph + ";" + _split_graph(plan.pieces), [(f"[v{i}]", f"[a{i}]") for i in range(len(dests))]
    per_output = [*VIDEO_CODEC_ARGS, "-c:a", "pcm_s16le", *BITEXACT, *INTERMEDIATE]
    written = [arg for (v, a), dest in zip(outputs, dests, strict=True)
               for arg in ("-map", v, "-map", a, *per_output, str(dest))]
    return [*QUIET, "-i", str(src), *silence, "-filter_complex", graph, *written]


def _split_graph(pieces: list[tuple[int, int]]) -> str:
    """[v] and [a] cut into [v0][a0], [v1][a1], ... by frame (and the matching samples), each from time 0."""
    count = len(pieces)
    steps = ["[v]split=" + str(count) + "".join(f"[vs{i}]" for i in range(count)),
             "[a]asplit=" + str(count) + "".join(f"[as{i}]" for i in range(count))]
    for i, (start, end) in enumerate(pieces):
        steps.append(f"[vs{i}]trim=start_frame={start}:end_frame={end},setpts=PTS-STARTPTS[v{i}]")
        steps.append(f"[as{i}]atrim=start_sample={start * SAMPLES_PER_FRAME}:end_sample={end * SAMPLES_PER_FRAME},"
                     f"asetpts=PTS-STARTPTS[a{i}]")
    return ";".join(steps)


def concat_list(parts: list[Path]) -> str:
    """The concat demuxer's list file: one `file` line per clip, quoted for the demuxer, each starting at time 0.

    `inpoint 0`: without it a file's timeline starts at its earliest packet, and an original's AAC priming packet
    (at -21 ms) would start its video 21 ms after its sound."""
    return "".join("file '" + str(p).replace("'", "'\\''") + "'\ninpoint 0\n" for p in parts)


def aac_args(channels: int) -> list[str]:
    """The film's audio encoding. Mono when every source is mono (the provider's clips are): it halves the one
    encode the final join waits for. The `fast` coder searches quantisers less than the default `twoloop`: on a
    film's music and ambience it encodes 2-2.5x faster at the same bit rate, which is most of the final join."""
    return ["-c:a", "aac", "-aac_coder", "fast", "-b:a", "192k" if channels > 1 else "128k", "-ac", str(channels),
            "-ar", str(AUDIO_RATE)]


def concat_args(list_file: Path, dest: Path, channels: int = 2) -> list[str]:
    """Join intermediates (or alike originals): video stream-copied, audio decoded and encoded once to AAC, so
    no clip's encoder padding is copied into the middle of the film."""
    return [*QUIET, "-f", "concat", "-safe", "0", "-i", str(list_file), "-map", "0:v:0", "-map", "0:a:0",
            "-c:v", "copy", *TIMESCALE, *aac_args(channels), *BITEXACT, "-movflags", "+faststart", "-f", "mp4",
            str(dest)]


# --- Transitions and finishing --------------------------------------------------------------------------------


def crossfade_graph(frames: list[int], fades: list[bool], fade_frames: int) -> tuple[str, int]:
    """The filter graph joining N intermediates, crossfading where `fades[i]` (the join before input i+1) and
    cutting elsewhere; returns (graph ending in [v] and [a], film frames). Offsets are whole frames, so exact."""
    fade_s = fade_frames / FPS
    # One time base for every video link: xfade refuses inputs whose time bases differ (concat outputs 1/1e6).
    frame_clock = f"settb=1/{FPS},setpts=N"
    steps = [f"[{i}:v]{frame_clock}[in{i}]" for i in range(len(frames))]
    video, audio, total = "[in0]", "[0:a]", frames[0]
    for i in range(1, len(frames)):
        v_out, a_out = f"[v{i}]", f"[a{i}]"
        if fades[i - 1]:
            steps.append(f"{video}[in{i}]xfade=transition=fade:duration={fade_s:.6f}:"
                         f"offset={(total - fade_frames) / FPS:.6f},{frame_clock}{v_out}")
            steps.append(f"{audio}[{i}:a]acrossfade=d={fade_s:.6f}:c1=tri:c2=tri{a_out}")
            total += frames[i] - fade_frames
        else:
            steps.append(f"{video}[in{i}]concat=n=2:v=1:a=0,{frame_clock}{v_out}")
            steps.append(f"{audio}[{i}:a]concat=n=2:v=0:a=1{a_out}")
            total += frames[i]
        video, audio = v_out, a_out
    steps.append(f"{video}format=yuv420p[v]")
    steps.append(f"{audio}anull[a]")
    return ";".join(steps), total


def fused_args(parts: list[Path], graph: str, dest: Path) -> list[str]:
    """Crossfade a few intermediates into one more intermediate: the same video encoder settings as every other
    (so it joins the rest by stream copy), PCM audio. A part given as a `.txt` is a concat list: the pieces of
    one clip, read as one input."""
    listed = ("-f", "concat", "-safe", "0")
    inputs = [arg for p in parts for arg in (*(listed if p.suffix == ".txt" else ()), "-i", str(p))]
    return [*QUIET, *inputs, "-filter_complex", graph, "-map", "[v]", "-map", "[a]", *VIDEO_CODEC_ARGS,
            "-c:a", "pcm_s16le", *BITEXACT, *INTERMEDIATE, str(dest)]


@dataclass(frozen=True)
class AudioFinish:
    """What the film's audio becomes: clip audio, muted, or a soundtrack (ducked under the clips or replacing them),
    optionally normalised to an integrated loudness."""

    mode: str  # clips | mute | soundtrack
    soundtrack: Path | None = None
    duck: bool = True
    loudness_lufs: float | None = None
    measured: Measured | None = None  # the first pass's measurement, for the second pass


@dataclass(frozen=True)
class Measured:
    """EBU R128 measures of a mix (ebur128's summary)."""

    integrated: float  # LUFS
    threshold: float  # LUFS: the relative gate of the integrated measure
    lra: float  # LU
    true_peak: float  # dBTP


def audio_graph(finish: AudioFinish, seconds: float) -> str:
    """The audio filter graph from the joined film ([0:a]) and the soundtrack ([1:a]) to [out]."""
    length = f"apad=whole_dur={seconds:.6f},atrim=end={seconds:.6f}"
    if finish.mode == "mute":
        chain = f"[0:a]volume=0,{length}"
    elif finish.mode == "soundtrack" and finish.duck:
        # The clips' own sound (dialogue, effects) pushes the music down while it plays.
        chain = (f"[1:a]aformat=channel_layouts=stereo,aresample={AUDIO_RATE},{length}[music];"
                 "[0:a]asplit=2[voice][key];"
                 "[music][key]sidechaincompress=threshold=0.03:ratio=8:attack=20:release=300[ducked];"
                 "[ducked][voice]amix=inputs=2:duration=first:normalize=0")
    elif finish.mode == "soundtrack":
        chain = f"[1:a]aformat=channel_layouts=stereo,aresample={AUDIO_RATE},{length}"
    else:
        chain = "[0:a]anull"
    # Mixing and compression may end a little early; the film's audio is always exactly the video's length.
    return f"{chain},{length}" + _loudness(finish) + "[out]"


def _loudness(finish: AudioFinish) -> str:
    """The loudness step of the graph: the EBU R128 measurement (first pass), then the correction (second pass).

    The correction is the measured gap as a plain gain when the true peak stays under TRUE_PEAK_DB after it, as
    loudnorm's linear mode does, without loudnorm's 192 kHz processing; otherwise loudnorm, given the measurement,
    limits the peaks. Measuring with ebur128 is five times faster than loudnorm's own first pass."""
    if finish.loudness_lufs is None:
        return ""
    m = finish.measured
    if m is None:
        return ",ebur128=peak=true:framelog=verbose"
    gain = finish.loudness_lufs - m.integrated
    if m.true_peak + gain <= TRUE_PEAK_DB:
        return f",volume={gain:.2f}dB"
    return (f",loudnorm=I={finish.loudness_lufs}:TP={TRUE_PEAK_DB}:LRA=11:measured_I={m.integrated}"
            f":measured_TP={m.true_peak}:measured_LRA={m.lra}:measured_thresh={m.threshold}:linear=true"
            f",aresample={AUDIO_RATE}")


def loudness_measure_args(joined: Path, finish: AudioFinish, seconds: float) -> list[str]:
    """First pass: the EBU R128 measures of the finished mix; the summary comes out on stderr."""
    inputs = ["-i", str(joined), *(["-i", str(finish.soundtrack)] if finish.soundtrack else [])]
    return ["-hide_banner", "-nostdin", "-nostats", *inputs, "-filter_complex", audio_graph(finish, seconds),
            "-map", "[out]", "-f", "null", "-"]


def finish_args(joined: Path, dest: Path, finish: AudioFinish, seconds: float, channels: int = 2) -> list[str]:
    """The final file: video copied, audio finished and encoded once to AAC 48 kHz, index at the front."""
    inputs = ["-i", str(joined), *(["-i", str(finish.soundtrack)] if finish.soundtrack else [])]
    return [*QUIET, *inputs, "-filter_complex", audio_graph(finish, seconds), "-map", "0:v:0", "-map", "[out]",
            "-c:v", "copy", *TIMESCALE, *aac_args(channels), *BITEXACT, "-movflags", "+faststart", "-f", "mp4",
            str(dest)]


def concat_pcm_args(list_file: Path, dest: Path) -> list[str]:
    """Join intermediates losslessly (video copy, PCM audio kept) when finishing work follows."""
    return [*QUIET, "-f", "concat", "-safe", "0", "-i", str(list_file), "-map", "0:v:0", "-map", "0:a:0",
            "-c", "copy", *TIMESCALE, *BITEXACT, *INTERMEDIATE, str(dest)]


# --- QC: frames and levels at the joins


def header_args(path: Path) -> list[str]:
    """Read the header and decode one frame: the film's size, without the full decode of `probe_args`."""
    return ["-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0", "-frames:v", "1", "-f", "null", "-"]


def seam_frames_args(path: Path, windows: list[tuple[int, int]], width: int, height: int) -> list[str]:
    """Runs of frames, each (first 0-based index, count), ascending and apart, scaled to `width`x`height`, as raw
    rgb24 on stdout in order.

    Each run is read through its own input seeked to it, so only the frames since the keyframe before it are
    decoded (intermediates have one every 2 s), not the whole film up to its last seam. The seek aims half a frame
    early, so rounding the time can never skip the wanted frame; frames before the seek time are dropped.
    `-reinit_filter 0`: a joined film can change frame side data at a join, and a rebuilt graph would restart the
    frame count that `trim` relies on.
    """
    inputs: list[str] = []
    graph = []
    for i, (first, count) in enumerate(windows):
        seek = ["-ss", f"{(first - 0.5) / FPS:.6f}"] if first > 0 else []
        inputs += [*seek, "-reinit_filter", "0", "-i", str(path)]
        graph.append(f"[{i}:v:0]trim=end_frame={count},setpts=PTS-STARTPTS,scale={width}:{height}:flags=area[s{i}]")
    graph.append("".join(f"[s{i}]" for i in range(len(windows))) + f"concat=n={len(windows)}:v=1:a=0[frames]")
    return [*QUIET, *inputs, "-filter_complex", ";".join(graph), "-map", "[frames]", "-fps_mode", "passthrough",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]


def loudness_args(path: Path) -> list[str]:
    """EBU R128 scan of the first audio stream; the summary (`I: -23.0 LUFS`) is logged at info level on stderr."""
    return ["-hide_banner", "-nostdin", "-nostats", "-i", str(path), "-map", "0:a:0",
            "-af", "ebur128=framelog=verbose", "-f", "null", "-"]  # framelog=verbose: no line per 100 ms block
