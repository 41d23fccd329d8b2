"""`orchestrator` commands. Each command is a few lines over the library; `main` is the one error boundary."""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError

from orchestrator import __version__
from orchestrator.config import Settings, load_prices
from orchestrator.engine import review as review_engine
from orchestrator.engine.plan import make_plan
from orchestrator.engine.run import RunOptions, check_budget, open_journal, prepare
from orchestrator.engine.rundir import run_dir_for
from orchestrator.errors import ConfigError, OrchestratorError, RunDirUnusable, StoryboardInvalid
from orchestrator.profiles import Region
from orchestrator.storyboard.diagnostics import printable
from orchestrator.storyboard.schema import json_schema
from orchestrator.storyboard.validate import check_file

from . import animatic, batch, catalog, doctor, editorial, render, review, runs

app = typer.Typer(
    name="orchestrator", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Turn a storyboard of shots into finished films with the Seedance video models.",
)

FileArg = Annotated[Path, typer.Argument(help="Storyboard file (.yaml, .yml or .json)", show_default=False)]


class GraphFormat(StrEnum):
    """Drawing formats for `graph`."""

    MERMAID = "mermaid"
    DOT = "dot"


_settings = runs.settings_of


@app.command()
def validate(
    ctx: typer.Context, files: Annotated[list[Path], typer.Argument(help="Storyboard files", show_default=False)],
    region: runs.RegionOpt = None,
) -> None:
    """Check storyboards against every rule, without spending anything. Exit 0 when all are valid, 2 if not."""
    failed = False
    choice = runs.region_of(ctx, region)
    for file in files:
        try:
            checked = check_file(file, str(file), region=choice)
        except StoryboardInvalid as exc:
            render.print_diagnostics(exc.diagnostics)
            failed = True
            continue
        render.print_diagnostics(checked.warnings)
        settings = _settings(ctx)
        plan = make_plan(checked, load_prices(settings.prices, checked.region.region),
                         exif=settings.exif_orientation == "apply")
        typer.echo(f"{file}: valid: {len(checked.specs)} shots, {len(checked.outputs)} output(s), "
                   f"estimated {plan.money.show(plan.amount)} on {checked.region.profile.label}")
    if failed:
        raise typer.Exit(2)


@app.command()
def plan(
    ctx: typer.Context,
    files: runs.FilesArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON")] = False,
    budget: runs.BudgetOpt = None,
    budget_total: runs.BudgetTotalOpt = None,
    prices: Annotated[Path | None, typer.Option(help="Price file overriding the catalog (env ORCHESTRATOR_PRICES)")]
    = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder of run directories (default runs/)")] = None,
    reroll: Annotated[list[str] | None, typer.Option(help="Price making this shot again (repeatable)")] = None,
    drop_reroll: Annotated[list[str] | None, typer.Option(
        "--drop-reroll", help="Show going back to the take before this shot's newest reroll (repeatable)")] = None,
    pick: Annotated[list[str] | None, typer.Option(
        "--pick", help="SHOT=N: price using take N of SHOT, as `orchestrator pick` would (repeatable)")] = None,
    takes: runs.TakesOpt = None,
    region: runs.RegionOpt = None,
) -> None:
    """Show what a run would do and cost, shot by shot, in the region's currency (with the run directory's
    journal: reuse, resume or generate, and why); several storyboards (or a folder): each, then the total. Exit 3
    when what it would generate is over the budget."""
    settings = _settings(ctx)
    if batch.is_batch(files):
        batch.refuse_shot_flags({"--reroll": reroll or (), "--drop-reroll": drop_reroll or (), "--pick": pick or (),
                                 "--takes": takes or ()})
        storyboards = batch.check_all(batch.storyboard_files(files), runs.region_of(ctx, region))
        options = RunOptions(out=out or settings.out, budget=budget, budget_total=budget_total,
                             prices=load_prices(prices or settings.prices, storyboards[0].region.region),
                             exif=settings.exif_orientation == "apply")
        batch.plan_all(storyboards, options, as_json, budget is not None, budget_total is not None)
        return
    file = files[0]
    checked = check_file(file, str(file), region=runs.region_of(ctx, region))
    render.print_diagnostics(checked.warnings)
    options = RunOptions(out=out or settings.out, budget=budget, budget_total=budget_total,
                         prices=load_prices(prices or settings.prices, checked.region.region),
                         rerolls=tuple(reroll or ()), drops=tuple(drop_reroll or ()),
                         alternates=tuple(runs.shot_and_number("--takes", t, 10) for t in takes or ()),
                         exif=settings.exif_orientation == "apply")
    journal = open_journal(run_dir_for(checked.name, options.out), str(file))
    try:
        chosen = [review_engine.take_number(journal, *runs.shot_and_number("--pick", p)) for p in pick or ()] \
            if journal is not None else []
        if pick and journal is None:
            raise ConfigError("--pick: no run yet, so no takes to pick from")
        options = dataclasses.replace(options, picks=tuple((t.shot, t.variant) for t in chosen))
        prepared = prepare(checked, options, journal)
        for take in chosen:
            assert journal is not None
            review_engine.check_pick(journal, prepared.decisions, take)
    finally:
        if journal is not None:
            journal.close()
    alternates = any(d.extras or d.alternates for d in prepared.decisions.shots)
    decisions = prepared.decisions if journal is not None or alternates else None
    if as_json:
        typer.echo(render.plan_json(prepared.plan, decisions, prepared.ledger))
    else:
        render.plan_tables(prepared.plan, render.console(), decisions, prepared.ledger)
    check_budget(prepared, budget is not None, budget_total is not None)


