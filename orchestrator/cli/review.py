"""The review commands: takes, pick, lock, unlock. Thin: each reads the journal and the storyboard, asks the engine
(`orchestrator.engine.review`) and writes one choice under the run's lock; none calls the provider."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from orchestrator.assembly.process import ffmpeg_slots
from orchestrator.config import load_prices
from orchestrator.engine import inspect as runinfo
from orchestrator.engine import review
from orchestrator.engine.decide import Decisions
from orchestrator.engine.journal import Journal
from orchestrator.engine.report import write_report
from orchestrator.engine.run import Prepared, RunOptions, prepare
from orchestrator.engine.rundir import RunDir, RunLock
from orchestrator.errors import ConfigError
from orchestrator.profiles import CURRENCIES
from orchestrator.storyboard.validate import CheckedStoryboard, check_file

from . import render
from .runs import OutOpt, RegionOpt, Target, region_of, settings_of

ShotArg = Annotated[str, typer.Argument(help="Shot id", show_default=False)]
TAKES_HINT = "orchestrator takes --json shows them, as does a wider terminal"


def takes(
    ctx: typer.Context,
    target: Target,
    shot: Annotated[str | None, typer.Argument(help="Only this shot", show_default=False)] = None,
    out: OutOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
    region: RegionOpt = None,
) -> None:
    """Every take of every shot (or of one): number, state, seed, cost, when and why it was made; the take in use
    is marked '*', a locked shot 'locked'. Calls nobody."""
    run_dir, checked = _open(ctx, target, out, region, need_storyboard=False)
    journal = Journal(run_dir.journal)
    try:
        decisions = _decisions(ctx, checked, run_dir, journal, locks=False) if checked is not None else None
        shots = [shot] if shot is not None else list(dict.fromkeys(t.shot for t in journal.takes()))
        if shot is not None and not journal.takes(shot):
            raise ConfigError(f"shot {shot} has no takes in {run_dir.root}")
        listing = {s: review.shot_takes(journal, s) for s in shots}
        locks = journal.locks()
        currency = journal.currency() or "USD"
    finally:
        journal.close()
    if as_json:
        typer.echo(json.dumps({"run_dir": str(run_dir.root), "currency": currency, "shots": {
            s: [{**asdict(t), "state": t.state.value, "in_use": t.key == review.in_use(decisions, s),
                 "locked": locks.get(s) == t.key} for t in found] for s, found in listing.items()}}, indent=2))
        return
    out_console = render.console()
    render.print_path(out_console, "Run directory:", str(run_dir.root))
    for s, found in listing.items():
        used = review.in_use(decisions, s)
        marks = ["*" if t.key == used else "" for t in found]
        columns = [
            render.Column("take", [f"{m}{t.number}" for m, t in zip(marks, found, strict=True)], justify="right"),
            render.Column("state", [t.state.value + (" locked" if locks.get(s) == t.key else "") for t in found]),
            render.Column("seed", [str(t.seed) for t in found], justify="right", drop=2),
            render.Column(currency, [f"{t.amount:.2f}" for t in found], justify="right"),
            render.Column("when", [time.strftime("%Y-%m-%d %H:%M", time.localtime(t.made_at)) for t in found],
                          drop=1),
            render.Column("why", [t.why for t in found], wrap=True),
        ]
        render.print_table(out_console, columns, [str(t.number) for t in found], TAKES_HINT, title=f"shot {s}")
    spent = sum(t.amount for found in listing.values() for t in found)
    out_console.print(Text(f"* in use. Spent on these takes: {CURRENCIES[currency].show(spent)}"))


def pick(
    ctx: typer.Context,
    target: Target,
    shot: ShotArg,
    number: Annotated[int, typer.Argument(help="Take number (see `orchestrator takes`)", show_default=False)],
    out: OutOpt = None,
    region: RegionOpt = None,
) -> None:
    """Make take N the one films and children use (children made from it before are current again). Calls nobody;
    the next `run` makes the films, and generates only children that never started from it (`plan --pick` prices
    that first)."""
    run_dir, checked = _open(ctx, target, out, region)
    assert checked is not None
    with _locked_journal(run_dir) as journal:
        _, decisions = _pick(ctx, checked, run_dir, journal, target, shot, number)
    typer.echo(f"{shot}: take {number} picked; `orchestrator run {target}` makes the films "
               f"({_to_spend(decisions)})")


def approve(
    ctx: typer.Context,
    target: Target,
    shot: ShotArg,
    number: Annotated[int | None, typer.Argument(help="Take number (default: the take in use)", show_default=False)]
    = None,
    out: OutOpt = None,
    region: RegionOpt = None,
) -> None:
    """Approve a gated shot's take (the one in use, or take N, which is then picked): its children start from it on
    the next `run`. Calls nobody."""
    run_dir, checked = _open(ctx, target, out, region)
    assert checked is not None
    with _locked_journal(run_dir) as journal:
        _known_shot(checked, shot)
        if number is None:
            key = review.lockable(_decisions(ctx, checked, run_dir, journal, locks=False), shot)
        else:
            key = _pick(ctx, checked, run_dir, journal, target, shot, number)[0].key
        journal.set_approved(shot, key)
        taken = _number_of(journal, shot, key)
    typer.echo(f"{shot}: take {taken} approved; `orchestrator run {target}` goes on from it")


def lock(ctx: typer.Context, target: Target, shot: ShotArg, out: OutOpt = None, region: RegionOpt = None) -> None:
    """Pin the take a shot uses: a later edit, reroll or parent change that would make it again is refused."""
    run_dir, checked = _open(ctx, target, out, region)
    assert checked is not None
    with _locked_journal(run_dir) as journal:
        _known_shot(checked, shot)
        key = review.lockable(_decisions(ctx, checked, run_dir, journal, locks=False), shot)
        journal.set_lock(shot, key)
        number = _number_of(journal, shot, key)
    typer.echo(f"{shot}: locked on take {number}")


def unlock(ctx: typer.Context, target: Target, shot: ShotArg, out: OutOpt = None, region: RegionOpt = None) -> None:
    """Let a locked shot be made again when the storyboard asks for it."""
    run_dir, _ = _open(ctx, target, out, region, need_storyboard=False)
    with _locked_journal(run_dir) as journal:
        was = shot in journal.locks()
        journal.set_lock(shot, None)
    typer.echo(f"{shot}: unlocked" if was else f"{shot}: was not locked")


def report(ctx: typer.Context, target: Target, out: OutOpt = None, region: RegionOpt = None) -> None:
    """Write report.html in the run directory again (films, takes, seams, spend), with no provider call; open it
    from disk in any browser."""
    run_dir, checked = _open(ctx, target, out, region, need_storyboard=False)
    with _locked_journal(run_dir) as journal:
        prepared = _prepared(ctx, checked, run_dir, journal, locks=False) if checked is not None else None
        every_link = journal.meta("gate_links") == "1"
        with ffmpeg_slots():
            page = asyncio.run(write_report(run_dir, journal, checked, prepared.decisions if prepared else None,
                                            prepared.ledger if prepared else None, every_link))
    typer.echo(f"report: {page}")


@contextlib.contextmanager
def _locked_journal(run_dir: RunDir) -> Iterator[Journal]:
    """The run directory's journal, under its lock: no run writes it while a choice is made."""
    with RunLock(run_dir):
        journal = Journal(run_dir.journal)
        try:
            yield journal
        finally:
            journal.close()


