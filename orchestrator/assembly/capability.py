"""Can this ffmpeg make our films? The binary in use is asked once per process (per path and mtime) for its version
and its filters, encoders, decoders, muxers and demuxers, which are compared with everything the assembly and the
simulator's renderer use. A build that lacks any is refused in one line, before anything is spent.

The version floor is 5.1: `-fps_mode` (the seam reader's) first appeared in 5.1, and 5.1 (Debian 12) and the bundled
n9 are the builds the suite runs against. Below it the command lines themselves would be refused mid-film.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from orchestrator.assembly.errors import FfmpegUnsuitable
from orchestrator.assembly.process import ask_ffmpeg
from orchestrator.binaries import FfmpegChoice, Source, ffmpeg_choice

MIN_VERSION = (5, 1)
QUERY_TIMEOUT_S = 20.0

# Everything ffmpeg.py and simulator/render.py name, by the listing that shows it (tests/assembly/test_capability.py
# checks the command lines against this table, so a new filter cannot be used without being required here).
REQUIRED: dict[str, tuple[str, ...]] = {
    "filters": ("acrossfade", "aevalsrc", "afade", "aformat", "amix", "anull", "anullsrc", "apad", "aresample",
                "asetpts", "asplit", "atrim", "concat", "ebur128", "format", "fps", "loudnorm", "pad", "scale",
                "setparams", "setpts", "setsar", "settb", "sidechaincompress", "split", "tpad", "trim", "volume",
                "xfade"),
    "encoders": ("aac", "libx264", "mjpeg", "pcm_s16le", "rawvideo"),
    "decoders": ("aac", "h264", "pcm_s16le", "rawvideo"),
    "muxers": ("image2", "mov", "mp4", "null", "rawvideo", "s16le"),
    "demuxers": ("concat", "lavfi", "mov", "rawvideo"),
}
_SINGULAR = {"filters": "filter", "encoders": "encoder", "decoders": "decoder", "muxers": "muxer",
             "demuxers": "demuxer"}
_VERSION = re.compile(r"ffmpeg version n?(\d+)\.(\d+)")
_BANNER = re.compile(r"ffmpeg version (\S+)")
_FILTER = re.compile(r"^ [A-Z.|]{2,3} (\S+) +\S*->\S*")


@dataclass(frozen=True)
class FfmpegReport:
    """What `doctor` prints about ffmpeg, and what `run` and `assemble` refuse on: `missing` empty means usable."""

    path: str
    source: Source
    version: str  # the banner's version word (e.g. "5.1.9-0+deb12u1", "n9.0.2-17-g2a571b6068-20260930")
    missing: tuple[str, ...]  # e.g. ("filter xfade", "version 5.1 or later")
    setting: str | None = None  # what ORCHESTRATOR_FFMPEG said, when it chose the binary
    banner: str = ""  # the first line of `-version`: the build's identity in cache keys

    @property
    def ok(self) -> bool:
        """True when the binary has everything assembly uses."""
        return not self.missing

    def line(self) -> str:
        """One line: the binary, its version, and what it lacks with the fix, or that it has everything."""
        where = f"{self.path} ({self.source}, version {self.version})"
        if self.ok:
            return f"ffmpeg {where}: has every filter, codec and format assembly uses"
        return f"ffmpeg {where} cannot make films: missing {', '.join(self.missing)}; {self.fix()}"

    def fix(self) -> str:
        """What to do about it."""
        if self.source == "ORCHESTRATOR_FFMPEG":
            return "unset ORCHESTRATOR_FFMPEG to use the bundled build"
        return ("reinstall the imageio-ffmpeg wheel (make clean && make test), or set ORCHESTRATOR_FFMPEG to an ffmpeg "
                f"{MIN_VERSION[0]}.{MIN_VERSION[1]} or later")


_reports: dict[tuple[str, int, int], FfmpegReport] = {}
_lock = threading.Lock()  # one set of queries however many threads ask at once


def ffmpeg_report() -> FfmpegReport:
    """The report on the binary in use, asked once per process for each (path, mtime): a few hundred ms at first."""
    choice = ffmpeg_choice()
    key = _identity(choice)
    if isinstance(key, FfmpegReport):
        return key
    with _lock:
        if key not in _reports:
            _reports[key] = _ask(choice)
        return _as_chosen(_reports[key], choice)


def known_report() -> FfmpegReport | None:
    """The report when this process already has it for the binary in use (a stat, no process), else None."""
    choice = ffmpeg_choice()
    key = _identity(choice)
    if isinstance(key, FfmpegReport):
        return key
    with _lock:
        found = _reports.get(key)
    return None if found is None else _as_chosen(found, choice)


async def ffmpeg_ready() -> FfmpegReport:
    """`require_ffmpeg` from a coroutine: the first time for a binary off the event loop (it starts processes),
    then from memory."""
    known = known_report()
    return require_ffmpeg(known) if known is not None else await asyncio.to_thread(require_ffmpeg)


async def ffmpeg_version() -> str:
    """The first line of `ffmpeg -version`: intermediates made by another build are not reused. A binary that lacks
    anything assembly uses is refused here (FfmpegUnsuitable), before it encodes a clip."""
    return (await ffmpeg_ready()).banner


def require_ffmpeg(report: FfmpegReport | None = None) -> FfmpegReport:
    """The report (`report`, or one asked for now), or FfmpegUnsuitable (exit 2) with its one line when the binary
    lacks anything assembly uses."""
    report = report or ffmpeg_report()
    if not report.ok:
        raise FfmpegUnsuitable(report.line())
    return report


def _identity(choice: FfmpegChoice) -> tuple[str, int, int] | FfmpegReport:
    """What the answers are kept under (the file the path leads to, its mtime and size), or the report on a binary
    that is not there."""
    try:
        binary = Path(choice.path).resolve(strict=True)
        stat = binary.stat()
    except OSError as exc:
        return FfmpegReport(choice.path, choice.source, "unknown", (_not_there(choice, exc),), choice.setting)
    return str(binary), stat.st_mtime_ns, stat.st_size


def _as_chosen(found: FfmpegReport, choice: FfmpegChoice) -> FfmpegReport:
    """A kept report, told as this choice names the binary (two names may lead to one file)."""
    if (found.path, found.source, found.setting) == (choice.path, choice.source, choice.setting):
        return found
    return FfmpegReport(choice.path, choice.source, found.version, found.missing, choice.setting, found.banner)


def assess(choice: FfmpegChoice, answers: dict[str, str]) -> FfmpegReport:
    """Compare a binary's answers (`-version` and each listing, by REQUIRED's names) with what assembly uses."""
    banner = answers.get("version", "").strip().splitlines()
    first = banner[0] if banner else ""
    word = _BANNER.search(first)
    missing = [f"{_SINGULAR[kind]} {name}" for kind, names in REQUIRED.items()
               for name in names if name not in parse_listing(kind, answers.get(kind, ""))]
    version = parse_version(first)
    if version is not None and version < MIN_VERSION:
        missing.insert(0, f"version {MIN_VERSION[0]}.{MIN_VERSION[1]} or later")
    return FfmpegReport(choice.path, choice.source, word.group(1) if word else "unknown", tuple(missing),
                        choice.setting, first)


def parse_version(banner: str) -> tuple[int, int] | None:
    """(major, minor) from `ffmpeg version 5.1.9-0+deb12u1 ...` or `ffmpeg version n9.0.2-...`; None for a git
    snapshot (`N-118000-g...`), whose version the capability list stands in for."""
    found = _VERSION.search(banner)
    return (int(found.group(1)), int(found.group(2))) if found else None


def parse_listing(kind: str, text: str) -> frozenset[str]:
    """The names in ffmpeg's `-filters`, `-encoders`, `-decoders`, `-muxers` or `-demuxers` output.

    The layouts differ by kind and by version (5.1 prints three filter flags and two format flags, n9 two and
    three), so formats are read by the width of the dashed line under their legend, and filters by their `A->A`
    column. A demuxer line naming several formats (`mov,mp4,m4a,...`) counts for each."""
    lines = text.splitlines()
    if kind == "filters":
        return frozenset(m.group(1) for line in lines if (m := _FILTER.match(line)))
    dashes = next((i for i, line in enumerate(lines) if line.strip() and set(line.strip()) == {"-"}), None)
    if dashes is None:
        return frozenset()
    body = lines[dashes + 1:]
    if kind in ("encoders", "decoders"):
        return frozenset(line.split()[1] for line in body if len(line.split()) > 1)
    width = len(lines[dashes].strip())
    names = (line[width + 2:].split()[0] for line in body if len(line) > width + 2 and line[width + 2] != " ")
    return frozenset(name for entry in names for name in entry.split(","))


def _ask(choice: FfmpegChoice) -> FfmpegReport:
    """Ask the binary everything at once (six short processes side by side)."""
    questions = ["version", *REQUIRED]
    try:
        with ThreadPoolExecutor(len(questions)) as pool:
            said = pool.map(lambda question: ask_ffmpeg(choice.path, question, QUERY_TIMEOUT_S), questions)
            answers = dict(zip(questions, said, strict=True))
    except (OSError, subprocess.SubprocessError) as exc:
        return FfmpegReport(choice.path, choice.source, "unknown", (_not_there(choice, exc),), choice.setting)
    return assess(choice, answers)


def _not_there(choice: FfmpegChoice, exc: BaseException) -> str:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if choice.setting is not None and os.sep not in choice.setting and choice.path == choice.setting:
        return f"a runnable binary ({choice.setting!r} is not on PATH)"
    return f"a runnable binary ({reason})"
