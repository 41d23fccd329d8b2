"""The ledger: what every run of a run directory has spent together, and its cap (`budget_total_usd|cny`).

A per-run budget alone lets ten rerolls under a $20 budget spend $200. The ledger adds what the journal says all
runs were billed, plus tasks earlier runs made that are not billed yet (counted at their shot's estimate, so a
crash between a create and its bill never lets a run pass the cap), and is checked before any create exactly as
the per-run budget is: the whole plan before the run starts, each create as it is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from orchestrator.engine.journal import Journal, TakeState
from orchestrator.engine.plan import Plan, dollars


@dataclass(frozen=True)
class Ledger:
    """All runs of one run directory, in the journal's currency."""

    spent: Decimal  # billed, every run so far
    pending: Decimal  # made by earlier runs, not billed yet, at their estimate
    runs: int  # runs recorded so far
    cap: Decimal | None  # budget_total_*, or --budget-total

    @property
    def committed(self) -> Decimal:
        """Spent or on its way to being billed."""
        return self.spent + self.pending

    @property
    def left(self) -> Decimal | None:
        """What later creates may still commit (None: no cap)."""
        return None if self.cap is None else max(self.cap - self.committed, Decimal(0))


def ledger(journal: Journal | None, plan: Plan, cap: float | None) -> Ledger:
    """The ledger of a run directory (an empty one before its first run)."""
    limit = None if cap is None else dollars(cap)
    if journal is None:
        return Ledger(Decimal(0), Decimal(0), 0, limit)
    estimates = {s.id: s.cost for s in plan.shots}
    spent = pending = Decimal(0)
    for take in journal.takes():
        if take.usd is not None:
            spent += Decimal(str(take.usd))
        elif take.state is TakeState.SUBMITTED or take.state is TakeState.SUCCEEDED:
            pending += estimates.get(take.shot, Decimal(0))
    return Ledger(spent, pending, journal.run_count(), limit)
