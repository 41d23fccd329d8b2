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

from orchestrator.assembly.ffmpeg import FPS, aac_args, concat_list
from orchestrator.assembly.memo import forget_all
from orchestrator.assembly.normalize import normalize
from orchestrator.assembly.pipeline import AssemblySettings, OutputClip, assemble_output
from orchestrator.assembly.process import ffmpeg_binary, ffmpeg_slots
from orchestrator.simulator.render import RenderJob, render

CLIPS, FRAMES, WIDTH, HEIGHT = 12, 121, 1280, 720
RUNS = 5  # the final call is timed this many times; the median is reported, with the range


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


async def ours(clips: list[Path], out: Path, loudness: float | None) -> dict[str, float]:
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
    return {"normalise one clip": normalise_one, "final join": join, "join min": min(joins),
            "join max": max(joins), "join cpu": statistics.median(cpu), "cold join": cold,
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


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-assembly-") as tmp:
        folder = Path(tmp)
        clips = make_clips(folder)
        cut = asyncio.run(ours(clips, folder / "film.mp4", None))
        loud = asyncio.run(ours(clips, folder / "film-loud.mp4", -14.0))
        naive_s = naive(clips, folder / "naive.mp4")
        moviepy_s = with_moviepy(clips, folder / "moviepy.mp4")
    final = f"{cut['final join']:.2f} ({cut['join min']:.2f}-{cut['join max']:.2f})"
    final_loud = f"{loud['final join']:.2f} ({loud['join min']:.2f}-{loud['join max']:.2f})"
    rows = [
        ("normalise one 5 s 720p clip, as it arrives", f"{cut['normalise one clip']:.2f}", None),
        ("`assemble_output` after every clip was normalised in this process: median (range) of "
         f"{RUNS}; target < 1 s: {'met' if cut['final join'] < 1 else 'missed'}", final, None),
        ("the same: CPU seconds (this process and its ffmpegs)", f"{cut['join cpu']:.2f}", None),
        ("of which waited on: the film's audio to AAC, timed alone", f"{cut['aac alone']:.2f}", None),
        ("the same call in a fresh process (probes, hashes, seals again)", f"{cut['cold join']:.2f}", None),
        ("the same with two-pass loudness to -14 LUFS, checked (in this process)", final_loud, None),
        ("total assembly, all 12 clips normalised after generation", f"{cut['total']:.2f}", 1.0),
        ("naive: one concat-filter re-encode of everything", f"{naive_s:.2f}", naive_s / cut["total"]),
        ("moviepy concatenate_videoclips + write_videofile", f"{moviepy_s:.2f}", moviepy_s / cut["total"]),
    ]
    print(f"60 s 720p film of {CLIPS} chained clips ({CLIPS * FRAMES - CLIPS + 1} frames), {sys.platform}, "
          f"{os.cpu_count()} cores\n")
    print("| step | seconds | vs our total |")
    print("|---|---|---|")
    for name, seconds, ratio in rows:
        print(f"| {name} | {seconds} | {'' if ratio is None else f'{ratio:.2f}x'} |")


if __name__ == "__main__":
    main()
