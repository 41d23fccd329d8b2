"""The list endpoint's pace: the provider allows 1 list call per second per account (seedance-api.md §9), and a
reconciliation, a resumed run and a status check may all want it at once. One pacer per provider base URL serves the
whole process, so no mix of callers can go over the limit; each call reserves the next free slot and sleeps until it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

LIST_INTERVAL_S = 1.0  # real seconds: a rate limit is not compressed by the poll scale


class Pacer:
    """Hands out send times at least `interval` apart; thread-safe and usable from any event loop."""

    def __init__(self, interval: float = LIST_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._next = float("-inf")

    def reserve(self) -> float:
        """Take the next slot; returns the seconds to wait before sending."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
            return slot - now


_by_base_url: dict[str, Pacer] = {}
_registry_lock = threading.Lock()


def list_pacer(base_url: str) -> Pacer:
    """The process-wide list pacer of one provider endpoint."""
    with _registry_lock:
        return _by_base_url.setdefault(base_url.rstrip("/"), Pacer())