@app.command()
def graph(
    file: FileArg,
    fmt: Annotated[GraphFormat, typer.Option("--format", help="Drawing format")] = GraphFormat.MERMAID,
) -> None:
    """Print the shot graph (chains and branches) as Mermaid or Graphviz DOT."""
    checked = check_file(file, str(file))
    render.print_diagnostics(checked.warnings)
    labels = {sid: f"{sid}<br/>{spec.duration if spec.frames is None else spec.frames}"
              f"{'s' if spec.frames is None else 'f'} {spec.resolution}" for sid, spec in checked.specs.items()}
    if fmt is GraphFormat.MERMAID:
        draw = render.mermaid(checked.graph, labels)
    else:
        draw = render.dot(checked.graph, labels, checked.name)
    typer.echo(draw, nl=False)


@app.command()
def simulate(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to bind; keep it on loopback")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one")] = 8123,
    speed: Annotated[float, typer.Option(min=0.001, help="Time compression of queue and run latency")] = 1.0,
    api_key: Annotated[str | None, typer.Option(help="Accept only this bearer key (default: any key)")] = None,
    hostile: Annotated[bool, typer.Option("--hostile", help="Lose some create answers and answer bursts of "
                                          "429/5xx, on top of the other undocumented behaviours")] = False,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the lost answers and bursts (repeatable "
                                             "weather)")] = None,
    store: Annotated[Path | None, typer.Option("--store", help="Keep tasks and files in this folder, so a later "
                                               "simulator sees them (default: in memory)")] = None,
    region: Annotated[Region | None, typer.Option("--region", help="Answer as BytePlus (seedance-... ids) or "
                                                  "Volcengine (doubao-seedance-... ids); default ORCHESTRATOR_REGION, "
                                                  "else BytePlus")] = None,
    endpoint: Annotated[list[str] | None, typer.Option(
        "--endpoint", help="EP_ID=MODEL_ID: an endpoint of the account and the model it serves (repeatable)")]
    = None,
) -> None:
    """Run the local simulator of the provider's API until interrupted."""
    from orchestrator.simulator.config import SimConfig  # the server stack loads only for this command
    from orchestrator.simulator.server import SimulatorServer

    region = region or _settings(ctx).region or Region.BYTEPLUS  # ARK_BASE_URL names a real host, not this one
    endpoints = dict(_endpoint_pair(e) for e in endpoint or ())
    settings = {"speed": speed, "api_key": api_key, "fault_seed": seed, "store_dir": store, "region": region.value,
                "endpoints": endpoints}
    config = SimConfig.hostile(**settings) if hostile else SimConfig(**settings)
    server = SimulatorServer(config, host=host, port=port)
    extras = "".join([f", {region.value}", ", hostile" if hostile else "", f", store {store}" if store else ""])
    typer.echo(f"simulator: {server.base_url} (control: {server.root_url}/_sim; speed x{speed:g}{extras}); "
               "Ctrl-C stops")
    try:
        server.serve_forever()
    finally:
        server.backend.close()


def _endpoint_pair(text: str) -> tuple[str, str]:
    endpoint, sep, model = text.partition("=")
    if not (sep and endpoint.startswith("ep-") and model):
        raise ConfigError(f"--endpoint {text}: expected EP_ID=MODEL_ID, e.g. ep-20250611150425-abcde="
                          "doubao-seedance-1-0-pro-250528")
    return endpoint, model


