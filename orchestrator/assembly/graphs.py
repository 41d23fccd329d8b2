"""The assembly's filter graphs, built of ffmpeg-python nodes (`command`): from input streams to the streams an output
maps. The command lines in `ffmpeg` give them their inputs and outputs; nothing here names a file or an option.

Also the film's clock, which every graph cuts to: 24 fps and 48 kHz, 2000 samples a frame.

Every graph gives the same films with the bundled n9 build and Debian 12's 5.1 (README, "ffmpeg"); where the two
builds behave differently, the filter that makes them agree says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.assembly.command import Input, Stream, concat, join
from orchestrator.assembly.grading import Grade

FPS = 24
AUDIO_RATE = 48_000
SAMPLES_PER_FRAME = AUDIO_RATE // FPS  # 2000: audio cut points land exactly on frame boundaries
TRUE_PEAK_DB = -1.5  # the loudness correction keeps true peaks at or below this
GRADE_FILTER = "anchor"  # the name of the colour anchor's lutyuv, which its ramp's commands address
JOIN_FADE_S = 0.005  # a few ms of fade at every clip edge: no click at any join
# A film's sound fades out along a quadratic curve: a linear fade still plays its last 50 ms only ~26 dB down, heard
# as a cut-off; the square is ~50 dB down there over a 1 s fade, while the ear hears the early part as a steady fade.
FADE_OUT_CURVE = "qua"
# async + first_pts=0: audio that starts after the video keeps its offset (filled with silence), not shifted.
_RESAMPLE = {"async": 1, "first_pts": 0}


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
    fit: str = "pad"  # a clip of another shape: pad (letterbox) or crop (fill the frame, cut the excess)
    grade: Grade | None = None  # the colour anchor's grade, ramped over the source clip's frames
    source_frames: int = 0  # the source clip's frames, over which the grade ramps
    source_rate: tuple[int, int] = (FPS, 1)  # and its frame rate, as a fraction (24000/1001: (24000, 1001))

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


def normalized(video: Stream, audio: Stream, plan: NormalizePlan, commands: Path | None = None
               ) -> list[tuple[Stream, Stream]]:
    """One clip trimmed, at 24 fps, fitted and padded to the output size, SAR 1, PCM stereo 48 kHz with faded edges:
    a (video, audio) pair for each of `plan.pieces`, each from time 0. A graded clip's ramp is set by `commands`."""
    samples = plan.frames * SAMPLES_PER_FRAME
    w, h = plan.width, plan.height
    if plan.grade is not None:
        video = graded(video, plan.grade, plan.source_rate, commands)
    video = video.filter("trim", start_frame=plan.skip_frames).filter("setpts", "PTS-STARTPTS").filter("fps", FPS)
    if plan.fit == "crop":
        video = (video.filter("scale", w, h, force_original_aspect_ratio="increase", flags="lanczos")
                 .filter("crop", w, h, "(iw-ow)/2", "(ih-oh)/2"))
    else:
        video = (video.filter("scale", w, h, force_original_aspect_ratio="decrease", flags="lanczos")
                 .filter("pad", w, h, "(ow-iw)/2", "(oh-ih)/2"))
    video = video.filter("setsar", 1).filter("format", "yuv420p").filter("trim", end_frame=plan.frames)
    audio = (audio.filter("aresample", AUDIO_RATE, **_RESAMPLE)
             .filter("aformat", sample_fmts="s16", channel_layouts="stereo")
             .filter("atrim", start_sample=plan.skip_samples).filter("asetpts", "PTS-STARTPTS")
             .filter("apad", whole_len=samples).filter("atrim", end_sample=samples)
             .filter("afade", t="in", d=str(JOIN_FADE_S))
             .filter("afade", t="out", st=f"{plan.seconds - JOIN_FADE_S:.6f}", d=str(JOIN_FADE_S)))
    pieces = plan.pieces
    if len(pieces) == 1:
        return [(video, audio)]
    # The clip's own edges fade before it is cut, not each piece; each piece is cut by frame and matching samples.
    videos, audios = video.split(len(pieces)), audio.split(len(pieces), audio=True)
    return [(v.filter("trim", start_frame=start, end_frame=end).filter("setpts", "PTS-STARTPTS"),
             a.filter("atrim", start_sample=start * SAMPLES_PER_FRAME, end_sample=end * SAMPLES_PER_FRAME)
             .filter("asetpts", "PTS-STARTPTS"))
            for v, a, (start, end) in zip(videos, audios, pieces, strict=True)]


