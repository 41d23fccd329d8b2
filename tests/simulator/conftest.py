"""The simulator tests use the shared `sim` fixture of tests/conftest.py; `benign` calms it for tests about
something other than the provider's undocumented behaviours (test_undocumented.py proves those on and off)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.simulator.server import SimulatorServer
from tests.conftest import APPLE, data_url

__all__ = ["APPLE", "BENIGN", "data_url"]

# The undocumented behaviours at their benign values (the defaults are the hostile ones).
BENIGN: dict[str, Any] = {"list_lag_seconds": 0.0, "read_after_write_seconds": 0.0, "echo_seed": True}


@pytest.fixture
def benign(sim: SimulatorServer) -> SimulatorServer:
    """The shared simulator with no list lag, no read-after-write 404s and the sent seed echoed."""
    for key, value in BENIGN.items():
        setattr(sim.backend.config, key, value)
    return sim
