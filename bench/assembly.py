"""Assembly benchmark: a 60 s 720p film of 12 chained simulator clips on this machine.

Measures what DESIGN.md §7 promises (normalise each clip once, as it arrives; the final join after the last clip
is sub-second) and compares with what a user would otherwise do: one concat-filter re-encode of everything, and
moviepy. Prints a Markdown table; BENCHMARKS.md records it with this command:

    .venv/bin/python bench/assembly.py
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from orchestrator.assembly.ffmpeg import FPS
from orchestrator.assembly.normalize import normalize
from orchestrator.assembly.pipeline import AssemblySettings, OutputClip, assemble_output
from orchestrator.assembly.probe import probe
from orchestrator.assembly.process import ffmpeg_binary
from orchestrator.simulator.render import RenderJob, render

CLIPS, FRAMES, WIDTH, HEIGHT = 12, 121, 1280, 720


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
    cache = out.parent / f"cache-{loudness}"
    infos = [await probe(c) for c in clips]
    start = time.perf_counter()
    one = await normalize(clips[0], WIDTH, HEIGHT, False, cache, infos[0])
    normalise_one = time.perf_counter() - start
    parts = [one, *await asyncio.gather(*(normalize(c, WIDTH, HEIGHT, True, cache, i)
                                          for c, i in zip(clips[1:], infos[1:], strict=True)))]
    normalised_all = time.perf_counter() - start
    assert len(parts) == CLIPS
    # The public call with every intermediate already made (as the engine leaves it when the last clip lands):
    # packet probes, clip hashes, cache seals, join, verify, and the loudness check when a target is set.
    entries = [OutputClip(f"shot{i}", c, chained=i > 0) for i, c in enumerate(clips)]
    join_start = time.perf_counter()
    result = await assemble_output(entries, out, cache, AssemblySettings(loudness_lufs=loudness))
    join = time.perf_counter() - join_start
    assert result.film.frames == CLIPS * FRAMES - (CLIPS - 1), result.film.frames
    assert all(p.reused for p in result.parts)
    return {"normalise one clip": normalise_one, "final join": join, "total": normalised_all + join}


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
    rows = [
        ("normalise one 5 s 720p clip", cut["normalise one clip"], None),
        ("assemble_output once every clip is normalised (video copy + AAC, verified)", cut["final join"], None),
        ("the same with two-pass loudness to -14 LUFS, checked", loud["final join"], None),
        ("total assembly, all 12 clips normalised after generation", cut["total"], 1.0),
        ("naive: one concat-filter re-encode of everything", naive_s, naive_s / cut["total"]),
        ("moviepy concatenate_videoclips + write_videofile", moviepy_s, moviepy_s / cut["total"]),
    ]
    print(f"60 s 720p film of {CLIPS} chained clips ({CLIPS * FRAMES - CLIPS + 1} frames), {sys.platform}, "
          "2 cores\n")
    print("| step | seconds | vs our total |")
    print("|---|---|---|")
    for name, seconds, ratio in rows:
        print(f"| {name} | {seconds:.2f} | {'' if ratio is None else f'{ratio:.2f}x'} |")


if __name__ == "__main__":
    main()