def graded(video: Stream, grade: Grade, rate: tuple[int, int], commands: Path | None) -> Stream:
    """The clip with its grade: a lookup table on Y', Cb and Cr, set to `grade.start` on frame 0 and, when the
    grade ramps, set anew along the clip by the `commands` file (`grading.ramp_commands`), so each frame gets its
    share of the ramp: a table a frame costs next to nothing, where mixing two graded copies costs a second a clip.
    The clip is put in 8-bit 4:2:0 first: the table's code values are those (a 10-bit clip would get a quarter of
    the offsets)."""
    # Frame k at exactly k / rate (the clip's own rate, as a fraction), where its command is timed.
    video = video.filter("settb", f"{rate[1]}/{rate[0]}").filter("setpts", "N").filter("format", "yuv420p")
    if commands is not None:
        video = video.filter("sendcmd", f=str(commands))
    start = grade.start
    return video.filter(f"lutyuv@{GRADE_FILTER}", y=start.expression(0), u=start.expression(1),
                        v=start.expression(2))


@dataclass(frozen=True)
class Crossfade:
    """N intermediates joined into one, crossfading where `fades[i]` (the join before part i+1) and cutting
    elsewhere. Offsets are whole frames, so exact."""

    frames: tuple[int, ...]
    fades: tuple[bool, ...]
    fade_frames: int

    @property
    def total(self) -> int:
        """Frames of the result."""
        return sum(self.frames) - self.fade_frames * sum(self.fades)

    def streams(self, parts: Sequence[Input]) -> tuple[Stream, Stream]:
        """The graph over `parts` (one input each, in order): the joined video and audio."""
        if len(parts) != len(self.frames):
            raise ValueError(f"{len(self.frames)} part(s) to join, {len(parts)} input(s) given")
        fade_s = f"{self.fade_frames / FPS:.6f}"
        clocked = [_frame_clock(part["v"]) for part in parts]
        video, audio, total = clocked[0], parts[0]["a"], self.frames[0]
        for i in range(1, len(parts)):
            if self.fades[i - 1]:
                offset = f"{(total - self.fade_frames) / FPS:.6f}"
                total += self.frames[i] - self.fade_frames
                blend = join([_extended(video), _extended(clocked[i])], "xfade", transition="fade",
                             duration=fade_s, offset=offset)
                video = _frame_clock(blend.filter("trim", end_frame=total))
                audio = join([audio, parts[i]["a"]], "acrossfade", d=fade_s, c1="tri", c2="tri")
            else:
                video = _frame_clock(concat([video, clocked[i]], video=1, audio=0))
                audio = concat([audio, parts[i]["a"]], video=0, audio=1)
                total += self.frames[i]
        return video.filter("format", "yuv420p"), audio.filter("anull")


def crossfade_graph(frames: list[int], fades: list[bool], fade_frames: int) -> tuple[Crossfade, int]:
    """The graph joining N intermediates (`fused_args` gives it its inputs), and the film frames it makes."""
    graph = Crossfade(tuple(frames), tuple(fades), fade_frames)
    return graph, graph.total


def _frame_clock(video: Stream) -> Stream:
    """One time base for every video link: xfade refuses inputs whose time bases differ (concat outputs 1/1e6)."""
    return video.filter("settb", f"1/{FPS}").filter("setpts", "N")


