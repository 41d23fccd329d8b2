"""The simulator tests use the shared `sim` fixture of tests/conftest.py; `benign` calms it for tests about
something other than the provider's undocumented behaviours (test_undocumented.py proves those on and off)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from orchestrator.simulator.server import SimulatorServer
from tests.conftest import APPLE, data_url

__all__ = ["APPLE", "AUTH", "BENIGN", "TASKS", "data_url", "finished"]

TASKS = "/contents/generations/tasks"
AUTH = {"Authorization": "Bearer k"}

# The undocumented behaviours at their benign values (the defaults are the hostile ones).
BENIGN: dict[str, Any] = {"list_lag_seconds": 0.0, "read_after_write_seconds": 0.0, "echo_seed": True}


@pytest.fixture
def benign(sim: SimulatorServer) -> SimulatorServer:
    """The shared simulator with no list lag, no read-after-write 404s and the sent seed echoed."""
    for key, value in BENIGN.items():
        setattr(sim.backend.config, key, value)
    return sim


def finished(sim: SimulatorServer, task_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """GET a task until it ends (a 404 right after its create, as the simulator's default answers, means not yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task: dict[str, Any] = httpx.get(f"{sim.base_url}{TASKS}/{task_id}", headers=AUTH).json()
        if task.get("status") not in {None, "queued", "running"}:
            return task
        time.sleep(0.05)
    raise AssertionError(f"{task_id} did not finish")
