"""What a clip is, read with the ffmpeg binary alone (the imageio-ffmpeg wheel ships no ffprobe): the header
ffmpeg prints, plus a strict decode that counts frames and rejects truncated or corrupt files.

Answers are remembered while the file is unchanged (`memo`): a clip probed when it was downloaded is not probed
again by the final join.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from orchestrator.assembly.errors import ClipInvalid, FfmpegFailed
from orchestrator.assembly.ffmpeg import audio_samples_args, demux_check_args, probe_args
from orchestrator.assembly.memo import FileMemo, Identity, identity
from orchestrator.assembly.process import run_ffmpeg, run_ffmpeg_stdout

_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #0:\d+[^:]*: (Video|Audio): (.*)")
_FRAMES = re.compile(r"frame=\s*(\d+)")


@dataclass(frozen=True)
class ClipInfo:
    """The facts assembly needs about one clip."""

    path: Path
    video_codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    frames: int
    duration: float
    audio_codec: str | None
    audio_rate: int | None
    audio_channels: str | None

    @property
    def has_audio(self) -> bool:
        """True when the clip carries an audio stream."""
        return self.audio_codec is not None


_probes: FileMemo[ClipInfo] = FileMemo()  # question: decode (a strict decode also answers a packet read)
_samples: FileMemo[int] = FileMemo()


async def probe(path: Path, *, decode: bool = True) -> ClipInfo:
    """Probe `path`, strictly decoding it (or, with decode=False, reading every packet without decoding);
    raise ClipInvalid naming the file when it cannot be used. An unchanged file is probed once per process."""
    if not path.is_file():
        raise ClipInvalid(path, "no such file")
    known = _probes.get(path, True) or (None if decode else _probes.get(path, False))
    if known is not None:
        return known if known.path == path else dataclasses.replace(known, path=path)
    seen = identity(path)
    try:
        report = await run_ffmpeg(probe_args(path) if decode else demux_check_args(path))
    except FfmpegFailed as exc:
        raise ClipInvalid(path, f"not a readable video (truncated or corrupt): {_last_line(exc.stderr)}") from exc
    info = parse_probe(path, report)
    _probes.put(path, info, decode, seen=seen)
    return info


def decoded_whole(path: Path, info: ClipInfo, seen: Identity | None) -> None:
    """Record that `path` (as it was at `seen`) decoded strictly from its first frame to its last, in work that
    decoded it for another purpose (a normalisation), so that no one decodes it again to check it."""
    _probes.put(path, info, True, seen=seen)


def damaged(report: str) -> bool:
    """Whether an ffmpeg report of a decode says the file is truncated or corrupt (ffmpeg may still exit 0)."""
    return "partial file" in report or "Invalid data found" in report


def parse_probe(path: Path, report: str) -> ClipInfo:
    """Read ffmpeg's report of a probe run (pure, so it is tested on text)."""
    video = audio = None
    for kind, details in _STREAM.findall(report):
        if kind == "Video" and video is None:
            video = _fields(details)
        elif kind == "Audio" and audio is None:
            audio = _fields(details)
    frames = [int(n) for n in _FRAMES.findall(report)]
    if video is None or not frames or frames[-1] == 0:
        raise ClipInvalid(path, "no decodable video stream")
    if damaged(report):
        # ffmpeg ends a cut-off file quietly at the last packet it has; the demuxer's complaint is the evidence
        raise ClipInvalid(path, f"truncated: only {frames[-1]} frames could be read")
    duration = _DURATION.search(report)
    size = next(f for f in video if re.fullmatch(r"\d+x\d+", f.split(" ")[0]))
    width, height = (int(v) for v in size.split(" ")[0].split("x"))
    fps = next((float(f.split()[0]) for f in video if f.endswith(" fps")), 0.0)
    return ClipInfo(
        path=path, video_codec=video[0].split()[0], pix_fmt=video[1].split("(")[0], width=width, height=height,
        fps=fps, frames=frames[-1],
        duration=sum(float(x) * m for x, m in zip(duration.groups(), (3600, 60, 1), strict=True)) if duration else 0.0,
        audio_codec=audio[0].split()[0] if audio else None,
        audio_rate=int(audio[1].split()[0]) if audio else None,
        audio_channels=audio[2] if audio else None,
    )


async def audio_samples(path: Path) -> int:
    """Exact number of 48 kHz samples in the first audio stream (0 when there is none); once per unchanged file."""
    return await _samples.answer(path, lambda: _count_samples(path))


async def _count_samples(path: Path) -> int:
    try:
        raw = await run_ffmpeg_stdout(audio_samples_args(path))
    except FfmpegFailed:
        return 0
    return len(raw) // 2


def _fields(details: str) -> list[str]:
    """Split a stream line on the commas that are not inside parentheses."""
    out, depth, current = [], 0, ""
    for char in details:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            out.append(current.strip())
            current = ""
        else:
            current += char
    out.append(current.strip())
    return out


def _last_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1][-200:] if lines else "ffmpeg gave no reason"
