"""Shared test helpers: run the real command line in-process, make images, and one simulator on a real socket."""

from __future__ import annotations

import base64
import contextlib
import io
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from orchestrator.cli.app import main
from orchestrator.simulator.config import SimConfig
from orchestrator.simulator.server import SimulatorServer

REPO = Path(__file__).resolve().parent.parent

# A shell without job control starts a background job (`make test &`, a CI runner's script) with Ctrl-C ignored, and
# Python keeps it ignored: the tests that press Ctrl-C, in this process or in a child run, would then wait for a run
# that never stops. Taking Python's own handler back also gives every child the default, since exec resets a handled
# signal (an ignored one stays ignored).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
STORYBOARDS = REPO / "storyboards"


@dataclass(frozen=True)
class CliResult:
    """Exit code and the two output streams of one command."""

    code: int
    stdout: str
    stderr: str


def run_cli(*args: str | Path) -> CliResult:
    """Run `orchestrator ARGS...` through the real entry point (error boundary included)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliResult(code, out.getvalue(), err.getvalue())


def make_image(path: Path, width: int, height: int, fmt: str = "PNG") -> Path:
    """Write a flat-colour image of the given size (compresses to almost nothing, even when huge)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), (200, 60, 40)).save(path, fmt)
    return path


APPLE = STORYBOARDS / "assets" / "apple.png"
# Tests poll the list endpoint freely; the 1-per-second list limit has its own test.
FAST = SimConfig(speed=1000.0, queue_seconds=0.0, list_qps=None)


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
