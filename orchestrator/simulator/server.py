"""Runs the simulator: in a background thread for tests and programs (`SimulatorServer`), or in the foreground
for `orchestrator simulate`. Binds loopback by default; port 0 picks a free one.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from orchestrator.simulator.backend import Backend
from orchestrator.simulator.config import SimConfig
from orchestrator.simulator.faults import CallFault, TaskFault
from orchestrator.simulator.http import build_app

_START_TIMEOUT_S = 10.0


class SimulatorServer:
    """The simulator on a real socket. `with SimulatorServer(SimConfig(speed=1000)) as sim: sim.base_url`."""

    def __init__(self, config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0,
                 backend: Backend | None = None) -> None:
        self.backend = backend or Backend(config)
        self.host = host
        self._socket = socket.create_server((host, port), reuse_port=False)
        self.port: int = self._socket.getsockname()[1]
        self.backend.public_url = f"http://{_url_host(host)}:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(build_app(self.backend), log_level="warning",
                                                     lifespan="on", access_log=False, timeout_graceful_shutdown=1))
        self._thread: threading.Thread | None = None

    @property
    def root_url(self) -> str:
        """http://HOST:PORT, where /_sim and /files live."""
        return self.backend.public_url

    @property
    def base_url(self) -> str:
        """The API base URL to give a client (what ARK_BASE_URL would be)."""
        return f"{self.root_url}/api/v3"

    def start(self) -> SimulatorServer:
        """Serve in a daemon thread; returns once the socket accepts requests."""
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="simulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the simulator did not start")
            time.sleep(0.01)
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self._server.run(sockets=[self._socket])

    def stop(self) -> None:
        """Stop serving and clean up rendered files."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()
        if self._thread is None or not self._thread.is_alive():
            self.backend.close()  # only once nothing can reach the render pool any more

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # The control plane from Python: the same operations as /_sim over HTTP.
    def reset(self) -> None:
        """Forget every task, fault and counter."""
        self.backend.reset()

    def arm(self, fault: CallFault | TaskFault) -> None:
        """Inject a fault."""
        self.backend.faults.arm(fault)

    def stats(self) -> dict[str, Any]:
        """Request counters and tasks by status."""
        return self.backend.stats()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else ("127.0.0.1" if host in {"", "0.0.0.0"} else host)


def control(root_url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call the HTTP control plane of a simulator running elsewhere (e.g. `orchestrator simulate`)."""
    method = "POST" if body is not None or path in {"reset"} else "GET"
    response = httpx.request(method, f"{root_url}/_sim/{path}", json=body, timeout=10.0)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result