def _extended(video: Stream) -> Stream:
    """One copy of the last frame more. 5.1's xfade stops blending when its first input ends, two frames before the
    fade does when the input ends with it (as here, always); n9's blends to the end. Both inputs get it, which
    neither build shows (the trim after xfade keeps the exact frame count): 5.1 waits for a frame on the second
    input for as long as the first has one, so padding the first alone would hang it on an edge piece."""
    return video.filter("tpad", stop=1, stop_mode="clone")


@dataclass(frozen=True)
class Delivery:
    """The picture of a delivered film: the frames of the joined film it keeps (24 fps frames, `end` exclusive,
    None: to the end), and its frame rate. Another rate repeats frames, never blends them: output frame k shows
    the last source frame whose time, rounded half up to the output's frame grid, is at most k (ffmpeg's `fps`
    filter, the same in every supported build)."""

    start: int = 0
    end: int | None = None
    fps: int = FPS

    @property
    def changes_picture(self) -> bool:
        """Whether the video must be encoded anew (a trim or another frame rate)."""
        return self.start > 0 or self.end is not None or self.fps != FPS

    def kept(self, frames: int) -> int:
        """Frames of the joined film (of `frames`) that the delivered film keeps, at 24 fps."""
        return (frames if self.end is None else min(self.end, frames)) - self.start

    def frames(self, frames: int) -> int:
        """The delivered film's frame count, from the joined film's."""
        return self.tick(self.kept(frames))

    def tick(self, frame: int) -> int:
        """The delivered frame where the kept part's frame `frame` (24 fps, counted from the in point) first shows."""
        return (2 * frame * self.fps + FPS) // (2 * FPS)

    def position(self, frame: int) -> int | None:
        """Where the joined film's frame `frame` first shows in the delivered film; None when trimmed away."""
        if frame < self.start or (self.end is not None and frame >= self.end):
            return None
        return self.tick(frame - self.start)


def delivered(video: Stream, delivery: Delivery, frames: int) -> Stream:
    """The joined film's picture trimmed and at the delivery's rate, exactly `delivery.frames(frames)` frames."""
    count = delivery.frames(frames)
    kept = video.filter("trim", start_frame=delivery.start, end_frame=delivery.start + delivery.kept(frames))
    # The trim after tpad pins the count whatever the build's end-of-stream rounding (tpad gives one spare frame).
    return (kept.filter("setpts", "PTS-STARTPTS").filter("fps", delivery.fps).filter("tpad", stop=1, stop_mode="clone")
            .filter("trim", end_frame=count).filter("setpts", "PTS-STARTPTS").filter("format", "yuv420p"))


@dataclass(frozen=True)
class Measured:
    """EBU R128 measures of a mix (ebur128's summary)."""

    integrated: float  # LUFS
    threshold: float  # LUFS: the relative gate of the integrated measure
    lra: float  # LU
    true_peak: float  # dBTP


@dataclass(frozen=True)
class AudioFinish:
    """What the film's audio becomes: clip audio, muted, or a soundtrack (ducked under the clips or replacing them),
    optionally normalised to an integrated loudness."""

    mode: str  # clips | mute | soundtrack
    soundtrack: Path | None = None
    duck: bool = True
    loudness_lufs: float | None = None
    measured: Measured | None = None  # the first pass's measurement, for the second pass
    fade_out_seconds: float = 0.0  # the sound fades to silence over the film's last this many seconds
    window: tuple[int, int] | None = None  # the samples of the joined film's sound kept (a trim), end exclusive


