"""ffmpeg command lines as data (DESIGN.md §10 rule 8): every argv the assembly runs is built here, pure, and
asserted in unit tests. Nothing here runs anything.

Every intermediate is encoded with the same parameters (`VIDEO_CODEC_ARGS`), so the final join can copy video.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FPS = 24
AUDIO_RATE = 48_000
SAMPLES_PER_FRAME = AUDIO_RATE // FPS  # 2000: audio cut points land exactly on frame boundaries
JOIN_FADE_S = 0.005  # a few ms of fade at every clip edge: no click at any join
VIDEO_CODEC_ARGS: tuple[str, ...] = (
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", "-profile:v", "high",
    "-g", "48", "-bf", "2", "-threads", "2", "-video_track_timescale", "12288",
)
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

    @property
    def seconds(self) -> float:
        """Length of the intermediate."""
        return self.frames / FPS


def probe_args(path: Path) -> list[str]:
    """Header plus a strict decode of the first video stream: a truncated or corrupt clip fails here."""
    return ["-hide_banner", "-nostdin", "-xerror", "-err_detect", "explode", "-i", str(path),
            "-map", "0:v:0", "-f", "null", "-"]


def audio_samples_args(path: Path) -> list[str]:
    """Decode the first audio stream to raw 48 kHz mono s16 on stdout, to count samples exactly."""
    return [*QUIET, "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(AUDIO_RATE), "-f", "s16le",
            "-c:a", "pcm_s16le", "pipe:1"]


def normalize_args(src: Path, dest: Path, plan: NormalizePlan) -> list[str]:
    """One clip to an intermediate: trim, 24 fps, fit + pad to the output size, SAR 1, PCM stereo 48 kHz."""
    samples = plan.frames * SAMPLES_PER_FRAME
    video = (f"[0:v:0]trim=start_frame={plan.skip_frames},setpts=PTS-STARTPTS,fps={FPS},"
             f"scale={plan.width}:{plan.height}:force_original_aspect_ratio=decrease:flags=lanczos,"
             f"pad={plan.width}:{plan.height}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p,"
             f"trim=end_frame={plan.frames}[v]")
    source = "[0:a:0]" if plan.has_audio else "[1:a]"
    skip = plan.skip_frames * SAMPLES_PER_FRAME
    audio = (f"{source}aresample={AUDIO_RATE},aformat=sample_fmts=s16:channel_layouts=stereo,"
             f"atrim=start_sample={skip},asetpts=PTS-STARTPTS,apad=whole_len={samples},"
             f"atrim=end_sample={samples},afade=t=in:d={JOIN_FADE_S},"
             f"afade=t=out:st={plan.seconds - JOIN_FADE_S:.6f}:d={JOIN_FADE_S}[a]")
    silence = [] if plan.has_audio else ["-f", "lavfi", "-i", f"anullsrc=r={AUDIO_RATE}:cl=stereo"]
    return [*QUIET, "-i", str(src), *silence, "-filter_complex", f"{video};{audio}", "-map", "[v]", "-map", "[a]",
            *VIDEO_CODEC_ARGS, "-c:a", "pcm_s16le", *BITEXACT, "-f", "matroska", str(dest)]


def concat_list(parts: list[Path]) -> str:
    """The concat demuxer's list file: one `file` line per intermediate, quoted for the demuxer."""
    return "".join("file '" + str(p).replace("'", "'\\''") + "'\n" for p in parts)


def concat_args(list_file: Path, dest: Path) -> list[str]:
    """Join intermediates: video stream-copied (identical encoder settings), audio encoded once to AAC."""
    return [*QUIET, "-f", "concat", "-safe", "0", "-i", str(list_file), "-map", "0:v:0", "-map", "0:a:0",
            "-c:v", "copy", "-c:a", "aac", "-b:a", "192k", "-ar", str(AUDIO_RATE), *BITEXACT,
            "-movflags", "+faststart", "-f", "mp4", str(dest)]
