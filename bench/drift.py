"""Drift benchmark: a 6-link chain of 5 s 720p simulator clips with the drift model on, assembled without and with
the colour anchor. Prints JSON for bench/table.py:

    .venv/bin/python bench/drift.py [--reps 3] [--smoke]
    .venv/bin/python bench/drift.py --per-link    # the per-link table under "Limits and defaults"

- the last clip's end against the chain's first frame, as CIEDE2000 of the mean colours, read from each film;
- the seam continuity at every chained join: the picture change across the join ÷ the median change between the
  frames within 6 of it (1 = as smooth as the motion), the largest of the joins;
- the anchor's CPU seconds per clip: ffmpeg decoding each clip through the grade (its lookup table and the ramp's
  commands) less decoding it alone, the median of 3 alternating tries per clip (a whole normalisation varies by
  more than the grade costs), plus this process's CPU working out the grades.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from orchestrator.assembly.anchor import grades
from orchestrator.assembly.chains import Chains, chain_pictures, scaled
from orchestrator.assembly.command import Input, Output, command
from orchestrator.assembly.drift import drifted, look
from orchestrator.assembly.ffmpeg import FPS, QUIET
from orchestrator.assembly.films import assemble_films
from orchestrator.assembly.grading import Grade
from orchestrator.assembly.graphs import NormalizePlan, graded
from orchestrator.assembly.memo import forget_all
from orchestrator.assembly.normalize import ramp_file
from orchestrator.assembly.pipeline import AssemblySettings, OutputClip
from orchestrator.assembly.probe import probe
from orchestrator.assembly.process import run_ffmpeg
from orchestrator.binaries import bundled_ffmpeg
from orchestrator.simulator.config import SimConfig
from orchestrator.simulator.drift import clip_drift
from orchestrator.simulator.render import RenderJob, render

LINKS = 6


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def make_chain(folder: Path, width: int, height: int, frames: int, seed: int
               ) -> tuple[dict[str, Path], dict[str, Path]]:
    """A chain of LINKS + 1 clips, each starting on the last frame the one before returned, drift model on."""
    model = SimConfig.drifting()
    clips, lasts, first = {}, {}, None
    for link in range(LINKS + 1):
        prompt = f"link {link}: a slow push across the orchard"
        drift = clip_drift(model.drift_colour, model.drift_contrast, model.drift_blur, seed + link, prompt)
        job = RenderJob(width, height, frames, prompt, seed=seed + link, first_frame=first, last_frame=None,
                        generate_audio=True, drift=drift)
        result = render(job, folder / f"s{link}")
        clips[f"s{link}"], lasts[f"s{link}"] = result.video, result.last_frame_png
        first = result.last_frame_png.read_bytes()
    return clips, lasts


def film_frames(path: Path, width: int, height: int) -> np.ndarray:
    """Every frame of a film as RGB."""
    raw = subprocess.run([bundled_ffmpeg(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24",
                          "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def seam_steps(frames: np.ndarray, seams: list[int]) -> list[float]:
    """Per seam: the change across it ÷ the median change between neighbouring frames within 6 of it."""
    small = frames[:, ::4, ::4].astype(np.int16)
    change = np.abs(np.diff(small, axis=0)).mean(axis=(1, 2, 3))
    ratios = []
    for seam in seams:
        around = [change[i] for i in range(seam - 7, seam + 6) if i != seam - 1 and 0 <= i < len(change)]
        ratios.append(float(change[seam - 1] / np.median(around)))
    return ratios


async def one(folder: Path, width: int, height: int, frames: int, seed: int) -> dict[str, float]:
    """One repetition: a fresh chain, its films without and with the anchor, the anchor's CPU."""
    clips, lasts = make_chain(folder / "clips", width, height, frames, seed)
    shots = list(clips)
    chains = Chains({s: (shots[i - 1] if i else None) for i, s in enumerate(shots)})
    forget_all()
    start = time.process_time()
    found = grades(chains, await chain_pictures(chains, clips, lasts))
    grading_cpu = time.process_time() - start
    filter_cpu = [await grade_cpu(clips[s], grade) for s in shots if (grade := found[s]) is not None]
    result: dict[str, float] = {"anchor_cpu_per_clip_s": statistics.mean(filter_cpu) + grading_cpu / len(shots)}
    seams = [frames + k * (frames - 1) for k in range(LINKS)]
    for anchor in ("off", "root"):
        entries = [OutputClip(s, clips[s], i > 0, found[s] if anchor == "root" else None) for i, s in enumerate(shots)]
        made = await assemble_films({"main": entries}, folder / f"run-{anchor}", folder / f"cache-{anchor}",
                                    AssemblySettings(color_anchor=anchor, loudness_lufs=None))
        film = film_frames(made.films["main"].film.path, width, height)
        root = look(scaled(Image.fromarray(film[0])))
        result[f"delta_e_{anchor}"] = drifted(root, look(scaled(Image.fromarray(film[-1]))))[0]
        result[f"seam_step_{anchor}"] = max(seam_steps(film, seams))
        result[f"frames_{anchor}"] = len(film)
    return result


