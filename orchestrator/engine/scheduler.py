"""Runs the shot graph: every shot starts the moment its parent's last frame is in hand; a failure blocks only the
shot's descendants (house rule 7). How one shot runs is injected (house rule 5), so this is tested without a provider.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

F = TypeVar("F")  # what a parent hands its children (the last frame)
R = TypeVar("R")  # what a finished shot yields


class Blocked(Exception):
    """A shot could not start because an ancestor failed."""

    def __init__(self, ancestor: str) -> None:
        self.ancestor = ancestor
        super().__init__(ancestor)


@dataclass
class GraphResult(Generic[R]):
    """How each shot ended."""

    done: dict[str, R] = field(default_factory=dict)
    failed: dict[str, BaseException] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)  # shot -> the failed ancestor


async def run_graph(order: Sequence[str], parent_of: Mapping[str, str | None],
                    run_one: Callable[[str, F | None, Callable[[F], None]], Awaitable[R]]) -> GraphResult[R]:
    """Run every shot of `order` (parents first; the order also breaks ties for the provider's slots).

    `run_one(shot, parent_handoff, publish)` must call `publish` once the shot's handoff exists; children start
    then, while the shot itself may still be downloading.
    """
    loop = asyncio.get_running_loop()
    handoffs: dict[str, asyncio.Future[F]] = {shot: loop.create_future() for shot in order}
    result: GraphResult[R] = GraphResult()

    async def one(shot: str) -> None:
        parent = parent_of.get(shot)
        try:
            handoff = await handoffs[parent] if parent is not None and parent in handoffs else None
        except Blocked as exc:
            result.blocked[shot] = exc.ancestor
            handoffs[shot].set_exception(Blocked(exc.ancestor))
            return

        def publish(value: F) -> None:
            if not handoffs[shot].done():
                handoffs[shot].set_result(value)

        try:
            result.done[shot] = await run_one(shot, handoff, publish)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # contained: recorded, and only descendants are blocked
            result.failed[shot] = exc
            if not handoffs[shot].done():
                handoffs[shot].set_exception(Blocked(shot))
            return
        if not handoffs[shot].done():
            handoffs[shot].set_exception(Blocked(shot))  # finished without a frame: children cannot chain

    tasks = [asyncio.create_task(one(shot), name=f"shot {shot}") for shot in order]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for future in handoffs.values():
            if future.done() and not future.cancelled():
                future.exception()  # mark retrieved: a leaf's Blocked is nobody's concern
            else:
                future.cancel()
    return result
