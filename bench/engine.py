"""Engine benchmark: never paying twice. `orchestrator run` on a storyboard against the simulator in its own process,
repeated, plain and with every undocumented provider behaviour at once; a rerun; a resume after SIGKILL. Prints JSON
for bench/table.py (the timing rows are bench/overhead.py's).

    .venv/bin/python bench/engine.py storyboards/long-form-ad.yaml --reps 3
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import REPO, SPEED, Simulator, Stat, chain_floor, run_env, run_orchestrator, simulator

from orchestrator.storyboard.validate import check_file


def ours_once(storyboard: Path, sim: Simulator, work: Path) -> dict[str, float]:
    """One fresh run: wall time, the floor, film-ready latency, requests per shot; then a rerun's requests."""
    sim.control("reset")
    out = work / "ours"
    wall, events = run_orchestrator(storyboard, out, sim)
    parents = {s: spec.shot.after for s, spec in check_file(storyboard).specs.items()}
    task_of = {str(e["shot"]): str(e["task_id"]) for e in events if e["event"] == "succeeded"}
    latency = {t["id"]: float(t["latency"]) for t in sim.control("tasks")}
    floor = chain_floor(parents, {shot: latency[task] for shot, task in task_of.items()})
    last_clip = max(float(e["time"]) for e in events if e["event"] == "downloaded")
    films = max(float(e["time"]) for e in events if e["event"] == "assembled")
    requests = sim.requests()
    creates = sim.control("stats")["counters"].get("tasks_created", 0)
    _, again = run_orchestrator(storyboard, out, sim)
    rerun_requests = sum(sim.requests().values()) - sum(requests.values())
    return {"wall": wall, "floor": floor, "film_ready": films - last_clip, "requests_per_shot":
            sum(requests.values()) / len(parents), "gets_per_shot": requests.get("get", 0) / len(parents),
            "duplicate_creates": creates - len(parents), "rerun_requests": rerun_requests,
            "rerun_reused": sum(1 for e in again if e["event"] == "reused")}


# Every undocumented provider behaviour the simulator models, at once (its defaults already hide new tasks from the
# list for a while, answer 404 right after a create, report seeds of their own and sign URLs once): plus a quarter of
# the creates answered with a 5xx or a dropped connection after the task was made, and bursts of 429/502/503.
HOSTILE = {"lost_creates": 0.25, "bursts": 0.05}


def hostile_once(storyboard: Path, sim: Simulator, work: Path, seed: int) -> dict[str, float]:
    """One fresh run with every behaviour on: tasks created beyond one per shot, wall time, requests per shot."""
    sim.control("reset")
    sim.control("config", {**HOSTILE, "fault_seed": seed})
    try:
        wall, events = run_orchestrator(storyboard, work / "hostile", sim)
        stats = sim.control("stats")["counters"]
    finally:
        sim.control("config", {"lost_creates": 0.0, "bursts": 0.0, "fault_seed": None})
    shots = len(check_file(storyboard).specs)
    return {"wall": wall, "duplicate_creates": stats.get("tasks_created", 0) - shots,
            "requests_per_shot": sum(v for k, v in stats.items() if k.startswith("requests.")) / shots,
            "lost_creates": stats.get("lost_creates", 0), "burst_responses": stats.get("burst_responses", 0),
            "exit_ok": float(any(e["event"] == "run_finished" and e["exit_code"] == 0 for e in events))}


def resume_after_kill(storyboard: Path, sim: Simulator, work: Path) -> dict[str, int]:
    """SIGKILL a run once half its shots were submitted, then resume: creates made by the resume."""
    sim.control("reset")
    shots = len(check_file(storyboard).specs)
    out = work / "killed"
    child = subprocess.Popen([sys.executable, "-m", "orchestrator", "run", str(storyboard), "--out", str(out),
                              "--backend", "ark", "--yes", "--json"], cwd=REPO, env=run_env(sim),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert child.stdout is not None
    submitted: set[str] = set()
    while len(submitted) < shots // 2:
        line = child.stdout.readline()
        if not line:
            break
        event = json.loads(line)
        if event["event"] == "submitted":
            submitted.add(str(event["shot"]))
    child.send_signal(signal.SIGKILL)
    child.wait()
    time.sleep(0.2)
    created_before = sim.control("stats")["counters"].get("tasks_created", 0)
    run_orchestrator(storyboard, out, sim)
    created_after = sim.control("stats")["counters"].get("tasks_created", 0)
    return {"submitted_before_kill": created_before, "resume_creates": created_after - created_before,
            "not_yet_submitted": shots - created_before}


def main() -> None:
    """Run the repetitions and print one JSON document."""
    parser = argparse.ArgumentParser()
    parser.add_argument("storyboard", type=Path)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    storyboard = args.storyboard.resolve()
    ours: list[dict[str, float]] = []
    hostile: list[dict[str, float]] = []
    with simulator() as sim, tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        for rep in range(args.reps):
            ours.append(ours_once(storyboard, sim, Path(tmp) / f"o{rep}"))
            hostile.append(hostile_once(storyboard, sim, Path(tmp) / f"h{rep}", seed=rep + 1))
        resume = resume_after_kill(storyboard, sim, Path(tmp))
    report: dict[str, Any] = {
        "storyboard": str(args.storyboard), "reps": args.reps, "speed": SPEED,
        "requests_per_shot": Stat.of([o["requests_per_shot"] for o in ours]).__dict__,
        "duplicate_creates": max(o["duplicate_creates"] for o in ours),
        "rerun_requests": max(o["rerun_requests"] for o in ours),
        "resume": resume,
        "hostile": {
            "duplicate_creates": max(h["duplicate_creates"] for h in hostile),
            "all_exit_0": all(h["exit_ok"] for h in hostile),
            "wall_s": Stat.of([h["wall"] for h in hostile]).__dict__,
            "requests_per_shot": Stat.of([h["requests_per_shot"] for h in hostile]).__dict__,
            "lost_creates": sum(int(h["lost_creates"]) for h in hostile),
            "burst_responses": sum(int(h["burst_responses"]) for h in hostile),
        },
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
