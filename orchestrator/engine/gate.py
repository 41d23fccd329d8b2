"""Keeps a process's creates recognisable on the list.

A create whose answer is lost is found again through the list by what its task echoes (model, resolution, length,
audio, tier; the seed only where the provider echoes it). Two creates alike in all of those, both unanswered at once,
could never be told apart afterwards. So creates with the same echo signature go through one at a time: from the
intent until the task id is journaled (or reconciliation ends). Other creates pass freely; a crash leaves at most one
unresolved intent per signature. The gate also remembers every task id it saw made, so a reconciliation never adopts
a task another shot of this process owns. One gate per run by default; runs that share an account in one process
should share one (`RunOptions.gate`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from orchestrator.api.types import CreateTaskRequest


def echo_signature(req: CreateTaskRequest) -> str:
    """The fields a task echoes that tell creates apart (the ratio is left out: `adaptive` comes back resolved)."""
    length = f"f{req.frames}" if req.frames is not None else f"d{req.duration}"
    return "|".join(str(v) for v in (req.model, req.resolution, length, req.generate_audio, req.service_tier,
                                     req.execution_expires_after))


class CreateGate:
    """One create at a time per echo signature; and the task ids this process made or adopted."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self.known: set[str] = set()

    @asynccontextmanager
    async def hold(self, req: CreateTaskRequest) -> AsyncIterator[None]:
        """Hold the signature's turn for the block."""
        lock = self._locks.setdefault(echo_signature(req), asyncio.Lock())
        async with lock:
            yield
