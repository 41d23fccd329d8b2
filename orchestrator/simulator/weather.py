"""The provider's weather: create answers lost after the task was made, and bursts of 429/5xx answers.

Unlike armed faults (faults.py), which a test places exactly, weather is drawn at random with the rates in
`SimConfig` (`lost_creates`, `bursts`, `burst_length`). The draws come from RNGs seeded with `fault_seed`, one
stream for lost creates and one for bursts: which creates are lost then depends only on how many creates came
before, not on how often a client happened to poll in between.
"""

from __future__ import annotations

import random
import threading
from typing import Literal

from orchestrator.simulator.config import SimConfig
from orchestrator.simulator.faults import CallFault

_LOST_KINDS: tuple[Literal["500", "502", "503", "drop"], ...] = ("500", "502", "503", "drop")
# One kind per burst: 429 without Retry-After, 429 with Retry-After: 1, 502, 503.
_BURST_KINDS: tuple[tuple[Literal["429", "502", "503"], str | None], ...] = (
    ("429", None), ("429", "1"), ("502", None), ("503", None))
_DOWNLOAD_KINDS = _BURST_KINDS[2:]  # the file host answers 5xx when overloaded; rate limits are the API's
_UNSEEDED = object()


class Weather:
    """Draws lost creates and bursts; thread-safe, and re-seeded whenever `fault_seed` changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seed: object = _UNSEEDED
        self._lost = random.Random()
        self._burst = random.Random()
        self._left = 0
        self._kind: tuple[Literal["429", "502", "503"], str | None] = _BURST_KINDS[0]

    def reseed(self, seed: int | None) -> None:
        """Start the draws afresh (from `seed`, or from the system's randomness when None); ends a burst under way."""
        with self._lock:
            self._reseed(seed)

    def lost_create(self, config: SimConfig) -> CallFault | None:
        """How the answer to a create that made its task is lost, or None when it arrives."""
        with self._lock:
            self._follow(config.fault_seed)
            if config.lost_creates <= 0 or self._lost.random() >= config.lost_creates:
                return None
            return CallFault(endpoint="create", kind=self._lost.choice(_LOST_KINDS))

    def burst(self, config: SimConfig, endpoint: str) -> tuple[CallFault | None, bool]:
        """The answer a burst gives this request instead of the real one (None: no burst), and whether it began one."""
        with self._lock:
            self._follow(config.fault_seed)
            started = False
            if self._left == 0:
                if config.bursts <= 0 or self._burst.random() >= config.bursts:
                    return None, False
                kinds = _DOWNLOAD_KINDS if endpoint == "download" else _BURST_KINDS
                self._kind, self._left, started = self._burst.choice(kinds), config.burst_length, True
            self._left -= 1
            kind, retry_after = self._kind
            if endpoint == "download" and kind == "429":
                kind, retry_after = "503", None  # a 429 burst reaching the file host: it is just as overloaded
            return CallFault(endpoint="any", kind=kind, retry_after=retry_after), started

    def _follow(self, seed: int | None) -> None:
        if seed != self._seed:
            self._reseed(seed)

    def _reseed(self, seed: int | None) -> None:
        self._seed = seed
        base: int | str = seed if seed is not None else random.SystemRandom().getrandbits(64)
        # String seeds go through sha512: the same fault_seed gives the same streams in every process.
        self._lost = random.Random(f"lost-creates:{base}")
        self._burst = random.Random(f"bursts:{base}")
        self._left = 0