def audio_graph(film: Stream, soundtrack: Stream | None, finish: AudioFinish, seconds: float) -> Stream:
    """The film's finished audio, from the joined film's audio and the soundtrack's."""

    def exact(audio: Stream) -> Stream:
        return audio.filter("apad", whole_dur=f"{seconds:.6f}").filter("atrim", end=f"{seconds:.6f}")

    if finish.window is not None:
        film = (film.filter("atrim", start_sample=finish.window[0], end_sample=finish.window[1])
                .filter("asetpts", "PTS-STARTPTS"))
    if finish.mode == "mute":
        mix = exact(film.filter("volume", 0))
    elif finish.mode == "soundtrack":
        if soundtrack is None:
            raise ValueError("a soundtrack finish without a soundtrack")
        music = exact(soundtrack.filter("aformat", channel_layouts="stereo").filter("aresample", AUDIO_RATE))
        if finish.duck:  # the clips' own sound (dialogue, effects) pushes the music down while it plays
            voice, key = film.split(2, audio=True)
            ducked = join([music, key], "sidechaincompress", threshold="0.03", ratio=8, attack=20, release=300)
            mix = join([ducked, voice], "amix", inputs=2, duration="first", normalize=0)
        else:
            mix = music
    else:
        mix = film.filter("anull")
    # Mixing and compression may end a little early; the film's audio is always exactly the video's length. The
    # fade comes before the loudness step, which measures and corrects the sound as it will be heard.
    return _loudness(fade_out(exact(mix), seconds, finish.fade_out_seconds), finish)


def fade_out(audio: Stream, seconds: float, fade_seconds: float) -> Stream:
    """The sound faded to silence over its last `fade_seconds` (at most half the film), ending at `seconds`."""
    length = min(fade_seconds, seconds / 2)
    if length <= 0:
        return audio
    return audio.filter("afade", t="out", st=f"{seconds - length:.6f}", d=f"{length:.6f}", curve=FADE_OUT_CURVE)


def _loudness(audio: Stream, finish: AudioFinish) -> Stream:
    """The loudness step: the EBU R128 measurement (first pass), then the correction (second pass).

    The correction is the measured gap as a plain gain when the true peak stays under TRUE_PEAK_DB after it, as
    loudnorm's linear mode does, without loudnorm's 192 kHz processing; otherwise loudnorm, given the measurement,
    limits the peaks. Measuring with ebur128 is five times faster than loudnorm's own first pass."""
    if finish.loudness_lufs is None:
        return audio
    m = finish.measured
    if m is None:
        return audio.filter("ebur128", peak="true", framelog="verbose")
    gain = finish.loudness_lufs - m.integrated
    if m.true_peak + gain <= TRUE_PEAK_DB:
        return audio.filter("volume", f"{gain:.2f}dB")
    return audio.filter("loudnorm", I=str(finish.loudness_lufs), TP=str(TRUE_PEAK_DB), LRA=11,
                        measured_I=str(m.integrated), measured_TP=str(m.true_peak), measured_LRA=str(m.lra),
                        measured_thresh=str(m.threshold), linear="true").filter("aresample", AUDIO_RATE)


def clips_sound(sounds: Sequence[Stream], frames: Sequence[int], channels: int) -> Stream:
    """Each clip's sound cut or padded to exactly its frames' length, in `channels`, one after the other."""
    layout = "stereo" if channels > 1 else "mono"
    cut = [sound.filter("aresample", AUDIO_RATE, **_RESAMPLE).filter("aformat", channel_layouts=layout)
           .filter("atrim", end_sample=count * SAMPLES_PER_FRAME).filter("apad", whole_len=count * SAMPLES_PER_FRAME)
           .filter("asetpts", "PTS-STARTPTS")
           for sound, count in zip(sounds, frames, strict=True)]
    return concat(cut, video=0, audio=1)


def seam_frames(runs: Sequence[tuple[Stream, int]], width: int, height: int) -> Stream:
    """Runs of frames (each a stream starting at the run, and its length), scaled, one after the other."""
    return concat([video.filter("trim", end_frame=count).filter("setpts", "PTS-STARTPTS")
                   .filter("scale", width, height, flags="area") for video, count in runs], video=1, audio=0)
