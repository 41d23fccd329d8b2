"""The commands that spend or inspect runs: run, status, cancel, assemble. Thin: each is a few lines over the
engine; the error boundary in `app.main` maps what they raise to exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from orchestrator.config import Settings, load_prices
from orchestrator.engine import inspect as runinfo
from orchestrator.engine.backend import BackendKind, default_kind, open_backend
from orchestrator.engine.events import EventLog
from orchestrator.engine.pacing import DEFAULT_CONCURRENCY
from orchestrator.engine.recover import recover as rebuild_journal
from orchestrator.engine.run import Prepared, RunOptions, RunResult, check_options, run_storyboard
from orchestrator.engine.rundir import RunDir, run_dir_for
from orchestrator.errors import ConfigError
from orchestrator.storyboard.validate import CheckedStoryboard, check_file

from . import progress, render

T = TypeVar("T")
FileArg = Annotated[Path, typer.Argument(help="Storyboard file (.yaml, .yml or .json)", show_default=False)]
Target = Annotated[Path, typer.Argument(help="Run directory, or the storyboard whose run it is", show_default=False)]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Folder of run directories (default runs/)")]
BackendOpt = Annotated[BackendKind | None, typer.Option(help="sim or ark (default: ark when ARK_API_KEY is set)")]


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the root callback resolved once for this invocation."""
    settings = ctx.obj
    assert isinstance(settings, Settings), "the root callback resolves settings"
    return settings


def run(
    ctx: typer.Context,
    file: FileArg,
    out: OutOpt = None,
    backend: BackendOpt = None,
    concurrency: Annotated[int, typer.Option(min=1, max=100, help="Tasks on the provider at once")]
    = DEFAULT_CONCURRENCY,
    budget: Annotated[float | None, typer.Option(min=0, help="Hard cap in USD (overrides budget_usd)")] = None,
    reroll: Annotated[list[str] | None, typer.Option(help="Make this shot again with a new seed (repeatable)")]
    = None,
    drop_reroll: Annotated[list[str] | None, typer.Option(
        "--drop-reroll", help="Give up this shot's newest reroll and go back to its take before (repeatable)")]
    = None,
    only: Annotated[list[str] | None, typer.Option(help="Run only this shot and its ancestors (repeatable)")]
    = None,
    keep_going: Annotated[bool, typer.Option(help="Keep submitting after an account-wide refusal (401/403)")]
    = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before spending on the real provider")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON event per line on stdout")] = False,
) -> None:
    """Run a storyboard into films, resuming whatever an earlier run left. Exit 0 done, 1 failed shots, 3 over
    budget, 130 interrupted."""
    settings = settings_of(ctx)
    checked = check_file(file, str(file))
    render.print_diagnostics(checked.warnings)
    kind = backend or default_kind()
    options = RunOptions(out=out or settings.out, concurrency=concurrency, budget_usd=budget,
                         rerolls=tuple(reroll or ()), drops=tuple(drop_reroll or ()), only=tuple(only or ()),
                         keep_going=keep_going, max_attempts=settings.max_attempts,
                         prices=load_prices(settings.prices))
    check_options(checked, options)  # a mistyped flag is said before any backend starts
    confirm = None if kind is BackendKind.SIM or yes else _confirm
    resume = _resume_command(file, out, backend, budget, only)
    result = _interruptible(_run(checked, kind, settings, options, as_json, confirm), f"resume with: {resume}")
    if not as_json:
        _summary(result, resume, simulated=kind is BackendKind.SIM)
    raise typer.Exit(result.exit_code)


def _interruptible(work: Coroutine[Any, Any, T], hint: str) -> T:
    """Run `work`; on Ctrl-C say so in one line and exit 130 (typer would otherwise exit silently). The journal is
    consistent at every await, so nothing needs undoing."""
    try:
        return asyncio.run(work)
    except KeyboardInterrupt:
        typer.echo(f"interrupted; {hint}", err=True)
        raise typer.Exit(130) from None


async def _run(checked: CheckedStoryboard, kind: BackendKind, settings: Settings, options: RunOptions,
               as_json: bool, confirm: Callable[[Prepared], None] | None) -> RunResult:
    async with open_backend(kind, settings.sim_speed, settings.poll_scale, options.out) as backend:
        sys.stderr.write(f"{backend.description}\n")
        log = EventLog(run_dir_for(checked.name, options.out).events)
        with contextlib.ExitStack() as stack:
            if as_json:
                log.watchers.append(progress.json_lines())
            elif sys.stderr.isatty():
                log.watchers.append(stack.enter_context(progress.LiveTable(render.console())))
            else:
                log.watchers.append(progress.plain_lines())
            stack.callback(log.open().close)
            return await run_storyboard(checked, backend, options, log, confirm)


