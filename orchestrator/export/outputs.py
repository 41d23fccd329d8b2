"""One export: the report a command names (a run's films, or its animatic's), the outputs chosen, every file they use
checked and measured, and one timeline file per output. Reads the run directory and writes only under the export
folder (or `--to`); never calls the provider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.assembly.errors import ClipInvalid
from orchestrator.assembly.films import REPORT_NAME
from orchestrator.assembly.graphs import AUDIO_RATE
from orchestrator.assembly.probe import audio_samples, probe
from orchestrator.assembly.process import run_together
from orchestrator.assembly.temp import sweep_temp
from orchestrator.engine.journal import JOURNAL_NAME
from orchestrator.export.edits import OutputEdit, read_report
from orchestrator.export.errors import ExportError
from orchestrator.export.provenance import clip_facts
from orchestrator.export.timeline import RATE, build
from orchestrator.export.write import destination, write
from orchestrator.storyboard.diagnostics import did_you_mean

ANIMATIC_DIR = "animatic"
EXPORT_DIR = "export"


@dataclass(frozen=True)
class Source:
    """Where an export reads: the folder of the report, and how to tell the user to make or remake it."""

    folder: Path  # holds report.json
    animatic: bool
    name: str  # the storyboard's name, for the timeline
    target: str  # how the user named the run: a storyboard file or a folder (`assemble` takes either)
    storyboard: str | None = None  # the storyboard file, when known (`run` and `animatic` take only that)

    @property
    def report(self) -> Path:
        """The report the export reads."""
        return self.folder / REPORT_NAME

    @property
    def make(self) -> str:
        """The command that makes the report and the clips it names: `run`, or `animatic`."""
        return f"orchestrator {'animatic' if self.animatic else 'run'} {self.storyboard or 'FILE'}"

    @property
    def remake(self) -> str:
        """The command that writes the report again from the clips there are."""
        return self.make if self.animatic else f"orchestrator assemble {self.target}"


def report_folder(root: Path, animatic: bool) -> Path:
    """The folder whose report an export reads: the run directory's, or its animatic's. A folder that holds a report
    and no journal (an animatic's folder, or a copy of a run) is read as it is, given with --animatic or not."""
    if not animatic or (not (root / ANIMATIC_DIR).is_dir() and (root / REPORT_NAME).is_file()
                        and not (root / JOURNAL_NAME).is_file()):
        return root
    return root / ANIMATIC_DIR


def missing_report(source: Source) -> ExportError:
    """The error for a source with no report yet, naming the command that makes it."""
    if source.animatic:
        return ExportError(f"{source.report}: no animatic yet: make the animatic first ({source.make})")
    return ExportError(f"{source.report}: no films yet: run it first ({source.make})")


async def export_outputs(source: Source, fmt: str, only: str | None, to: Path | None,
                         prompts: Mapping[str, str]) -> list[tuple[str, Path]]:
    """Write the timeline of each output (or of `only`) in format `fmt`, to `<folder>/export/<output>.<ext>` or
    `to` (a file for one output, a folder for several); return (output, file) for each. `prompts` (shot -> prompt,
    from the storyboard when it is found) fill in clips that no journal knows."""
    if not source.report.is_file():
        raise missing_report(source)
    outputs = _chosen(read_report(source.report, source.remake), only, source)
    _check_files(outputs, source)
    clips = {c.path for o in outputs for c in o.edit.clips}
    soundtracks = {o.edit.soundtrack for o in outputs if o.edit.soundtrack is not None}
    lengths, sounds = await _measure(sorted(clips), sorted(soundtracks), source)
    facts = clip_facts([c for o in outputs for c in o.edit.clips], prompts)
    written = []
    for output in outputs:
        soundtrack = output.edit.soundtrack
        timeline = build(output, facts, lengths, source.name,
                         sounds.get(soundtrack) if soundtrack is not None else None)
        dest = _destination(source, output.name, fmt, to, len(outputs))
        sweep_temp(dest.parent, finals=(dest.name,))  # what a killed export left of this file
        written.append((output.name, write(timeline, fmt, dest)))
    return written


def _chosen(outputs: list[OutputEdit], only: str | None, source: Source) -> list[OutputEdit]:
    if only is None:
        if not outputs:
            raise ExportError(f"{source.report}: no outputs; write it again with `{source.remake}`")
        return outputs
    names = [o.name for o in outputs]
    if only not in names:
        raise ExportError(f"--output {only}: no such output in {source.report} ({', '.join(names) or 'none'})"
                          f"{did_you_mean(only, names)}")
    return [o for o in outputs if o.name == only]


def _check_files(outputs: Sequence[OutputEdit], source: Source) -> None:
    """Every clip and soundtrack the timelines link to is there (an editor would open them offline otherwise)."""
    for output in outputs:
        for clip in output.edit.clips:
            if not clip.path.is_file():
                raise ExportError(f"{clip.path}: the clip of {clip.shot} (output {output.name}) is missing; make it "
                                  f"again with `{source.make}`")
        soundtrack = output.edit.soundtrack
        if soundtrack is not None and not soundtrack.is_file():
            raise ExportError(f"{soundtrack}: the soundtrack of output {output.name} is missing; put it back where "
                              "the storyboard names it")


async def _measure(clips: list[Path], soundtracks: list[Path],
                   source: Source) -> tuple[dict[Path, int], dict[Path, int]]:
    """Each clip's frames (a packet read, no decode) and each soundtrack's length in 24 fps frames."""
    try:
        infos = await run_together(probe(path, decode=False) for path in clips)
    except ClipInvalid as exc:
        raise ExportError(f"{exc}; make it again with `{source.make}`") from None
    samples = await run_together(audio_samples(path) for path in soundtracks)
    for path, count in zip(soundtracks, samples, strict=True):
        if count == 0:
            raise ExportError(f"{path}: the soundtrack has no sound ffmpeg can read; replace it")
    per_frame = AUDIO_RATE // RATE
    return ({path: info.frames for path, info in zip(clips, infos, strict=True)},
            {path: count // per_frame for path, count in zip(soundtracks, samples, strict=True)})


def _destination(source: Source, output: str, fmt: str, to: Path | None, count: int) -> Path:
    if to is None:
        return destination(source.folder / EXPORT_DIR, output, fmt)
    if count == 1 and not to.is_dir():
        return to
    if to.exists() and not to.is_dir():
        raise ExportError(f"--to {to}: a file, and {count} outputs need a folder: give a folder, or one --output")
    return destination(to, output, fmt)
