"""Shared parts of the benchmarks: a simulator in its own process, runs of the real command, statistics."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
# One 5 s 720p clip takes ~2 s queued + running: the real service's ~135 s (seedance-api.md) divided by 67.5.
SPEED = 67.5
API_KEY = "bench-key-not-secret"


@dataclass(frozen=True)
class Simulator:
    """A running `orchestrator simulate` process."""

    root_url: str
    process: subprocess.Popen[str]

    @property
    def base_url(self) -> str:
        """The API base URL (ARK_BASE_URL)."""
        return f"{self.root_url}/api/v3"

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call /_sim/<path> (POST when there is a body or for reset)."""
        method = "POST" if body is not None or path == "reset" else "GET"
        response = httpx.request(method, f"{self.root_url}/_sim/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def requests(self) -> dict[str, int]:
        """Requests per endpoint so far."""
        counters: dict[str, int] = self.control("stats")["counters"]
        return {k.removeprefix("requests."): v for k, v in counters.items() if k.startswith("requests.")}


@contextmanager
def simulator(speed: float = SPEED, **config: Any) -> Iterator[Simulator]:
    """`orchestrator simulate` on a free port in its own process, configured, stopped on exit."""
    process = subprocess.Popen([sys.executable, "-m", "orchestrator", "simulate", "--port", "0", "--speed",
                                str(speed)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "simulator: http://127.0.0.1:PORT/api/v3 (...)"
        base = line.split()[1]
        sim = Simulator(base.removesuffix("/api/v3"), process)
        if config:
            sim.control("config", config)
        yield sim
    finally:
        process.terminate()
        process.wait(timeout=30)


def run_env(sim: Simulator, speed: float = SPEED) -> dict[str, str]:
    """Environment of an `orchestrator run --backend ark` against this simulator, polling scaled like it."""
    return {**os.environ, "ARK_API_KEY": API_KEY, "ARK_BASE_URL": sim.base_url,
            "ORCHESTRATOR_POLL_SCALE": str(1 / speed)}


def run_orchestrator(storyboard: Path, out: Path, sim: Simulator, *extra: str) -> tuple[float, list[dict[str, Any]]]:
    """`orchestrator run` as a user would start it; (wall seconds, its JSON events)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "orchestrator", "run", str(storyboard), "--out", str(out),
                           "--backend", "ark", "--yes", "--json", *extra], cwd=REPO, env=run_env(sim),
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"orchestrator run exited {done.returncode}: {done.stderr[-2000:]}")
    return wall, [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def chain_floor(parents: dict[str, str | None], latency_of: dict[str, float]) -> float:
    """The longest sum of task latencies along a chain of shots (parents first)."""
    memo: dict[str, float] = {}

    def floor(shot: str) -> float:
        if shot not in memo:
            parent = parents.get(shot)
            memo[shot] = latency_of[shot] + (floor(parent) if parent else 0.0)
        return memo[shot]

    return max(floor(s) for s in parents)


@dataclass(frozen=True)
class Stat:
    """Median, min and max of repeated measurements."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat:
        """Summarise the values."""
        return cls(statistics.median(values), min(values), max(values))

    def show(self, fmt: str = "{:.2f}") -> str:
        """'median (min-max)'."""
        return f"{fmt.format(self.median)} ({fmt.format(self.low)}–{fmt.format(self.high)})"
