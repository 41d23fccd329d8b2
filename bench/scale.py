"""Scale benchmark: 100 storyboards of 10 shots in one `orchestrator run FOLDER --clips-only` (the batch command an
agency uses), against the simulator in its own process serving a small pre-rendered clip (so the simulator's
rendering is not what is measured).

Each storyboard has two chains of five 5 s 480p shots; `--clips-only` leaves the films out, so the row measures
orchestration (scheduling, status, journal, downloads, the strict decode of every clip). Time is compressed by
SPEED, the list pace with it (the simulator allows SPEED list calls a second, and ours are 1.1 s / SPEED apart), so
looks due together are answered by one list call as they would be on the real service.

    .venv/bin/python bench/scale.py --storyboards 100
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, SPEED, chain_floor, run_env, simulator

from orchestrator.api.pacer import LIST_INTERVAL_S

CHAINS, LENGTH = 2, 5
IN_FLIGHT = 100  # the batch shares one in-flight limit (run --concurrency allows up to 100)


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


def run_batch(folder: Path, out: Path, env: dict[str, str]) -> tuple[float, list[dict[str, object]], float, float]:
    """`orchestrator run FOLDER --clips-only`: wall seconds, its JSON events, CPU seconds of it and its ffmpegs,
    and its peak RSS in MB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "orchestrator", "run", str(folder), "--out", str(out), "--backend",
                           "ark", "--yes", "--json", "--clips-only", "--concurrency", str(IN_FLIGHT)], cwd=REPO,
                          env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"orchestrator run exited {done.returncode}: {done.stderr[-2000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return wall, events, cpu, after.ru_maxrss / 1024


def _floor(events: list[dict[str, object]], board: str, parents: dict[str, str | None],
           latency: dict[str, float]) -> float:
    """One storyboard's longest chain of task latencies, from the tasks its events name."""
    task_of = {str(e["shot"]): str(e["task_id"]) for e in events
               if e["event"] == "succeeded" and e.get("storyboard") == board}
    return chain_floor(parents, {shot: latency[task] for shot, task in task_of.items()})


def main() -> None:
    """Run and print one JSON document."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--storyboards", type=int, default=100)
    parser.add_argument("--keep", help="work in this folder and keep it (runs, journals, events)")
    parser.add_argument("--list-interval", type=float, default=LIST_INTERVAL_S / SPEED,
                        help="seconds between our list calls (a large value: no list call answers looks, GETs only)")
    args = parser.parse_args()
    shots = args.storyboards * CHAINS * LENGTH
    with simulator(prerendered=True, concurrency=10_000, queue_cap=100_000, rpm_limit=1_000_000,
                   list_qps=SPEED) as sim, tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        tmp = args.keep or tmp
        folder = Path(tmp) / "storyboards"
        folder.mkdir(parents=True, exist_ok=True)
        paths = write_storyboards(folder, args.storyboards)
        env = {**run_env(sim), "ORCHESTRATOR_LIST_INTERVAL": str(args.list_interval)}
        wall, events, cpu, rss = run_batch(folder, Path(tmp) / "runs", env)
        latency = {t["id"]: float(t["latency"]) for t in sim.control("tasks")}
        requests = sim.requests()
        stats = sim.control("stats")["counters"]
        parents = {f"c{c}s{i}": (f"c{c}s{i - 1}" if i else None) for c in range(CHAINS) for i in range(LENGTH)}
        floor = max(_floor(events, p.stem, parents, latency) for p in paths)
    finished = next(e for e in events if e["event"] == "batch_finished")
    failed = sum(1 for b in finished["storyboards"] if b["exit_code"])  # type: ignore[union-attr]
    report = {
        "storyboards": args.storyboards, "shots": shots, "failed": failed, "wall_s": wall,
        "floor_s": floor, "wall_over_floor": wall / floor, "peak_rss_mb": rss,
        "cpu_ms_per_shot": 1000 * cpu / shots,
        "requests_per_shot": sum(requests.values()) / shots, "gets_per_shot": requests.get("get", 0) / shots,
        "lists": requests.get("list", 0), "duplicate_creates": stats.get("tasks_created", 0) - shots,
        "peak_active": stats.get("peak_active", 0),
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
