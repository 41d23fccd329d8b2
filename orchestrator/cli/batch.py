"""`orchestrator run a.yaml b.yaml ...` or `run FOLDER`: several storyboards in one process, one account's limits.

Every file is checked before anything starts (an invalid one refuses the whole batch, exit 2, as a lone run would);
then the runs go together (orchestrator.engine.batch). One progress view; each storyboard's own summary; the exit
code is the worst of theirs.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from orchestrator.config import Settings
from orchestrator.engine.backend import BackendKind, open_backend
from orchestrator.engine.batch import BatchOutcome, check_batch, run_batch, shared_endpoints, worst_exit
from orchestrator.engine.events import Event, EventLog, Watcher
from orchestrator.engine.run import Prepared, RunOptions, check_budget, open_journal, prepare
from orchestrator.engine.rundir import run_dir_for
from orchestrator.errors import BudgetExceeded, ConfigError, StoryboardInvalid
from orchestrator.profiles import RegionChoice
from orchestrator.storyboard.diagnostics import Diagnostic
from orchestrator.storyboard.validate import CheckedStoryboard, check_file

from . import progress, render

STORYBOARD_SUFFIXES = (".yaml", ".yml", ".json")


def storyboard_files(paths: Sequence[Path]) -> list[Path]:
    """The files named, a folder standing for the storyboards directly in it (.yaml, .yml, .json, by name); each
    file once."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in STORYBOARD_SUFFIXES and p.is_file())
            if not found:
                raise ConfigError(f"{path}: no storyboard in this folder (files ending in "
                                  f"{', '.join(STORYBOARD_SUFFIXES)})")
            files += found
        else:
            files.append(path)  # a missing file is said by the check, located like any other storyboard error
    unique: dict[Path, Path] = {}
    for file in files:
        unique.setdefault(file.resolve(), file)
    return list(unique.values())


def check_all(files: Sequence[Path], region: RegionChoice | None) -> list[CheckedStoryboard]:
    """Every storyboard checked; the diagnostics of all invalid ones raised together (nothing runs then)."""
    checked: list[CheckedStoryboard] = []
    problems: list[Diagnostic] = []
    for file in files:
        try:
            checked.append(check_file(file, str(file), region=region))
        except StoryboardInvalid as exc:
            problems += exc.diagnostics
    if problems:
        raise StoryboardInvalid(problems)
    for one in checked:
        render.print_diagnostics(one.warnings)
    check_batch(checked)
    return checked


def is_batch(paths: Sequence[Path]) -> bool:
    """Whether the command names several storyboards (or a folder of them) rather than one file."""
    return len(paths) > 1 or paths[0].is_dir()


def prepared(checked: CheckedStoryboard, options: RunOptions, locks: bool = True) -> Prepared:
    """What a run of the storyboard would do, read from its journal when it has one (which is closed again)."""
    journal = open_journal(run_dir_for(checked.name, options.out), str(checked.path))
    try:
        return prepare(checked, options, journal, locks=locks)
    finally:
        if journal is not None:
            journal.close()


def refuse_shot_flags(flags: dict[str, Sequence[str]]) -> None:
    """Flags that name shots belong to one storyboard: in a batch they are refused rather than guessed at."""
    given = [flag for flag, values in flags.items() if values]
    if given:
        raise ConfigError(f"{', '.join(given)} name shots of one storyboard: run that storyboard on its own "
                          f"(orchestrator run FILE {given[0]} SHOT)")


def confirm_total(storyboards: Sequence[CheckedStoryboard], options: RunOptions) -> None:
    """On the real provider: say what each storyboard would spend and ask once for the total (or need --yes)."""
    amounts = [(checked, prepared(checked, options, locks=False).amount_to_generate) for checked in storyboards]
    money = storyboards[0].region.profile.currency
    label = storyboards[0].region.profile.label
    total = money.show(sum(a for _, a in amounts))
    if not any(a for _, a in amounts):
        return
    if not sys.stdin.isatty():
        raise ConfigError(f"these runs would spend up to {total} on the real provider ({label}): pass --yes to "
                          "allow it without a terminal to ask on")
    for checked, amount in amounts:
        typer.echo(f"  {checked.path}: up to {money.show(amount)}", err=True)
    if not typer.confirm(f"Spend up to {total} on {label} for {len(storyboards)} storyboards?", err=True):
        raise typer.Exit(1)


def tagged(watcher: Watcher, name: str) -> Watcher:
    """The watcher, with each event naming its storyboard."""
    return lambda event: watcher({**event, "storyboard": name})


