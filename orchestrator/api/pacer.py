"""The list endpoint's pace: the provider allows 1 list call per second per account (seedance-api.md §9), and a
reconciliation, a resumed run and a status check may all want it at once. One pacer per provider base URL serves the
whole process, so no mix of callers can go over the limit: a call waits until `LIST_INTERVAL_S` has passed since the
last one was let through.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

LIST_INTERVAL_S = 1.1  # real seconds (a rate limit is not compressed by the poll scale); 10 % over the limit's
# 1 s, so two calls stay a second apart at the provider however the network delays the first


class Pacer:
    """Lets calls through at least `interval` apart, counted from when each was let through; thread-safe and usable
    from any event loop."""

    def __init__(self, interval: float = LIST_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._next = float("-inf")

    def claim(self) -> float:
        """0 when the caller may send now (the turn is taken), else the seconds to wait before asking again."""
        with self._lock:
            now = self._clock()
            if now >= self._next:
                self._next = now + self.interval
                return 0.0
            return self._next - now


_by_base_url: dict[str, Pacer] = {}
_registry_lock = threading.Lock()


def list_pacer(base_url: str) -> Pacer:
    """The process-wide list pacer of one provider endpoint."""
    with _registry_lock:
        return _by_base_url.setdefault(base_url.rstrip("/"), Pacer())
