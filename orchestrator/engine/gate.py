"""Keeps a process's creates recognisable on the list.

A create whose answer is lost is found again through the list by what its task echoes (model, resolution, length,
audio, tier; the seed only where the provider echoes it). Two creates alike in all of those, both unanswered at once,
could never be told apart afterwards. So creates with the same echo signature go through one at a time: from the
intent until the task id is journaled (or reconciliation ends). Other creates pass freely; a crash leaves at most one
unresolved intent per signature. The gate also remembers every task id it saw made, so a reconciliation never adopts
a task another shot of this process owns. One gate per run by default; runs that share an account in one process
should share one (`RunOptions.gate`), and meet (`Rendezvous`) once each has told it the task ids its journal holds,
before any of them settles or creates.
"""

from __future__ import annotations

import asyncio
import contextlib
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

    def hold(self, req: CreateTaskRequest) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold the request's signature's turn for the block."""
        return self.hold_signature(echo_signature(req))

    @asynccontextmanager
    async def hold_signature(self, signature: str) -> AsyncIterator[None]:
        """Hold the signature's turn for the block (a create, or the settling of an earlier process's intents)."""
        lock = self._locks.setdefault(signature, asyncio.Lock())
        async with lock:
            yield


class Rendezvous:
    """Lets each of `parties` runs wait until all of them have arrived (or ended before arriving)."""

    def __init__(self, parties: int) -> None:
        self._parties = parties
        self._arrived: set[str] = set()
        self._all_here = asyncio.Event()
        if parties <= 0:
            self._all_here.set()

    def arrive(self, party: str) -> None:
        """Count `party` in (once, however often it is called)."""
        self._arrived.add(party)
        if len(self._arrived) >= self._parties:
            self._all_here.set()

    async def meet(self, party: str) -> None:
        """Arrive, then wait for everyone."""
        self.arrive(party)
        await self.everyone()

    async def everyone(self) -> None:
        """Wait until every party has arrived."""
        await self._all_here.wait()
