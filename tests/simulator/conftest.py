"""One simulator on a real loopback socket for the simulator tests, fast enough that tasks finish in moments."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.simulator.config import SimConfig
from orchestrator.simulator.server import SimulatorServer

APPLE = Path(__file__).resolve().parents[2] / "storyboards" / "assets" / "apple.png"
FAST = SimConfig(speed=1000.0, queue_seconds=0.0)


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimulatorServer]:
    """The shared simulator; tests call `sim` to get it reset."""
    with SimulatorServer(FAST.model_copy()) as server:
        yield server


@pytest.fixture
def sim(sim_server: SimulatorServer) -> SimulatorServer:
    """The shared simulator, reset, with the fast test configuration."""
    sim_server.reset()
    for key, value in FAST.model_dump().items():
        setattr(sim_server.backend.config, key, value)
    return sim_server


def data_url(path: Path = APPLE) -> str:
    """An image file as the data URL the provider accepts."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()
