"""Task status for many tasks at once: looks that come due together are answered by one list call.

The provider's list endpoint takes up to 100 task ids per call but allows 1 call per second per account; GET allows
20 per second. So a list call pays only when several looks fall due at about the same moment, which happens when many
tasks are in flight (a batch of storyboards). Each look names when it is due; the board gathers the looks due within
`window` of the first one waiting and, at that first look's moment, answers them with one list call when at least
`least` are waiting and the account's list pace allows a call now, else with a GET each. A look is never answered
later than it asked, and at most `window` earlier.

What the list does not show (a task it does not index yet, or one of another service tier) is asked by GET, so a
404 still means what GET says it means.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from orchestrator.api.client import LIST_IDS_MAX, ArkClient
from orchestrator.api.types import Task

LEAST = 3  # looks one list call must answer to be worth it (two GETs cost about what one list call does)


@dataclass
class _Look:
    task_id: str
    tier: str | None
    answer: asyncio.Future[Task]


@dataclass
class StatusBoard:
    """Answers status looks by GET, or several at once through the list endpoint."""

    client: ArkClient
    window: float = 0.0  # seconds a look may be answered early to join others (0: no batching)
    least: int = LEAST
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    listed: int = 0  # looks answered by a list call (for tests and the benchmark)
    _waiting: list[_Look] = field(default_factory=list)
    _round_at: float | None = None  # when the looks waiting now are answered (the event loop's clock)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def get(self, task_id: str, tier: str | None = None, due_in: float = 0.0) -> Task:
        """The task as it is `due_in` seconds from now (raises what GET raises, NotFound included)."""
        if due_in > self.window:
            await self.sleep(due_in - self.window)
            due_in = self.window
        loop = asyncio.get_running_loop()
        due = loop.time() + max(due_in, 0.0)
        if self.window <= 0 or (self._round_at is not None and due < self._round_at):
            if due_in > 0:  # the round would answer it late: it goes alone
                await self.sleep(due_in)
            return await self.client.get(task_id)
        look = _Look(task_id, tier, loop.create_future())
        self._waiting.append(look)
        if self._round_at is None:
            self._round_at = due
            self._spawn(self._answer_round(due_in))
        return await look.answer

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_round(self, wait: float) -> None:
        """At the first look's moment, answer every look waiting by then."""
        if wait > 0:
            await self.sleep(wait)
        looks, self._waiting, self._round_at = self._waiting, [], None
        listed: dict[str, Task] = {}
        try:
            listed = await self._list(looks)
        finally:
            for look in looks:
                if look.task_id in listed:
                    if not look.answer.done():
                        look.answer.set_result(listed[look.task_id])
                else:
                    self._spawn(self._by_get(look))

    async def _list(self, looks: list[_Look]) -> dict[str, Task]:
        """One list call for the biggest group of one service tier, when it is big enough and the pace allows."""
        by_tier: dict[str | None, list[_Look]] = defaultdict(list)
        for look in looks:
            by_tier[look.tier].append(look)
        biggest = max(by_tier.values(), key=len, default=[])
        ids = list(dict.fromkeys(look.task_id for look in biggest))[:LIST_IDS_MAX]
        if len(ids) < self.least:
            return {}
        try:
            page = await self.client.list_now(ids, biggest[0].tier)
        except Exception:  # the list failed: each look is asked by GET, which reports its own errors
            return {}
        if page is None:
            return {}
        listed = {task.id: task for task in page.items if task.id in ids}
        self.listed += sum(1 for look in biggest if look.task_id in listed)
        return listed

    async def _by_get(self, look: _Look) -> None:
        try:
            task = await self.client.get(look.task_id)
        except Exception as exc:  # handed to the look's owner, who handles GET's errors
            if not look.answer.done():
                look.answer.set_exception(exc)
            return
        if not look.answer.done():
            look.answer.set_result(task)
