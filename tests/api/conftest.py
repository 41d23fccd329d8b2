"""Fixtures of the provider-client tests: an anyio backend, a fake clock, sleeps that record instead of waiting."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from orchestrator.api import ArkClient
from orchestrator.api.pacer import Pacer

API_KEY = "ark-test-0d2f6c1e-SECRET-9b7a"
BASE_URL = "https://ark.test/api/v3"
NOW = 1_780_000_000.0

Handler = Callable[[httpx.Request], Any]


@pytest.fixture
def anyio_backend() -> str:
    """Run the async tests on asyncio only (the product runs on asyncio)."""
    return "asyncio"


class Sleeps:
    """An injectable async sleep that records the requested waits and returns at once, moving a virtual clock
    (`now`) on by each wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 0.0

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def sleeps() -> Sleeps:
    """A fresh recording sleep."""
    return Sleeps()


@pytest.fixture
def make_client(sleeps: Sleeps) -> Callable[..., ArkClient]:
    """Build an ArkClient whose server is the given MockTransport handler."""

    def build(handler: Handler, **kwargs: Any) -> ArkClient:
        kwargs.setdefault("api_key", API_KEY)
        kwargs.setdefault("base_url", BASE_URL)
        kwargs.setdefault("sleep", sleeps)
        kwargs.setdefault("rng", random.Random(7))
        kwargs.setdefault("clock", lambda: NOW)
        kwargs.setdefault("pacer", Pacer(clock=lambda: sleeps.now))  # the list pace, on the sleeps' virtual time
        return ArkClient(transport=httpx.MockTransport(handler), **kwargs)

    return build


def error_body(code: str, message: str = "boom", param: str = "", type_: str = "BadRequest") -> dict[str, Any]:
    """A provider error body."""
    return {"error": {"code": code, "message": message, "param": param, "type": type_}}


@pytest.fixture
def benign(sim: Any) -> Any:
    """The shared simulator with the provider's undocumented behaviours benign (no list lag, no read-after-write
    404s, the sent seed echoed), for tests about something else."""
    from tests.simulator.conftest import BENIGN

    for key, value in BENIGN.items():
        setattr(sim.backend.config, key, value)
    return sim
