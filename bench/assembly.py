"""Assembly benchmark: a 60 s 720p film of 12 chained simulator clips on this machine.

Measures what DESIGN.md §7 promises (normalise each clip once, as it arrives; the final join after the last clip
is sub-second) and compares with what a user would otherwise do: one concat-filter re-encode of everything, and
moviepy. Prints a Markdown table; BENCHMARKS.md records it with this command:

    .venv/bin/python bench/assembly.py
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from orchestrator.assembly.ffmpeg import FPS, aac_args, concat_list
from orchestrator.assembly.memo import forget_all
from orchestrator.assembly.normalize import normalize
from orchestrator.assembly.pipeline import AssemblySettings, OutputClip, assemble_output
from orchestrator.assembly.process import ffmpeg_binary, ffmpeg_slots
from orchestrator.simulator.render import RenderJob, render

CLIPS, FRAMES, WIDTH, HEIGHT = 12, 121, 1280, 720
RUNS = 5  # per repetition, the final call is timed this many times
REPS = 3  # repetitions of everything, each from an empty cache; rows give the median with (min-max)


def make_clips(folder: Path) -> list[Path]:
    """12 chained 5 s 720p clips from the simulator's renderer, each starting on the previous one's last frame."""
    clips, first = [], None
    for i in range(CLIPS):
        job = RenderJob(WIDTH, HEIGHT, FRAMES, f"shot {i}: a slow push across the orchard", seed=100 + i,
                        first_frame=first, last_frame=None, generate_audio=True)
        result = render(job, folder / f"shot{i:02d}")
        clips.append(result.video)
        first = result.last_frame_png.read_bytes()
    return clips


async def ours(clips: list[Path], out: Path, loudness: float | None) -> dict[str, Any]:
    """As a run does it: each clip normalised when it arrives (here: one, then the rest at once), then the public
    call after the last one, in the same process; then the same call as a fresh process would make it."""
    cache = out.parent / "cache"  # the second call finds every clip normalised by the first
    start = time.perf_counter()
    with ffmpeg_slots():
        await normalize(clips[0], WIDTH, HEIGHT, False, cache)
        normalise_one = time.perf_counter() - start
        await asyncio.gather(*(normalize(c, WIDTH, HEIGHT, True, cache) for c in clips[1:]))
    normalised_all = time.perf_counter() - start
    entries = [OutputClip(f"shot{i}", c, chained=i > 0) for i, c in enumerate(clips)]
    settings = AssemblySettings(loudness_lufs=loudness)
    joins, cpu = [], []
    for _ in range(RUNS):
        join_start, cpu_start = time.perf_counter(), cpu_seconds()
        result = await assemble_output(entries, out, cache, settings, size=(WIDTH, HEIGHT))
        joins.append(time.perf_counter() - join_start)
        cpu.append(cpu_seconds() - cpu_start)
        assert result.film.frames == CLIPS * FRAMES - (CLIPS - 1), result.film.frames
        assert all(p.reused for p in result.parts)
    forget_all()  # what `orchestrator assemble` in a new process does: probe, hash and check every seal again
    cold_start = time.perf_counter()
    await assemble_output(entries, out, cache, settings, size=(WIDTH, HEIGHT))
    cold = time.perf_counter() - cold_start
    join = statistics.median(joins)
    return {"normalise one clip": normalise_one, "joins": joins, "join cpu": statistics.median(cpu), "cold join": cold,
            "aac alone": aac_alone([p.path for p in result.parts], out.parent), "total": normalised_all + join}


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg), user + system."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def aac_alone(parts: list[Path], folder: Path) -> float:
    """The one encode the final join waits for, by itself: the film's audio to mono AAC, as concat_args does it."""
    listing = folder / "aac-list.txt"
    listing.write_text(concat_list(parts), encoding="utf-8")
    start = time.perf_counter()
    subprocess.run([ffmpeg_binary(), "-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-map", "0:a:0", *aac_args(1), "-f", "null", "-"], check=True)
    return time.perf_counter() - start


def naive(clips: list[Path], out: Path) -> float:
    inputs = [arg for c in clips for arg in ("-i", str(c))]
    streams = "".join(f"[{i}:v][{i}:a]" for i in range(len(clips)))
    start = time.perf_counter()
    subprocess.run([ffmpeg_binary(), "-v", "error", "-y", *inputs, "-filter_complex",
                    f"{streams}concat=n={len(clips)}:v=1:a=1[v][a]", "-map", "[v]", "-map", "[a]",
                    "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", str(out)], check=True)
    return time.perf_counter() - start


def with_moviepy(clips: list[Path], out: Path) -> float:
    from moviepy import VideoFileClip, concatenate_videoclips

    start = time.perf_counter()
    parts = [VideoFileClip(str(c)) for c in clips]
    concatenate_videoclips(parts).write_videofile(str(out), codec="libx264", audio_codec="aac", preset="veryfast",
                                                  fps=FPS, logger=None)
    for part in parts:
        part.close()
    return time.perf_counter() - start


def show(values: list[float]) -> str:
    """Median (min-max)."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    reps: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-assembly-") as tmp:
        folder = Path(tmp)
        clips = make_clips(folder / "clips")
        for rep in range(REPS):
            work = folder / f"rep{rep}"
            work.mkdir()
            forget_all()  # each repetition starts as a run would: nothing known, nothing cached
            cut = asyncio.run(ours(clips, work / "film.mp4", None))
            loud = asyncio.run(ours(clips, work / "film-loud.mp4", -14.0))
            reps.append({**cut, "loud joins": loud["joins"], "naive": naive(clips, work / "naive.mp4"),
                         "moviepy": with_moviepy(clips, work / "moviepy.mp4")})

    def each(key: str) -> list[float]:
        return [float(r[key]) for r in reps]

    joins = [j for r in reps for j in r["joins"]]
    rows = [
        ("normalise one 5 s 720p clip, as it arrives", show(each("normalise one clip")), None),
        (f"`assemble_output` after every clip was normalised in this process ({RUNS} calls per repetition); "
         f"target < 1 s: {'met' if statistics.median(joins) < 1 else 'missed'}", show(joins), None),
        ("the same: CPU seconds (this process and its ffmpegs)", show(each("join cpu")), None),
        ("of which waited on: the film's audio to AAC, timed alone", show(each("aac alone")), None),
        ("the same call in a fresh process (probes, hashes, seals again)", show(each("cold join")), None),
        ("the same with two-pass loudness to -14 LUFS, checked (in this process)",
         show([j for r in reps for j in r["loud joins"]]), None),
        ("total assembly, all 12 clips normalised after generation", show(each("total")), [1.0]),
        ("naive: one concat-filter re-encode of everything", show(each("naive")),
         [r["naive"] / r["total"] for r in reps]),
        ("moviepy concatenate_videoclips + write_videofile", show(each("moviepy")),
         [r["moviepy"] / r["total"] for r in reps]),
    ]
    print(f"60 s 720p film of {CLIPS} chained clips ({CLIPS * FRAMES - CLIPS + 1} frames), {sys.platform}, "
          f"{os.cpu_count()} cores; median (min-max) of {REPS} repetitions\n")
    print("| step | seconds | vs our total |")
    print("|---|---|---|")
    for name, seconds, ratios in rows:
        print(f"| {name} | {seconds} | {'' if ratios is None else f'{statistics.median(ratios):.2f}x'} |")


if __name__ == "__main__":
    main()