def _confirm(prepared: Prepared) -> None:
    cost = prepared.usd_to_generate
    if not sys.stdin.isatty():
        raise ConfigError(f"this run would spend up to ${cost:,.2f} on the real provider: pass --yes to allow it "
                          "without a terminal to ask on")
    if not typer.confirm(f"Spend up to ${cost:,.2f} on the provider for {prepared.checked.path}?", err=True):
        raise typer.Exit(1)


def _resume_command(file: Path, out: Path | None, backend: BackendKind | None, budget: float | None,
                    only: list[str] | None) -> str:
    """The command that resumes this run: the same storyboard, run directory and choices (never --reroll)."""
    words = ["orchestrator", "run", str(file)]
    words += ["--out", str(out)] if out is not None else []
    words += ["--backend", backend.value] if backend is not None else []
    words += ["--budget", f"{budget:g}"] if budget is not None else []
    for shot in only or ():
        words += ["--only", shot]
    return " ".join(shlex.quote(w) for w in words)


def _summary(result: RunResult, resume: str, simulated: bool) -> None:
    for name, path in result.films.items():
        typer.echo(f"film {name}: {path}")
    if result.report is not None:
        typer.echo(f"report: {result.report}  contact sheet: {result.contact_sheet}")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    money = "simulated, nothing was paid" if simulated else f"{result.tokens:,} tokens"
    typer.echo(f"shots: {len(result.generated)} generated, {len(result.reused)} reused; "
               f"spent ${result.usd:,.2f} ({money})", err=True)
    for shot, reason in {**result.failed, **result.blocked}.items():
        typer.echo(f"failed: {shot}: {reason}", err=True)
    if result.exit_code:
        typer.echo(f"fix what failed, then resume with: {resume}", err=True)


def status(
    ctx: typer.Context,
    target: Target,
    out: OutOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
) -> None:
    """Per shot: state, task id, attempts, tokens, USD, files; per output: the film. Calls nobody."""
    info = runinfo.status(runinfo.locate(target, out or settings_of(ctx).out))
    if as_json:
        typer.echo(runinfo.status_json(info))
    else:
        render.status_tables(info, render.console())


def cancel(
    ctx: typer.Context,
    target: Target,
    out: OutOpt = None,
    backend: BackendOpt = None,
) -> None:
    """Cancel the run's queued tasks on the provider and record it (running tasks cannot be cancelled)."""
    run_dir = runinfo.locate(target, out or settings_of(ctx).out)
    kind = backend or default_kind()
    settings = settings_of(ctx)
    lines = _interruptible(_cancel(run_dir, kind, settings.sim_speed, run_dir.root.parent),
                           "run the same command again")
    for line in lines:
        typer.echo(line)


async def _cancel(run_dir: RunDir, kind: BackendKind, sim_speed: float, out: Path) -> list[str]:
    async with open_backend(kind, sim_speed, out=out) as backend:
        return await runinfo.cancel(run_dir, backend.client)


def assemble(
    ctx: typer.Context,
    target: Target,
    out: OutOpt = None,
    output: Annotated[list[str] | None, typer.Option("--output", help="Only this output (repeatable)")] = None,
) -> None:
    """Make the films again from a run's finished clips, without calling the provider (after editing `assembly:`)."""
    run_dir = runinfo.locate(target, out or settings_of(ctx).out)
    films = _interruptible(runinfo.reassemble(run_dir, tuple(output or ())), "run the same command again")
    for name, path in films.items():
        typer.echo(f"film {name}: {path}")


def recover(
    ctx: typer.Context,
    target: Target,
    out: OutOpt = None,
) -> None:
    """Rebuild a lost or damaged journal from the take records beside each take's files (no provider call); then
    `run` resumes as before, paying for nothing already made."""
    run_dir = runinfo.locate(target, out or settings_of(ctx).out, check=False)
    storyboard = str(target.resolve()) if target.is_file() else None
    report = _interruptible(rebuild_journal(run_dir, storyboard), "run the same command again")
    for line in report.lines():
        typer.echo(line)
