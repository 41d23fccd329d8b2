"""A shot's alternates: its take and the alternates beside it run at once, each its own task with its own seed.

Children start from the first take whose last frame is on disk, unless a take is already in use (reused or picked:
then it publishes at once and stays the one). That take becomes the shot's take in use (its reroll number is
recorded), and its clip is the one the films get; the others finish and wait in `orchestrator takes` for a pick.
A shot fails only when every one of its takes failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from orchestrator.engine.context import ShotContext
from orchestrator.engine.decide import Decision
from orchestrator.engine.shot import Handoff, ShotOutcome, ShotRunner
from orchestrator.storyboard.resolve import ShotSpec


async def run_takes(ctx: ShotContext, spec: ShotSpec, decision: Decision, parent: Handoff | None,
                    publish: Callable[[Handoff], None]) -> ShotOutcome:
    """Run the decision and its alternates; return the outcome of the take children and films use."""
    if not decision.extras:
        return await ShotRunner(ctx, spec, decision, parent).run(publish)
    decisions = [decision, *decision.extras]
    first: list[int] = []  # index of the take whose frame was handed on first

    def handed(index: int) -> Callable[[Handoff], None]:
        def hand(handoff: Handoff) -> None:
            if not first:
                first.append(index)
                # Recorded before any child is made from it: an interrupted run resumes on this take, so the children
                # already made from its frame are kept, not made again.
                variant = decisions[index].variant
                if ctx.journal.variant(spec.id) != variant:
                    ctx.journal.set_variant(spec.id, variant)
                publish(handoff)
        return hand

    runs = [ShotRunner(ctx, spec, d, parent).run(handed(i)) for i, d in enumerate(decisions)]
    ended = await asyncio.gather(*runs, return_exceptions=True)
    for item in ended:
        if isinstance(item, BaseException) and not isinstance(item, Exception):
            raise item  # a cancellation or an interrupt: not a failed take
    done = [(i, o) for i, o in enumerate(ended) if isinstance(o, ShotOutcome)]
    chosen = next((o for i, o in done if first and i == first[0]), None)
    if chosen is None and first:  # the take children started from failed after handing its frame on
        failure = ended[first[0]]
        assert isinstance(failure, Exception)
        raise failure
    if chosen is None:
        if not done:
            failure = next(e for e in ended if isinstance(e, Exception))
            raise failure
        chosen = done[0][1]
    variant = int(chosen.take.params.get("variant", 0))
    if ctx.journal.variant(spec.id) != variant:
        ctx.journal.set_variant(spec.id, variant)
    return chosen