async def grade_cpu(clip: Path, grade: Grade, tries: int = 3) -> float:
    """ffmpeg's CPU seconds for grading one clip: decoding it through the grade less decoding it alone."""
    plain = command([Output([Input(clip)["v:0"]], "-", {"f": "null"})], QUIET)
    plan = NormalizePlan(0, 0, 0, 0, False, grade=grade, source_frames=(await probe(clip)).frames)
    costs = []
    for _ in range(tries):
        with ramp_file(plan) as commands:
            video = graded(Input(clip)["v:0"], grade, (FPS, 1), commands)
            spent = []
            for args in (plain, command([Output([video], "-", {"f": "null"})], QUIET)):
                before = _children_cpu()
                await run_ffmpeg(args)
                spent.append(_children_cpu() - before)
        costs.append(spent[1] - spent[0])
    return statistics.median(costs)


PER_LINK_PROMPTS = ["orchard at dawn", "tea cup on pink set", "neon street", "beach at noon", "forest path"]


def per_link(folder: Path, drifting: bool) -> dict[str, list[tuple[float, float]]]:
    """For BENCHMARKS.md's table of limits: chains of 7 clips (5 s, 864x480) for each of 5 prompts, and at each link
    the CIEDE2000 and relative sharpness of the clip's last frame against the root's first frame, from the files."""
    model = SimConfig.drifting() if drifting else SimConfig()
    found = {}
    for c, prompt in enumerate(PER_LINK_PROMPTS):
        first, root, figures = None, None, []
        for link in range(LINKS + 1):
            text, seed = f"{prompt} {link}", 5 + link + c
            job = RenderJob(864, 480, 121, text, seed=seed, first_frame=first, last_frame=None, generate_audio=False,
                            drift=clip_drift(model.drift_colour, model.drift_contrast, model.drift_blur, seed, text))
            result = render(job, folder / f"{c}-{link}")
            if root is None:
                root = look(scaled(Image.fromarray(film_frames(result.video, 864, 480)[0])))
            with Image.open(result.last_frame_png) as end:
                delta, sharp = drifted(root, look(scaled(end)))
            figures.append((round(delta, 2), round(sharp, 2)))
            first = result.last_frame_png.read_bytes()
        found[prompt] = figures
    return found


def summary(values: list[float]) -> dict[str, float]:
    """Median with the range."""
    return {"median": statistics.median(values), "low": min(values), "high": max(values)}


def main() -> None:
    """Run the repetitions and print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="320x176, 1 s clips")
    parser.add_argument("--per-link", action="store_true", help="BENCHMARKS.md's per-link table instead")
    args = parser.parse_args()
    if args.per_link:
        with tempfile.TemporaryDirectory(prefix="bench-drift-") as folder:
            json.dump({"off": per_link(Path(folder) / "off", False), "on": per_link(Path(folder) / "on", True)},
                      sys.stdout)
        return
    width, height, frames = (320, 176, 25) if args.smoke else (1280, 720, 121)
    runs = []
    for rep in range(args.reps):
        with tempfile.TemporaryDirectory(prefix="bench-drift-") as folder:
            runs.append(asyncio.run(one(Path(folder), width, height, frames, seed=300 + 10 * rep)))
    keys = runs[0].keys()
    out: dict[str, Any] = {k: summary([r[k] for r in runs]) for k in keys}
    out["reduction"] = summary([1 - r["delta_e_root"] / r["delta_e_off"] for r in runs])
    out["size"] = f"{width}x{height}, {frames} frames a clip, {LINKS} links"
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