async def run_many(storyboards: Sequence[CheckedStoryboard], kind: BackendKind, settings: Settings,
                   options: RunOptions, as_json: bool) -> list[BatchOutcome]:
    """Open one backend for the account and run the batch, watched by one view."""
    first = storyboards[0]
    async with open_backend(kind, settings.sim_speed, settings.poll_scale, options.out, first.region.region,
                            shared_endpoints(storyboards), settings.list_interval) as backend:
        sys.stderr.write(f"{backend.description}\n")
        with contextlib.ExitStack() as stack:
            if as_json:
                watcher: Watcher = progress.json_lines()
            elif sys.stderr.isatty():
                watcher = stack.enter_context(progress.BatchTable(render.console(), [c.name for c in storyboards]))
            else:
                watcher = progress.plain_lines(prefixed=True)
            logs: dict[str, EventLog] = {}

            def log_of(checked: CheckedStoryboard) -> EventLog:
                log = EventLog(run_dir_for(checked.name, options.out).events, [tagged(watcher, checked.name)])
                logs[checked.name] = log.open()
                return log

            try:
                return await run_batch(storyboards, backend, options, log_of)
            finally:
                for log in logs.values():
                    log.close()


def resume_command(files: Sequence[Path], words: Sequence[str]) -> str:
    """The command that resumes the batch: the same files and choices."""
    return " ".join(shlex.quote(w) for w in ["orchestrator", "run", *map(str, files), *words])


def summary(outcomes: Sequence[BatchOutcome], simulated: bool, resume: str, echo: Callable[..., Any] = typer.echo
            ) -> None:
    """Each storyboard's films and shots, or why it stopped; then the batch's totals."""
    money = outcomes[0].checked.region.profile.currency
    spent = 0.0
    for outcome in outcomes:
        name = outcome.checked.name
        result = outcome.result
        if result is None:
            echo(f"{name}: not run: {outcome.error} (exit {outcome.exit_code})", err=True)
            continue
        spent += result.amount
        for film, path in result.films.items():
            echo(f"{name}: film {film}: {path}")
        for warning in result.warnings:
            echo(f"{name}: warning: {warning}", err=True)
        echo(f"{name}: shots: {len(result.generated)} generated, {len(result.reused)} reused; spent "
             f"{money.show(result.amount)} (exit {result.exit_code})", err=True)
        for shot, reason in {**result.failed, **result.blocked}.items():
            echo(f"{name}: failed: {shot}: {reason}", err=True)
    paid = "simulated, nothing was paid" if simulated else "in all"
    done = sum(1 for o in outcomes if o.exit_code == 0)
    echo(f"storyboards: {done} of {len(outcomes)} done; spent {money.show(spent)} ({paid})", err=True)
    if worst_exit(outcomes):
        echo(f"fix what failed, then resume with: {resume}", err=True)


def outcomes_json(outcomes: Sequence[BatchOutcome]) -> Event:
    """The batch's last JSON line: each storyboard's exit code and films."""
    return {"event": "batch_finished", "exit_code": worst_exit(outcomes), "storyboards": [
        {"storyboard": o.checked.name, "path": str(o.checked.path), "exit_code": o.exit_code,
         "films": {k: str(v) for k, v in (o.result.films.items() if o.result else ())},
         **({"error": o.error} if o.error else {})} for o in outcomes]}


def plan_all(storyboards: Sequence[CheckedStoryboard], options: RunOptions, as_json: bool, budget_flag: bool,
             total_flag: bool) -> None:
    """Each storyboard's plan, then what they cost together; exit 3 (after showing all) when one is over its
    budget."""
    plans = [prepared(checked, options) for checked in storyboards]
    money = plans[0].plan.money
    total = sum(p.plan.amount for p in plans)
    to_spend = sum(p.amount_to_generate for p in plans)
    if as_json:
        bodies = [json.loads(render.plan_json(p.plan, p.decisions, p.ledger)) for p in plans]
        typer.echo(json.dumps({"storyboards": bodies, "currency": plans[0].plan.currency,
                               "total": {money.key: round(total, 4), f"{money.key}_to_generate": round(to_spend, 4),
                                         "shots": sum(len(p.plan.shots) for p in plans)}}, indent=2))
    else:
        out = render.console()
        for one in plans:
            render.plan_tables(one.plan, out, one.decisions, one.ledger)
            out.print()
        out.print(Text(f"All {len(plans)} storyboards: {sum(len(p.plan.shots) for p in plans)} shots, "
                       f"{money.show(total)}; to spend now: {money.show(to_spend)}"))
    refused = 0
    for one in plans:
        try:
            check_budget(one, budget_flag, total_flag)
        except BudgetExceeded as over:
            sys.stderr.write(f"orchestrator: {one.checked.path}: {over}\n")
            refused = over.exit_code
    if refused:
        raise typer.Exit(refused)
