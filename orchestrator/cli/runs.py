"""The commands that spend or inspect runs: run, status, cancel, assemble. Thin: each is a few lines over the
engine; the error boundary in `app.main` maps what they raise to exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from orchestrator.assembly.capability import require_ffmpeg
from orchestrator.config import Settings, load_prices
from orchestrator.engine import inspect as runinfo
from orchestrator.engine.backend import BackendKind, default_kind, open_backend
from orchestrator.engine.batch import worst_exit
from orchestrator.engine.events import EventLog
from orchestrator.engine.pacing import DEFAULT_CONCURRENCY
from orchestrator.engine.recover import recover as rebuild_journal
from orchestrator.engine.run import Prepared, RunOptions, RunResult, check_options, run_storyboard
from orchestrator.engine.rundir import RunDir, run_dir_for
from orchestrator.errors import ConfigError
from orchestrator.profiles import Currency, Region, RegionChoice, chosen_region
from orchestrator.storyboard.validate import CheckedStoryboard, check_file

from . import batch, progress, render

T = TypeVar("T")
FileArg = Annotated[Path, typer.Argument(help="Storyboard file (.yaml, .yml or .json)", show_default=False)]
Target = Annotated[Path, typer.Argument(help="Run directory, or the storyboard whose run it is", show_default=False)]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Folder of run directories (default runs/)")]
BackendOpt = Annotated[BackendKind | None, typer.Option(help="sim or ark (default: ark when ARK_API_KEY is set)")]
RegionOpt = Annotated[Region | None, typer.Option(
    "--region", help="byteplus (USD) or volcengine (CNY); default: ORCHESTRATOR_REGION, else the host of "
    "ARK_BASE_URL, else the storyboard's model ids", show_default=False)]
BudgetOpt = Annotated[float | None, typer.Option(
    "--budget", min=0, help="Hard cap in the region's currency (overrides budget_usd / budget_cny)")]
TakesOpt = Annotated[list[str] | None, typer.Option(
    "--takes", help="SHOT=N: have N takes of SHOT, made in parallel with different seeds (over `takes:`; "
    "repeatable)")]
BudgetTotalOpt = Annotated[float | None, typer.Option(
    "--budget-total", min=0, help="Hard cap on all runs of the run directory together, in the region's currency "
    "(overrides budget_total_usd / budget_total_cny)")]


def shot_and_number(flag: str, text: str, most: int | None = None) -> tuple[str, int]:
    """`hook=2` -> ('hook', 2), or a one-line usage error naming the flag (N from 1, to `most` when given)."""
    shot, _, number = text.partition("=")
    if not shot or not number.isdigit() or int(number) < 1 or (most is not None and int(number) > most):
        bound = f" with N from 1 to {most}" if most is not None else ""
        raise ConfigError(f"{flag} {text}: write SHOT=N{bound}, e.g. {flag} hook=2")
    return shot, int(number)


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the root callback resolved once for this invocation."""
    settings = ctx.obj
    assert isinstance(settings, Settings), "the root callback resolves settings"
    return settings


def region_of(ctx: typer.Context, flag: Region | None) -> RegionChoice | None:
    """The region the user chose: --region, else ORCHESTRATOR_REGION, else ARK_BASE_URL's host (None: the
    storyboard's model ids decide)."""
    if flag is not None:
        return chosen_region(flag, os.environ.get("ARK_BASE_URL"), "--region")
    return chosen_region(settings_of(ctx).region, os.environ.get("ARK_BASE_URL"))


FilesArg = Annotated[list[Path], typer.Argument(
    help="Storyboard file(s) (.yaml, .yml or .json), or a folder of them: several run together on one account",
    show_default=False)]


