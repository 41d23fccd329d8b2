"""Overhead benchmark: what we add on top of the provider, with the simulator's renders prepared ahead.

The simulator runs in its own process with a render cache (`SimConfig.render_cache_dir`): one warm-up run renders
every clip of the storyboard (seeds pinned, so the jobs repeat), and every measured run takes them from the cache,
byte-identical and still starting each chained clip on its parent's returned last frame. So the machine's CPU is
ours, and the latency is the simulator's model at `--speed` (20: a 5 s 720p clip takes about 6.75 s, well above our
CPU per clip). Each repetition runs ours, then the provider's documented SDK loop on the same simulator.

Per repetition, from our JSON events and the simulator's task records:
- wall ÷ floor: our command's wall time against the longest chain of task latencies (the floor no client beats);
- notice lag: our `succeeded` event − the moment the task could first be seen succeeded, as a share of its latency;
- handoff lag: when the provider received a chained child's create − its parent's `succeeded` event;
- film-ready: the last clip on disk (its `downloaded` event's `received`, before its checks) → the last `assembled`
  event (a film in place and verified);
- requests per shot (every endpoint, downloads too), and our CPU: the `orchestrator run` process and its ffmpegs.

    .venv/bin/python bench/overhead.py storyboards/long-form-ad.yaml --reps 3
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from common import REPO, Simulator, Stat, chain_floor, run_env, simulator

from orchestrator.storyboard.validate import check_file

SPEED = 20.0
SEED = 4242


def pinned_copy(storyboard: Path, folder: Path) -> Path:
    """The storyboard with its seed pinned (so renders repeat), beside a copy of its assets."""
    folder.mkdir(parents=True, exist_ok=True)
    assets = storyboard.parent / "assets"
    if assets.is_dir():
        shutil.copytree(assets, folder / "assets", dirs_exist_ok=True)
    doc = yaml.safe_load(storyboard.read_text(encoding="utf-8"))
    doc.setdefault("defaults", {}).setdefault("seed", SEED)
    target = folder / storyboard.name
    target.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return target


def cpu_of_children() -> float:
    """CPU seconds of every finished child of this process (and their waited-for children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ours_once(storyboard: Path, sim: Simulator, out: Path) -> dict[str, Any]:
    """One fresh run of `orchestrator run`, measured."""
    sim.control("reset")
    cpu_before = cpu_of_children()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "orchestrator", "run", str(storyboard), "--out", str(out),
                           "--backend", "ark", "--yes", "--json", "--concurrency", "20"], cwd=REPO,
                          env=run_env(sim, SPEED), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    cpu = cpu_of_children() - cpu_before
    if done.returncode != 0:
        raise RuntimeError(f"orchestrator run exited {done.returncode}: {done.stderr[-2000:]}")
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    specs = check_file(storyboard).specs
    parents = {s: spec.shot.after for s, spec in specs.items()}
    tasks = {t["id"]: t for t in sim.control("tasks")}
    seen = {str(e["shot"]): e for e in events if e["event"] == "succeeded"}
    submitted = {str(e["shot"]): e for e in events if e["event"] == "submitted"}
    latency = {shot: float(tasks[e["task_id"]]["latency"]) for shot, e in seen.items()}
    ready = {shot: float(tasks[e["task_id"]]["created_at"]) + latency[shot] for shot, e in seen.items()}
    notice = [(float(seen[s]["time"]) - ready[s]) / latency[s] for s in seen]
    # A child's create as the provider received it (the simulator's record of when the task was made).
    handoff = [float(tasks[submitted[s]["task_id"]]["created_at"]) - float(seen[p]["time"])
               for s, p in parents.items() if p]
    requests = sim.requests()
    seconds = sum(spec.duration or 5 for spec in specs.values())
    return {
        "wall": wall, "floor": chain_floor(parents, latency), "notice": notice, "handoff": handoff,
        "film_ready": max(float(e["time"]) for e in events if e["event"] == "assembled")
        - max(float(e.get("received", e["time"])) for e in events if e["event"] == "downloaded"),
        "requests_per_shot": sum(requests.values()) / len(specs), "gets_per_shot": requests.get("get", 0) / len(specs),
        "lists_per_shot": requests.get("list", 0) / len(specs),
        "cpu_per_clip": cpu / len(specs), "cpu_per_5s": cpu / seconds * 5, "cpu_total": cpu,
    }


def naive_once(storyboard: Path, sim: Simulator, out: Path) -> tuple[float, float]:
    """One run of the documented SDK loop (same seeds, so the same prepared renders): its wall time and requests
    per shot."""
    sim.control("reset")
    done = subprocess.run([sys.executable, str(REPO / "bench" / "naive_chain.py"), str(storyboard), "--base-url",
                           sim.base_url, "--scale", str(1 / SPEED), "--out", str(out), "--keep-seed"],
                          cwd=REPO, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    return float(result["wall_s"]), sum(sim.requests().values()) / int(result["shots"])


def p95(values: list[float]) -> float:
    """The 95th percentile (inclusive method; the largest value for fewer than 20)."""
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


def measure(storyboard: Path, reps: int, naive: bool, work: Path) -> dict[str, Any]:
    """Warm the render cache, then `reps` measured repetitions; the summary as JSON-able numbers."""
    pinned = pinned_copy(storyboard, work / "storyboard")
    with simulator(SPEED, render_cache_dir=str(work / "renders"), concurrency=20) as sim:
        ours_once(pinned, sim, work / "warm")  # renders every clip once; not measured
        if naive:
            naive_once(pinned, sim, work / "warm-naive")
        ours: list[dict[str, Any]] = []
        loops: list[tuple[float, float]] = []
        for rep in range(reps):
            ours.append(ours_once(pinned, sim, work / f"o{rep}"))
            if naive:
                loops.append(naive_once(pinned, sim, work / f"n{rep}"))

    def stat(key: str) -> dict[str, float]:
        return Stat.of([float(o[key]) for o in ours]).__dict__

    report: dict[str, Any] = {
        "storyboard": str(storyboard), "reps": reps, "speed": SPEED,
        "overhead": Stat.of([o["wall"] / o["floor"] for o in ours]).__dict__, "wall_s": stat("wall"),
        "floor_s": stat("floor"),
        "notice_median": Stat.of([statistics.median(o["notice"]) for o in ours]).__dict__,
        "notice_p95": Stat.of([p95(o["notice"]) for o in ours]).__dict__,
        "handoff_p95_s": Stat.of([p95(o["handoff"]) for o in ours if o["handoff"]] or [0.0]).__dict__,
        "film_ready_s": stat("film_ready"), "requests_per_shot": stat("requests_per_shot"),
        "gets_per_shot": stat("gets_per_shot"), "lists_per_shot": stat("lists_per_shot"),
        "cpu_per_clip_s": stat("cpu_per_clip"), "cpu_per_5s_clip_s": stat("cpu_per_5s"),
    }
    if naive:
        report["naive_wall_s"] = Stat.of([wall for wall, _ in loops]).__dict__
        report["naive_requests_per_shot"] = Stat.of([per for _, per in loops]).__dict__
        report["vs_naive"] = Stat.of([o["wall"] / n for o, (n, _) in zip(ours, loops, strict=True)]).__dict__
    return report


def main() -> None:
    """Print one JSON document."""
    parser = argparse.ArgumentParser()
    parser.add_argument("storyboard", type=Path)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-sdk-loop", action="store_true", help="only ours (the film-ready case of cuts)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        report = measure(args.storyboard.resolve(), args.reps, not args.no_sdk_loop, Path(tmp))
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
