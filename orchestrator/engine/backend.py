"""Which provider a run talks to: the real service (ARK_API_KEY set) or the built-in simulator on a free loopback
port (DESIGN.md §9). Either way the engine gets the same `ArkClient`.

The built-in simulator keeps its tasks and files in a store beside the run directories (`<out>/.simulator/`), as the
provider keeps them for 7 days: a later run, a resume after a crash, a reroll or a cancel find them there, on a new
port, exactly as they would find them on the real service.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from orchestrator.api.client import ArkClient
from orchestrator.engine.pacing import PollSchedule
from orchestrator.profiles import PROFILES, Region

SIM_KEY = "simulator-local-key"  # the built-in simulator accepts any key; this one is not a secret
# The built-in simulator's tasks and files, under the folder of run directories; one store per region, as accounts
# of the two regions do not see each other's tasks.
SIM_STORES: Mapping[Region, str] = MappingProxyType({Region.BYTEPLUS: ".simulator",
                                                      Region.VOLCENGINE: ".simulator-volcengine"})
SIM_STORE = SIM_STORES[Region.BYTEPLUS]


class BackendKind(StrEnum):
    """Where tasks go."""

    SIM = "sim"
    ARK = "ark"


def default_kind() -> BackendKind:
    """The real service when an API key is set, else the simulator."""
    return BackendKind.ARK if os.environ.get("ARK_API_KEY", "").strip() else BackendKind.SIM


def provider_url(region: Region) -> str:
    """The real service's base URL for a run on `region`: ARK_BASE_URL when set, else the region's own."""
    return os.environ.get("ARK_BASE_URL") or PROFILES[region].base_url


@dataclass(frozen=True)
class Backend:
    """An open connection to a provider."""

    kind: BackendKind
    client: ArkClient
    description: str
    polls: PollSchedule


@asynccontextmanager
async def open_backend(kind: BackendKind, sim_speed: float, poll_scale: float = 1.0, out: Path | None = None,
                       region: Region = Region.BYTEPLUS, endpoints: Mapping[str, str] | None = None,
                       list_interval: float | None = None) -> AsyncIterator[Backend]:
    """The client for `kind` on `region` (ARK_BASE_URL, else the region's base URL), its list calls `list_interval`
    apart when given; for the simulator, also the simulator itself configured as `region` with the storyboard's
    `endpoints` (its store in `out`), stopped on exit."""
    if kind is BackendKind.ARK:
        async with ArkClient(base_url=provider_url(region)) as client:
            if list_interval is not None:  # a simulator elsewhere that allows list calls faster (its list_qps)
                client.pacer.interval = list_interval
            yield Backend(kind, client, f"provider: {client.base_url}", PollSchedule().scaled(poll_scale))
        return
    from orchestrator.simulator.config import SimConfig  # the simulator stack loads only when used
    from orchestrator.simulator.server import SimulatorServer

    store = (out or Path("runs")) / SIM_STORES[region]
    config = SimConfig(speed=sim_speed, store_dir=store, region=region.value, endpoints=dict(endpoints or {}))
    server = SimulatorServer(config).start()
    try:
        async with ArkClient(SIM_KEY, base_url=server.base_url) as client:
            where = "" if region is Region.BYTEPLUS else f" as {PROFILES[region].label}"
            yield Backend(kind, client, f"simulator{where}: {server.base_url} (no ARK_API_KEY set; "
                          f"latency x1/{sim_speed:g})",
                          PollSchedule().scaled(poll_scale / sim_speed))
    finally:
        server.stop()
