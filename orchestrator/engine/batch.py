"""Several storyboards in one process against one account (`orchestrator run a.yaml b.yaml ...`).

The provider's limits are per account, so the runs share one in-flight limit (whose waiters are served longest
remaining chain first, across storyboards), one create gate and one client (whose list calls are paced for the whole
process). Everything a storyboard owns stays its own: run directory and lock, journal, budget, films, summary.

Before any run creates anything, every run has opened its journal and told the shared gate the task ids it holds:
only then can one storyboard's interrupted create, settled through the list, never adopt a task another storyboard
of the batch made in an earlier, killed process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from orchestrator.api.board import StatusBoard
from orchestrator.assembly.process import ffmpeg_slots
from orchestrator.engine.backend import Backend
from orchestrator.engine.events import EventLog
from orchestrator.engine.gate import CreateGate, Rendezvous
from orchestrator.engine.pacing import AdaptiveLimit
from orchestrator.engine.run import RunOptions, RunResult, run_storyboard
from orchestrator.errors import ConfigError, OrchestratorError
from orchestrator.storyboard.validate import CheckedStoryboard


@dataclass(frozen=True)
class BatchOutcome:
    """How one storyboard of a batch ended: its run's result, or the error that ended it."""

    checked: CheckedStoryboard
    result: RunResult | None
    error: str | None = None
    error_code: int = 0

    @property
    def exit_code(self) -> int:
        """The run's exit code, or the error's."""
        return self.result.exit_code if self.result is not None else self.error_code


def worst_exit(outcomes: Sequence[BatchOutcome]) -> int:
    """The batch's exit code: the highest of its storyboards' (0 done < 1 failed shots < 2 input < 3 budget)."""
    return max((o.exit_code for o in outcomes), default=0)


def check_batch(storyboards: Sequence[CheckedStoryboard]) -> None:
    """A batch is one account: one region, and one run directory per storyboard (distinct names); an endpoint id
    names one model across it. Said before anything starts (ConfigError, exit 2)."""
    regions = {c.region.region for c in storyboards}
    if len(regions) > 1:
        by = ", ".join(f"{c.path} ({c.region.region.value})" for c in storyboards)
        raise ConfigError(f"these storyboards are on different regions ({by}): one run uses one account; run each "
                          "region's storyboards on their own")
    seen: dict[str, CheckedStoryboard] = {}
    for checked in storyboards:
        other = seen.setdefault(checked.name, checked)
        if other is not checked:
            raise ConfigError(f"{other.path} and {checked.path} are both named '{checked.name}', so they would "
                              "share one run directory: give one of them another `name:`")
    shared_endpoints(storyboards)


def shared_endpoints(storyboards: Sequence[CheckedStoryboard]) -> dict[str, str]:
    """Every storyboard's endpoint ids (ep-... -> model id) together; one id naming two models is refused."""
    merged: dict[str, str] = {}
    for checked in storyboards:
        for endpoint, model in (checked.storyboard.endpoints or {}).items():
            if merged.setdefault(endpoint, str(model)) != str(model):
                raise ConfigError(f"{checked.path}: endpoint {endpoint} serves {model} here but {merged[endpoint]} "
                                  "in another storyboard of this run: one account's endpoint serves one model")
    return merged


async def run_batch(storyboards: Sequence[CheckedStoryboard], backend: Backend, options: RunOptions,
                    events: Callable[[CheckedStoryboard], EventLog]) -> list[BatchOutcome]:
    """Run every storyboard at once, sharing the account's limits; one storyboard's failure or refusal (its
    budget, its busy run directory) ends only that storyboard. `events` gives each its (open) event log."""
    together = Rendezvous(len(storyboards))
    limit = options.limit or AdaptiveLimit(options.concurrency)
    limit.paused = True  # until every storyboard's first shots are in line: then the longest chains go first
    # Looks due within one poll floor of each other go together: with many tasks in flight, one list call answers
    # several (the provider allows 1 a second per account, 100 ids each).
    board = options.status or StatusBoard(backend.client, window=backend.polls.min_s * backend.polls.scale)
    shared = replace(options, limit=limit, gate=options.gate or CreateGate(), together=together, status=board)

    async def one(checked: CheckedStoryboard) -> BatchOutcome:
        try:
            result = await run_storyboard(checked, backend, shared, events(checked))
            return BatchOutcome(checked, result)
        except OrchestratorError as exc:
            return BatchOutcome(checked, None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                                exc.exit_code)
        finally:
            together.arrive(checked.name)  # ended before meeting the others: they must not wait for it

    async def open_when_in_line() -> None:
        await together.everyone()
        await _settled_line(limit)
        limit.open()

    opener = asyncio.create_task(open_when_in_line())
    try:
        with ffmpeg_slots():  # one ffmpeg limit for the machine, not one per storyboard
            return list(await asyncio.gather(*(one(c) for c in storyboards)))
    finally:
        opener.cancel()
        limit.open()


QUIET_TURNS = 3  # event-loop turns without a new caller in line: the shots that could start are all queued


async def _settled_line(limit: AdaptiveLimit, most: int = 1000) -> None:
    """Wait until the line for places stops growing. A shot reaches its place without waiting on any I/O once its
    run has met the others, so a few turns of the event loop queue every shot that can start now; a run still
    settling an interrupted create joins the line later, and is then served by priority like the rest."""
    quiet, seen = 0, -1
    for _ in range(most):
        await asyncio.sleep(0)
        quiet, seen = (quiet + 1, seen) if limit.waiting == seen else (0, limit.waiting)
        if quiet >= QUIET_TURNS and seen > 0:
            return