app.command()(runs.run)
app.command()(runs.status)
app.command()(runs.cancel)
app.command()(runs.assemble)
app.command()(runs.recover)
app.command()(review.takes)
app.command()(review.pick)
app.command()(review.lock)
app.command()(review.approve)
app.command()(review.report)
app.command()(review.unlock)
app.command()(doctor.doctor)
app.command()(animatic.animatic)
app.command(name="models")(catalog.models)
app.command()(editorial.export)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the storyboard format (for editors)."""
    typer.echo(json.dumps(json_schema(), indent=2))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"orchestrator {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version")]
    = False,
) -> None:
    """Turn a storyboard of shots into finished films with the Seedance video models."""
    try:
        ctx.obj = Settings()  # environment and defaults, resolved once; command flags override per command
    except ValidationError as exc:  # a bad ORCHESTRATOR_* variable is a usage error, not an internal one
        first = exc.errors()[0]
        raise ConfigError(f"ORCHESTRATOR_{str(first['loc'][0]).upper()}: {first['msg']}") from None


# Typer's exception classes (a vendored click in the typer pinned here, click itself in older typers): found through
# the public BadParameter, so either layout works.
_CLICK = importlib.import_module(typer.BadParameter.__module__)
_CLICK_ERROR: type[Exception] = _CLICK.ClickException
_USAGE_ERROR: type[Exception] = _CLICK.UsageError


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and map every outcome to an exit code (DESIGN.md §9). Every error is one line on
    stderr: usage errors `orchestrator CMD: reason; see orchestrator CMD --help` (exit 2), ours `orchestrator:
    location: reason; fix` with their own exit code, and an OSError of the machine (a full disk, permissions) named
    as such (exit 2: met outside a run's paid part, which maps its own); only a bug is an "internal error"."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        # Not standalone: typer returns the exit code of --help, --version and typer.Exit, and raises usage errors
        # here instead of printing its multi-line box.
        code = app(args=args, prog_name="orchestrator", standalone_mode=False)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except _USAGE_ERROR as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `orchestrator` alone: the help (already printed by rich)
            text = _format(exc)
            if text.strip():
                sys.stdout.write(text.rstrip("\n") + "\n")
            sys.exit(_exit_code(exc, 2))
        sys.stderr.write(_usage_line(exc, args) + "\n")
        sys.exit(2)
    except typer.Abort:
        sys.stderr.write("orchestrator: aborted\n")
        sys.exit(1)
    except _CLICK_ERROR as exc:
        sys.stderr.write(f"orchestrator: {_one_line(_format(exc))}\n")
        sys.exit(_exit_code(exc, 1))
    except StoryboardInvalid as exc:
        render.print_diagnostics(exc.diagnostics)
        sys.exit(exc.exit_code)
    except OrchestratorError as exc:
        _fail(exc)
    except Exception as exc:
        _unexpected(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(exc: OrchestratorError) -> NoReturn:
    sys.stderr.write(f"orchestrator: {printable(str(exc))}\n")
    sys.exit(exc.exit_code)


def _unexpected(exc: Exception) -> NoReturn:
    """An exception of no class of ours: the machine's OSError in words (exit 2), the deliberate error it was raised
    while handling (a cleanup that failed after it), or else an internal error."""
    unusable = RunDirUnusable.of(exc) if isinstance(exc, OSError) else None
    if unusable is not None:
        _fail(unusable)
    earlier = exc.__context__
    while earlier is not None and not isinstance(earlier, OrchestratorError):
        earlier = earlier.__context__
    if isinstance(earlier, OrchestratorError) and not isinstance(earlier, StoryboardInvalid):
        _fail(earlier)
    if os.environ.get("ORCHESTRATOR_DEBUG"):
        raise exc
    sys.stderr.write(f"orchestrator: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
                     "(set ORCHESTRATOR_DEBUG=1 for the traceback)\n")
    sys.exit(1)


def _usage_line(exc: Exception, args: Sequence[str]) -> str:
    """`orchestrator run: no such option '--bugdet' (did you mean '--budget'?); see orchestrator run --help`."""
    ctx = getattr(exc, "ctx", None)
    where = str(getattr(ctx, "command_path", "") or _command_path(args))
    kind = type(exc).__name__
    unknown_command = re.match(r"No such command '(.*?)'(?:\.|$)", str(getattr(exc, "message", "")))
    if kind == "NoSuchOption":
        option = str(getattr(exc, "option_name", ""))
        reason = f"no such option '{option}'{_did_you_mean(option, getattr(exc, 'possibilities', None))}"
    elif unknown_command is not None:
        name = unknown_command.group(1)
        commands = getattr(getattr(ctx, "command", None), "commands", None)
        reason = f"no such command '{name}'{_did_you_mean(name, commands)}"
    else:
        reason = _sentence(_format(exc))
    return f"{where}: {reason}; see {where} --help"


def _did_you_mean(word: str, choices: Iterable[str] | None) -> str:
    close = difflib.get_close_matches(word, list(choices or ()), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _command_path(args: Sequence[str]) -> str:
    """`orchestrator CMD` for an error typer raised without its context: the root takes no option with a value, so
    the first word that is not an option names the command."""
    word = next((a for a in args if not a.startswith("-")), None)
    commands = getattr(typer.main.get_command(app), "commands", {})
    return f"orchestrator {word}" if word in commands else "orchestrator"


def _format(exc: Exception) -> str:
    format_message = getattr(exc, "format_message", None)
    return str(format_message() if callable(format_message) else exc)


def _exit_code(exc: Exception, default: int) -> int:
    code = getattr(exc, "exit_code", default)
    return code if isinstance(code, int) else default


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _sentence(text: str) -> str:
    """Click's message as part of our line: one line, no final period, no pydantic "Value error, " prefix, and a
    small first letter (unless it starts a name in capitals)."""
    text = _one_line(text).rstrip(".").replace("Value error, ", "")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text