def run(
    ctx: typer.Context,
    files: FilesArg,
    out: OutOpt = None,
    backend: BackendOpt = None,
    concurrency: Annotated[int, typer.Option(min=1, max=100, help="Tasks on the provider at once")]
    = DEFAULT_CONCURRENCY,
    budget: BudgetOpt = None,
    budget_total: BudgetTotalOpt = None,
    reroll: Annotated[list[str] | None, typer.Option(help="Make this shot again with a new seed (repeatable)")]
    = None,
    drop_reroll: Annotated[list[str] | None, typer.Option(
        "--drop-reroll", help="Give up this shot's newest reroll and go back to its take before (repeatable)")]
    = None,
    only: Annotated[list[str] | None, typer.Option(help="Run only this shot and its ancestors (repeatable)")]
    = None,
    keep_going: Annotated[bool, typer.Option(help="Keep submitting after an account-wide refusal (401/403)")]
    = False,
    takes: TakesOpt = None,
    gate: Annotated[bool, typer.Option("--gate", help="Make every chain link a review gate: a shot's children "
                                       "wait until its take is approved (orchestrator approve)")] = False,
    clips_only: Annotated[bool, typer.Option(
        "--clips-only", help="Generate and download the clips, not the films or the review page (make them later: "
        "orchestrator assemble, orchestrator report)")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before spending on the real provider")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON event per line on stdout")] = False,
    region: RegionOpt = None,
) -> None:
    """Run a storyboard into films, resuming whatever an earlier run left; several storyboards (or a folder) run
    together, sharing the account's limits. Exit 0 done, 1 failed shots, 3 over budget, 130 interrupted (a batch:
    the worst of its storyboards')."""
    settings = settings_of(ctx)
    if batch.is_batch(files):
        batch.refuse_shot_flags({"--reroll": reroll or (), "--drop-reroll": drop_reroll or (), "--only": only or (),
                                 "--takes": takes or ()})
        _run_batch(ctx, files, out, backend, concurrency, budget, budget_total, keep_going, gate, yes, as_json,
                   region, clips_only)
        return
    file = files[0]
    checked = check_file(file, str(file), region=region_of(ctx, region))
    render.print_diagnostics(checked.warnings)
    kind = backend or default_kind()
    options = RunOptions(out=out or settings.out, concurrency=concurrency, budget=budget, budget_total=budget_total,
                         rerolls=tuple(reroll or ()), drops=tuple(drop_reroll or ()), only=tuple(only or ()),
                         keep_going=keep_going, max_attempts=settings.max_attempts, gate_links=gate,
                         alternates=tuple(shot_and_number("--takes", t, 10) for t in takes or ()),
                         rejections_max=settings.rejections_max, assemble=not clips_only,
                         prices=load_prices(settings.prices, checked.region.region),
                         exif=settings.exif_orientation == "apply")
    check_options(checked, options)  # a mistyped flag is said before any backend starts
    require_ffmpeg()  # an ffmpeg that cannot make the films is refused (exit 2) before anything is spent
    confirm = None if kind is BackendKind.SIM or yes else _confirm
    resume = _resume_command(file, out, backend, budget, only, region, gate, budget_total, tuple(takes or ()))
    resume += " --clips-only" if clips_only else ""
    result = _interruptible(_run(checked, kind, settings, options, as_json, confirm), f"resume with: {resume}")
    if not as_json:
        _summary(result, resume, simulated=kind is BackendKind.SIM, money=checked.region.profile.currency)
    if result.waiting:
        gates = sorted(set(result.waiting.values()))
        look = f"{result.page} or " if result.page is not None else ""
        typer.echo(f"waiting for approval: {', '.join(result.waiting)} (after {', '.join(gates)}); look at "
                   f"{look}`orchestrator takes {file}`, then `orchestrator approve "
                   f"{file} {gates[0]} [N]` and `{resume}`, or reroll with `{resume} --reroll {gates[0]}`", err=True)
    raise typer.Exit(result.exit_code)


def _run_batch(ctx: typer.Context, paths: list[Path], out: Path | None, backend: BackendKind | None,
               concurrency: int, budget: float | None, budget_total: float | None, keep_going: bool, gate: bool,
               yes: bool, as_json: bool, region: Region | None, clips_only: bool) -> None:
    settings = settings_of(ctx)
    files = batch.storyboard_files(paths)
    storyboards = batch.check_all(files, region_of(ctx, region))
    kind = backend or default_kind()
    options = RunOptions(out=out or settings.out, concurrency=concurrency, budget=budget, budget_total=budget_total,
                         keep_going=keep_going, max_attempts=settings.max_attempts, gate_links=gate,
                         rejections_max=settings.rejections_max, assemble=not clips_only,
                         prices=load_prices(settings.prices, storyboards[0].region.region),
                         exif=settings.exif_orientation == "apply")
    for checked in storyboards:
        check_options(checked, options)
    require_ffmpeg()
    if kind is not BackendKind.SIM and not yes:
        batch.confirm_total(storyboards, options)
    resume = batch.resume_command(paths, _resume_flags(out, backend, budget, region, gate, budget_total)
                                  + (["--clips-only"] if clips_only else []))
    outcomes = _interruptible(batch.run_many(storyboards, kind, settings, options, as_json),
                              f"resume with: {resume}")
    if as_json:
        typer.echo(json.dumps(batch.outcomes_json(outcomes)))
    else:
        batch.summary(outcomes, kind is BackendKind.SIM, resume)
    raise typer.Exit(worst_exit(outcomes))


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
    async with open_backend(kind, settings.sim_speed, settings.poll_scale, options.out, checked.region.region,
                            checked.storyboard.endpoints, settings.list_interval) as backend:
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
    cost = prepared.plan.money.show(prepared.amount_to_generate)
    label = prepared.checked.region.profile.label
    if not sys.stdin.isatty():
        raise ConfigError(f"this run would spend up to {cost} on the real provider ({label}): pass --yes to allow "
                          "it without a terminal to ask on")
    if not typer.confirm(f"Spend up to {cost} on {label} for {prepared.checked.path}?", err=True):
        raise typer.Exit(1)


