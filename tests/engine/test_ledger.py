"""The ledger: billed takes of every run, tasks not billed yet at their estimate, and the limit a run's creates get
(the lower of its own budget and what the ledger's cap leaves)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from orchestrator.engine.journal import Journal
from orchestrator.engine.ledger import ledger
from orchestrator.engine.plan import make_plan
from orchestrator.engine.run import _limit
from orchestrator.storyboard.validate import check_file
from tests.conftest import STORYBOARDS


def test_the_ledger_adds_billed_takes_and_counts_unbilled_ones_at_their_estimate(tmp_path: Path) -> None:
    plan = make_plan(check_file(STORYBOARDS / "tea-ad.yaml"))
    estimate = {s.id: s.cost for s in plan.shots}
    journal = Journal(tmp_path / "journal.sqlite")
    journal.begin_run("tea-ad.yaml")
    journal.begin_run("tea-ad.yaml")
    billed = journal.add_intent("pick", "k1", {}, 1, 1, {}, 1)
    journal.set_submitted(billed.id, "cgt-1")
    journal.set_succeeded(billed.id, None, None, 100, 0.5)
    waiting = journal.add_intent("shake", "k2", {}, 1, 2, {}, 2)
    journal.set_submitted(waiting.id, "cgt-2")  # made by a run that died before its bill
    journal.add_intent("pour", "k3", {}, 1, 3, {}, 2)  # an intent: the next run's plan prices it itself

    book = ledger(journal, plan, 5.0)

    assert (book.spent, book.pending, book.runs) == (Decimal("0.5"), estimate["shake"], 2)
    assert book.left == Decimal(5) - Decimal("0.5") - estimate["shake"]
    assert ledger(journal, plan, None).left is None
    assert ledger(None, plan, 1.0).committed == 0


def test_a_run_may_commit_the_lower_of_its_budget_and_what_the_cap_leaves(tmp_path: Path) -> None:
    plan = make_plan(check_file(STORYBOARDS / "tea-ad.yaml"))  # budget_usd: 10
    journal = Journal(tmp_path / "journal.sqlite")
    journal.begin_run("tea-ad.yaml")
    take = journal.add_intent("pick", "k1", {}, 1, 1, {}, 1)
    journal.set_submitted(take.id, "cgt-1")
    journal.set_succeeded(take.id, None, None, 100, 7.0)

    assert _limit(plan, ledger(journal, plan, 12.0)) == Decimal(5)  # the cap leaves 5 of it
    assert _limit(plan, ledger(journal, plan, 100.0)) == Decimal(10)  # the run's own budget is lower
    assert _limit(plan, ledger(journal, plan, 6.0)) == Decimal(0)  # spent past the cap: nothing more