def _pick(ctx: typer.Context, checked: CheckedStoryboard, run_dir: RunDir, journal: Journal, target: Path,
          shot: str, number: int) -> tuple[review.ShotTake, Decisions]:
    """Make take `number` the one in use, once the storyboard as it stands is shown to use it."""
    chosen = review.take_number(journal, shot, number)
    if journal.locks().get(shot, chosen.key) != chosen.key:
        raise ConfigError(f"shot {shot} is locked: unlock it first (orchestrator unlock {target} {shot})")
    decisions = _decisions(ctx, checked, run_dir, journal, picks=((shot, chosen.variant),))
    review.check_pick(journal, decisions, chosen)
    journal.set_variant(shot, chosen.variant)
    return chosen, decisions


def _known_shot(checked: CheckedStoryboard, shot: str) -> None:
    if shot not in checked.specs:
        raise ConfigError(f"no shot {shot} in {checked.path} ({', '.join(checked.specs)})")


def _number_of(journal: Journal, shot: str, key: str) -> int:
    return next(t.number for t in review.shot_takes(journal, shot) if t.key == key)


def _open(ctx: typer.Context, target: Path, out: Path | None, region: RegionOpt,
          need_storyboard: bool = True) -> tuple[RunDir, CheckedStoryboard | None]:
    """The run directory and its storyboard: the file given, or the one the run directory's journal names."""
    choice = region_of(ctx, region)
    run_dir = runinfo.locate(target, out or settings_of(ctx).out, region=choice)
    if not run_dir.journal.is_file():
        raise ConfigError(f"{run_dir.root}: no journal yet: run the storyboard first")
    path: Path | None = target if target.is_file() else None
    if path is None:
        journal = Journal(run_dir.journal)
        try:
            named = journal.meta("storyboard")
        finally:
            journal.close()
        path = Path(named) if named and Path(named).is_file() else None
    if path is None:
        if need_storyboard:
            raise ConfigError(f"{run_dir.root}: its storyboard is not where the run left it: give the storyboard "
                              "file instead of the run directory")
        return run_dir, None
    return run_dir, check_file(path, str(path), region=choice)


def _decisions(ctx: typer.Context, checked: CheckedStoryboard, run_dir: RunDir, journal: Journal,
               picks: tuple[tuple[str, int], ...] = (), locks: bool = True) -> Decisions:
    return _prepared(ctx, checked, run_dir, journal, picks, locks).decisions


def _prepared(ctx: typer.Context, checked: CheckedStoryboard, run_dir: RunDir, journal: Journal,
              picks: tuple[tuple[str, int], ...] = (), locks: bool = True) -> Prepared:
    options = RunOptions(out=run_dir.root.parent, picks=picks,
                         prices=load_prices(settings_of(ctx).prices, checked.region.region),
                         exif=settings_of(ctx).exif_orientation == "apply")
    return prepare(checked, options, journal, locks=locks)


def _to_spend(decisions: Decisions) -> str:
    generate = [d.shot for d in decisions.shots if d.action.value == "generate"]
    return f"generating {', '.join(generate)}: see `orchestrator plan`" if generate else "nothing to generate"
