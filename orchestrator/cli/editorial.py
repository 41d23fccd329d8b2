"""The editorial commands: export, a run's films (or its animatic) as timelines an editor opens. Thin: it finds the
run directory and its storyboard, and `orchestrator.export` does the rest; no provider call, no key needed."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.assembly.process import ffmpeg_slots
from orchestrator.engine.inspect import recorded_region
from orchestrator.engine.journal import JOURNAL_NAME, Journal
from orchestrator.engine.rundir import journal_problem, run_dir_for
from orchestrator.errors import ConfigError, OrchestratorError
from orchestrator.export.outputs import ANIMATIC_DIR, Source, export_outputs, report_folder
from orchestrator.profiles import RegionChoice
from orchestrator.storyboard.validate import CheckedStoryboard, check_file

from .runs import OutOpt, Target, region_of, settings_of


class ExportFormat(StrEnum):
    """Timeline formats for `export`."""

    OTIO = "otio"
    FCPXML = "fcpxml"
    XML = "xml"
    EDL = "edl"


def export(
    ctx: typer.Context,
    target: Target,
    fmt: Annotated[ExportFormat, typer.Option(
        "--format", help="otio (OpenTimelineIO), fcpxml (Final Cut Pro, DaVinci Resolve), xml (FCP 7 XML: Premiere "
        "Pro, DaVinci Resolve) or edl (CMX 3600: one video track, no sound)", show_default=False)],
    output: Annotated[str | None, typer.Option("--output", help="Only this output (default: every one)")] = None,
    to: Annotated[Path | None, typer.Option(
        "--to", help="Write here: a file for one output, a folder for several (default: <run>/export/)")] = None,
    animatic: Annotated[bool, typer.Option("--animatic", help="The animatic's timeline (<run>/animatic/), made by "
                                           "`orchestrator animatic`")] = False,
    out: OutOpt = None,
) -> None:
    """Write each film's edit as a timeline an editor opens: its clips with their takes, seeds and prompts, cut and
    crossfaded as in the film, and the soundtrack. Calls nobody."""
    checked: CheckedStoryboard | None = None
    if target.is_file():
        checked = check_file(target, str(target), region=region_of(ctx, None))
        root = run_dir_for(checked.name, out or settings_of(ctx).out).root
    elif target.is_dir():
        root = target
    else:
        raise ConfigError(f"{target}: no such file or directory")
    folder = report_folder(root, animatic)
    recorded = _recorded_storyboard(folder) if checked is None else None
    if checked is None and recorded is not None and (animatic or not (folder / JOURNAL_NAME).is_file()):
        checked = _checked(*recorded)  # its prompts, for the clips no journal knows (an animatic's cards)
    name = checked.name if checked is not None else (folder.parent if folder.name == ANIMATIC_DIR else folder).name
    storyboard = str(target) if target.is_file() else recorded[0] if recorded is not None else None
    source = Source(folder, animatic, name, str(target), storyboard)
    prompts = {shot: spec.shot.prompt or "" for shot, spec in checked.specs.items()} if checked is not None else {}
    with ffmpeg_slots():
        written = asyncio.run(export_outputs(source, fmt.value, output, to, prompts))
    for output_name, path in written:
        typer.echo(f"{fmt.value} {output_name}: {path}")


def _recorded_storyboard(folder: Path) -> tuple[str, RegionChoice | None] | None:
    """The storyboard file the run's journal names (beside the report, or one folder up from an animatic's), and
    the region the run was made on; None when there is no whole journal or the file is gone."""
    for run in (folder, folder.parent):
        path = run / JOURNAL_NAME
        if journal_problem(path) is not None:
            continue
        journal = Journal(path)
        try:
            named, region = journal.meta("storyboard"), recorded_region(journal)
        finally:
            journal.close()
        return (named, region) if named is not None and Path(named).is_file() else None
    return None


def _checked(path: str, region: RegionChoice | None) -> CheckedStoryboard | None:
    """The storyboard, when it still checks; None otherwise (the export then does without its prompts)."""
    try:
        return check_file(Path(path), path, region=region)
    except OrchestratorError:
        return None
