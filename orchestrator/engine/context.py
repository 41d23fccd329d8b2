"""What every shot of one run shares: the provider client, the journal, the budget, the in-flight limit and the
create gate; and the error a shot fails with."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from orchestrator.api.board import StatusBoard
from orchestrator.api.client import ArkClient
from orchestrator.engine.events import EventLog
from orchestrator.engine.gate import CreateGate
from orchestrator.engine.journal import Journal
from orchestrator.engine.pacing import AdaptiveLimit, LatencyModel, PollSchedule
from orchestrator.engine.plan import ShotEstimate
from orchestrator.engine.rundir import RunDir
from orchestrator.errors import OrchestratorError
from orchestrator.profiles import USD, Currency


class ShotFailed(OrchestratorError):
    """A shot could not be produced; its descendants are blocked."""

    def __init__(self, shot: str, reason: str, *, stops_run: bool = False) -> None:
        self.shot = shot
        self.reason = reason
        self.stops_run = stops_run  # an account-wide refusal (auth, permission): every other create would fail too
        super().__init__(f"{shot}: {reason}")


class BudgetStop(ShotFailed):
    """Submitting this shot (a retry) would pass the budget."""


@dataclass
class Budget:
    """What this run may still commit; reservations are estimates, corrected to actual usage when known. Exact
    decimals: a budget of $0.85 refuses $0.8526."""

    limit: Decimal | None
    committed: Decimal = Decimal(0)
    money: Currency = USD

    def reserve(self, shot: str, cost: Decimal) -> None:
        """Count a create against the budget, or raise BudgetStop."""
        if self.limit is not None and self.committed + cost > self.limit:
            show = self.money.show
            raise BudgetStop(shot, f"submitting it ({show(float(cost), 4)}) would pass the budget of "
                                   f"{show(float(self.limit))} ({show(float(self.committed), 4)} committed by this "
                                   "run)")
        self.committed += cost

    def settle(self, estimated: Decimal, actual: Decimal) -> None:
        """Replace an estimate by what the provider billed (0 for a failed task: failures are not billed)."""
        self.committed += actual - estimated


@dataclass
class ShotContext:
    """What every shot of one run shares."""

    client: ArkClient
    journal: Journal
    run_dir: RunDir
    base_dir: Path
    run: int
    events: EventLog
    limit: AdaptiveLimit
    budget: Budget
    estimates: dict[str, ShotEstimate]
    gate: CreateGate = field(default_factory=CreateGate)
    polls: PollSchedule = field(default_factory=PollSchedule)
    latency: LatencyModel = field(default_factory=LatencyModel)
    max_attempts: int = 3
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.time
    keep_going: bool = False
    stopped: str | None = None  # set when an account-wide refusal stops new submissions
    status: StatusBoard | None = None  # shared by runs on one account; None: this run's own, GETs only
    # How a downloaded clip is strictly decoded before it is journaled as downloaded (the film maker's check also
    # normalises it for its film, one decode serving both); None: a strict probe.
    check_clip: Callable[[str, Path], Awaitable[None]] | None = None

    @property
    def board(self) -> StatusBoard:
        """Where task status is asked (the shared board, else one of this run's own that only GETs)."""
        if self.status is None:
            self.status = StatusBoard(self.client, sleep=self.sleep)
        return self.status

    def cost_for(self, shot: str, tokens: int | None) -> Decimal:
        """The amount for billed tokens, at the rate the plan used for this shot (in the plan's currency)."""
        est = self.estimates[shot]
        return est.cost * (tokens or 0) / est.tokens if est.tokens else Decimal(0)
