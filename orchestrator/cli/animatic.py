"""`orchestrator animatic`: the films from the storyboard alone, cards in place of clips, for timing before paying.
Thin: validate as `plan` does, then the export package's animatic; no backend is ever opened."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from orchestrator.assembly.capability import require_ffmpeg
from orchestrator.engine.films import chosen_outputs
from orchestrator.engine.plan import make_plan
from orchestrator.engine.rundir import run_dir_for
from orchestrator.export.animatic import animatic_dir, make_animatic
from orchestrator.storyboard.validate import check_file

from . import render
from .runs import FileArg, OutOpt, RegionOpt, region_of, settings_of


def animatic(
    ctx: typer.Context,
    file: FileArg,
    out: OutOpt = None,
    output: Annotated[list[str] | None, typer.Option("--output", help="Only this output (repeatable)")] = None,
    region: RegionOpt = None,
) -> None:
    """Make every film from cards (each shot's images, or its id and prompt) held for exactly its clip's length, into
    RUN_DIR/animatic/: the real films' timing, cuts and soundtrack for nothing, with no provider call."""
    settings = settings_of(ctx)
    checked = check_file(file, str(file), region=region_of(ctx, region))
    render.print_diagnostics(checked.warnings)
    wanted = chosen_outputs(checked, output or ())
    exif = settings.exif_orientation == "apply"
    plan = make_plan(checked, exif=exif)
    require_ffmpeg()  # an ffmpeg that cannot make the films is refused (exit 2) before anything is written
    root = animatic_dir(run_dir_for(checked.name, out or settings.out))
    made = asyncio.run(make_animatic(checked, plan, root, wanted, exif=exif))
    free = f"{checked.region.profile.currency.symbol}0"
    for film in made.films.values():
        typer.echo(f"animatic: {film.path} ({film.seconds:.2f} s, {film.frames} frames; {free}, no provider calls)")
    for warning in made.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"cards: {made.made} made, {len(made.cards) - made.made} reused ({root / 'cards'}); "
               f"report: {made.report}  contact sheet: {made.contact_sheet}", err=True)
