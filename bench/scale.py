"""Scale benchmark: many storyboards driven by one process through the engine's API, against the simulator in its
own process serving a small pre-rendered clip (so the simulator's rendering is not what is measured).

Each storyboard has two chains of five 5 s 480p shots. Films are not assembled (`RunOptions(assemble=False)`): the
row measures orchestration (scheduling, polling, journal, downloads, strict decode of every clip), not ffmpeg.

    .venv/bin/python bench/scale.py --storyboards 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from common import API_KEY, SPEED, chain_floor, simulator

from orchestrator.api.client import ArkClient
from orchestrator.engine.backend import Backend, BackendKind
from orchestrator.engine.events import EventLog
from orchestrator.engine.pacing import AdaptiveLimit, PollSchedule
from orchestrator.engine.run import RunOptions, RunResult, run_storyboard
from orchestrator.storyboard.validate import check_file

CHAINS, LENGTH = 2, 5
IN_FLIGHT = 200  # one account: the process shares one in-flight limit between its runs


def write_storyboards(folder: Path, count: int) -> list[Path]:
    """`count` storyboards of CHAINS chains of LENGTH shots."""
    paths = []
    for n in range(count):
        lines = ["version: 1", f"name: scale-{n:03d}",
                 "defaults: {model: dreamina-seedance-2-0-260128, resolution: 480p, ratio: '16:9', duration: 5}",
                 "shots:"]
        for c in range(CHAINS):
            for i in range(LENGTH):
                after = f", after: c{c}s{i - 1}" if i else ""
                lines.append(f"  - {{id: c{c}s{i}, prompt: 'board {n} chain {c} shot {i}'{after}}}")
        path = folder / f"scale-{n:03d}.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


async def drive(paths: list[Path], base_url: str, out: Path) -> list[RunResult]:
    """Every storyboard at once, one client and one in-flight limit for the whole process."""
    limit = AdaptiveLimit(IN_FLIGHT)
    async with ArkClient(API_KEY, base_url=base_url) as client:
        backend = Backend(BackendKind.ARK, client, "bench", PollSchedule().scaled(1 / SPEED))
        runs = [run_storyboard(check_file(p), backend, RunOptions(out=out, assemble=False, limit=limit),
                               EventLog(out / f"{p.stem}.events.jsonl").open()) for p in paths]
        return list(await asyncio.gather(*runs))


def _floor(events: Path, parents: dict[str, str | None], latency: dict[str, float]) -> float:
    """One storyboard's longest chain of task latencies, from the tasks its events name."""
    task_of = {}
    for line in events.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event["event"] == "succeeded":
            task_of[event["shot"]] = event["task_id"]
    return chain_floor(parents, {shot: latency[task] for shot, task in task_of.items()})


def main() -> None:
    """Run and print one JSON document."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--storyboards", type=int, default=100)
    parser.add_argument("--keep", help="work in this folder and keep it (runs, journals, events)")
    args = parser.parse_args()
    shots = args.storyboards * CHAINS * LENGTH
    with simulator(prerendered=True, concurrency=10_000, queue_cap=100_000, rpm_limit=1_000_000) as sim, \
            tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        tmp = args.keep or tmp
        Path(tmp).mkdir(parents=True, exist_ok=True)
        paths = write_storyboards(Path(tmp), args.storyboards)
        before = resource.getrusage(resource.RUSAGE_SELF)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        results = asyncio.run(drive(paths, sim.base_url, Path(tmp) / "runs"))
        wall = time.perf_counter() - start
        usage, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        latency = {t["id"]: float(t["latency"]) for t in sim.control("tasks")}
        requests = sim.requests()
        creates = sim.control("stats")["counters"].get("tasks_created", 0)
        parents = {f"c{c}s{i}": (f"c{c}s{i - 1}" if i else None) for c in range(CHAINS) for i in range(LENGTH)}
        floor = max(_floor(Path(tmp) / "runs" / f"{p.stem}.events.jsonl", parents, latency) for p in paths)
    failed = sum(len(r.failed) + len(r.blocked) for r in results)
    report = {
        "storyboards": args.storyboards, "shots": shots, "failed": failed, "wall_s": wall,
        "floor_s": floor, "wall_over_floor": wall / floor,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "cpu_ms_per_shot": 1000 * (usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime) / shots,
        "child_cpu_ms_per_shot": 1000 * (children.ru_utime + children.ru_stime - children_before.ru_utime
                                         - children_before.ru_stime) / shots,
        "requests_per_shot": sum(requests.values()) / shots, "gets_per_shot": requests.get("get", 0) / shots,
        "duplicate_creates": creates - shots,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