def _resume_command(file: Path, out: Path | None, backend: BackendKind | None, budget: float | None,
                    only: list[str] | None, region: Region | None = None, gate: bool = False,
                    budget_total: float | None = None, takes: tuple[str, ...] = ()) -> str:
    """The command that resumes this run: the same storyboard, run directory and choices (never --reroll: the
    journal remembers it; always the caps and alternates, or the resume could spend past them or drop them)."""
    words = ["orchestrator", "run", str(file), *_resume_flags(out, backend, budget, region, gate, budget_total)]
    for wanted in takes:
        words += ["--takes", wanted]
    for shot in only or ():
        words += ["--only", shot]
    return " ".join(shlex.quote(w) for w in words)


def _resume_flags(out: Path | None, backend: BackendKind | None, budget: float | None, region: Region | None,
                  gate: bool, budget_total: float | None) -> list[str]:
    """The flags a resume repeats that do not name shots (a batch's resume has only these)."""
    words = ["--out", str(out)] if out is not None else []
    words += ["--backend", backend.value] if backend is not None else []
    words += ["--budget", f"{budget:g}"] if budget is not None else []
    words += ["--budget-total", f"{budget_total:g}"] if budget_total is not None else []
    words += ["--region", region.value] if region is not None else []
    words += ["--gate"] if gate else []
    return words


def _summary(result: RunResult, resume: str, simulated: bool, money: Currency) -> None:
    for name, path in result.films.items():
        typer.echo(f"film {name}: {path}")
    if result.report is not None:
        typer.echo(f"report: {result.report}  contact sheet: {result.contact_sheet}")
    if result.page is not None:
        typer.echo(f"review: {result.page} (open it in a browser)")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    paid = "simulated, nothing was paid" if simulated else f"{result.tokens:,} tokens"
    typer.echo(f"shots: {len(result.generated)} generated, {len(result.reused)} reused; "
               f"spent {money.show(result.amount)} ({paid})", err=True)
    for shot, reason in {**result.failed, **result.blocked}.items():
        typer.echo(f"failed: {shot}: {reason}", err=True)
    if result.exit_code:
        typer.echo(f"fix what failed, then resume with: {resume}", err=True)


def status(
    ctx: typer.Context,
    target: Target,
    out: OutOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
    region: RegionOpt = None,
) -> None:
    """Per shot: state, task id, attempts, tokens, cost (in the run's currency), files; per output: the film.
    Calls nobody."""
    info = runinfo.status(runinfo.locate(target, out or settings_of(ctx).out, region=region_of(ctx, region)))
    if as_json:
        typer.echo(runinfo.status_json(info))
    else:
        render.status_tables(info, render.console())


def cancel(
    ctx: typer.Context,
    target: Target,
    out: OutOpt = None,
    backend: BackendOpt = None,
    region: RegionOpt = None,
) -> None:
    """Cancel the run's queued tasks on the provider and record it (running tasks cannot be cancelled)."""
    choice = region_of(ctx, region)
    run_dir = runinfo.locate(target, out or settings_of(ctx).out, region=choice)
    kind = backend or default_kind()
    settings = settings_of(ctx)
    on = runinfo.run_region(run_dir) or (choice.region if choice else Region.BYTEPLUS)
    lines = _interruptible(_cancel(run_dir, kind, settings.sim_speed, run_dir.root.parent, on),
                           "run the same command again")
    for line in lines:
        typer.echo(line)


async def _cancel(run_dir: RunDir, kind: BackendKind, sim_speed: float, out: Path, region: Region) -> list[str]:
    async with open_backend(kind, sim_speed, out=out, region=region) as backend:
        return await runinfo.cancel(run_dir, backend.client)


def assemble(
    ctx: typer.Context,
    target: Target,
    out: OutOpt = None,
    output: Annotated[list[str] | None, typer.Option("--output", help="Only this output (repeatable)")] = None,
) -> None:
    """Make the films again from a run's finished clips, without calling the provider (after editing `assembly:`)."""
    run_dir = runinfo.locate(target, out or settings_of(ctx).out)
    require_ffmpeg()
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
