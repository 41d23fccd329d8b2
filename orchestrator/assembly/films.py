"""Every output of a storyboard into a film, then the QC report and the contact sheet of every seam.

Outputs that share shots share cached intermediates, so a clip is normalised once however many films use it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

from orchestrator.assembly import qc
from orchestrator.assembly.chains import Chains, chain_pictures
from orchestrator.assembly.drift import chain_drift, drift_report, drift_warnings
from orchestrator.assembly.ffmpeg import FPS
from orchestrator.assembly.pipeline import AssembledOutput, AssemblySettings, OutputClip, assemble_output
from orchestrator.assembly.process import ffmpeg_slots, run_together
from orchestrator.assembly.temp import sweep_temp

REPORT_NAME = "report.json"
SEAMS_DIR = "report/seams"  # each seam's two frames, for report.html: <output>-<frame>-a.jpg | -b.jpg
SHEET_NAME = "contact_sheet.png"
OUTPUTS_DIR = "outputs"


@dataclass(frozen=True)
class FilmSet:
    """The films of one run and their QC."""

    films: dict[str, AssembledOutput]
    qc: list[qc.OutputQC]
    report: Path
    contact_sheet: Path
    warnings: list[str]


async def assemble_films(outputs: dict[str, list[OutputClip]], run_dir: Path, cache_dir: Path,
                         settings: AssemblySettings | dict[str, AssemblySettings] | None = None,
                         sizes: dict[str, tuple[int, int]] | None = None,
                         chains: Chains | None = None,
                         clips: dict[str, Path] | None = None,
                         last_frames: dict[str, Path] | None = None,
                         on_film: Callable[[str, AssembledOutput], None] | None = None) -> FilmSet:
    """`run_dir/outputs/<name>.mp4` for each output, then `run_dir/report.json` and `run_dir/contact_sheet.png`.

    `settings` is one for every film or each film's own (by output name: its delivery, soundtrack, loudness).
    With `chains`, `clips` and `last_frames` (every shot's clip and last-frame image), report.json also says how
    far each chain drifted from its first frame (`drift.chain_drift`), and the warnings name chains past the limits;
    with the colour anchor on (the clips carry their grades), also how far the films' pictures did.
    `sizes` gives an output's frame size (as the engine planned it when it normalised the clips early); an output
    not in it gets the size its clips suggest. Temp files a killed earlier run left behind are removed first (the
    caller holds the run directory's lock, so no other process is writing them). `on_film` hears of each film as soon
    as it is in place and verified, before the QC, the report and the contact sheet that follow."""
    folder = run_dir / OUTPUTS_DIR
    for where, finals in ((folder, None), (cache_dir, None), (run_dir, (REPORT_NAME, SHEET_NAME))):
        sweep_temp(where, finals=finals)
    with ffmpeg_slots():
        # Films at once: they share the ffmpeg limit, and cached intermediates (a clip or a scene change used by
        # two films is made once, the second asking waits for it).
        each = settings if isinstance(settings, dict) else dict.fromkeys(outputs, settings or AssemblySettings())
        async def film(name: str, clips: list[OutputClip]) -> AssembledOutput:
            made = await assemble_output(clips, folder / f"{name}.mp4", cache_dir, each[name],
                                         size=(sizes or {}).get(name))
            if on_film is not None:
                on_film(name, made)
            return made

        made = await run_together(film(name, clips) for name, clips in outputs.items())
        films = dict(zip(outputs, made, strict=True))
        joins = {name: _joins(outputs[name], film) for name, film in films.items()}
        checked = await run_together(_qc(name, film, joins[name]) for name, film in films.items())
        checks = [check for check, _ in checked]
        warnings = [f"{name}: {w}" for name, film in films.items() for w in film.warnings]
        drift = None
        if chains is not None and clips and last_frames:
            drift, lines = await _drift(outputs, each, chains, clips, last_frames)
            warnings += [f"drift: {line}" for line in lines]
        report, sheet = run_dir / REPORT_NAME, run_dir / SHEET_NAME
        qc.write_report(checks, report, warnings, {name: {"edit": edit_body(film, each[name])}
                                                   for name, film in films.items()},
                        top={"drift": drift} if drift is not None else None)
        frames = {films[name].film.path: seams for name, (_, seams) in zip(films, checked, strict=True)}
        await qc.contact_sheet([(films[name].film.path, joins[name]) for name in films], sheet, frames)
        for name, (_, seams) in zip(films, checked, strict=True):
            save_seam_frames(run_dir / SEAMS_DIR, name, joins[name], seams)
    return FilmSet(films, checks, report, sheet, warnings)


async def _drift(outputs: dict[str, list[OutputClip]], settings: dict[str, AssemblySettings], chains: Chains,
                 clips: dict[str, Path], last_frames: dict[str, Path]) -> tuple[dict[str, object], list[str]]:
    """report.json's drift section and the warnings for chains past the limits."""
    anchor = "root" if any(s.color_anchor == "root" for s in settings.values()) else "off"
    grades = {c.shot_id: c.grade for entries in outputs.values() for c in entries if c.grade is not None}
    pictures = await chain_pictures(chains, clips, last_frames)
    found = await asyncio.to_thread(chain_drift, chains, pictures, grades if anchor == "root" else None)
    return drift_report(found, anchor), drift_warnings(found, anchor)


async def _qc(name: str, film: AssembledOutput, joins: list[qc.Join]) -> tuple[qc.OutputQC, dict[int, qc.Frame]]:
    """The film's QC and the seam frames it read, which the contact sheet shows."""
    path = film.film.path
    seams = await qc.seam_frames(path, joins, qc.thumb_height(film.width, film.height), film.fps) if joins else {}
    return await qc.qc_output(name, path, joins, film.loudness, frames=seams, fps=film.fps), seams


def seam_frame_names(name: str, join_frame: int) -> tuple[str, str]:
    """The files of a seam's frame before and after it."""
    return f"{name}-{join_frame}-a.jpg", f"{name}-{join_frame}-b.jpg"


def save_seam_frames(folder: Path, name: str, joins: list[qc.Join], seams: dict[int, qc.Frame]) -> None:
    """The frames either side of each seam as small JPEGs (the ones QC compared); a film's old ones go first."""
    folder.mkdir(parents=True, exist_ok=True)
    mine = re.compile(rf"{re.escape(name)}-\d+-[ab]\.jpg")  # not another output's (names may hold '-')
    for old in folder.iterdir():
        if mine.fullmatch(old.name):
            old.unlink()
    for join in joins:
        for frame, file in zip((join.index - 1, join.index), seam_frame_names(name, join.index), strict=True):
            if frame in seams:
                Image.fromarray(seams[frame]).save(folder / file, format="JPEG", quality=85)


def _joins(clips: list[OutputClip], film: AssembledOutput) -> list[qc.Join]:
    kinds = [j.kind for j in film.edit.joins] if film.edit else []
    return [qc.Join(index=seam, left=clips[i].shot_id, right=clips[i + 1].shot_id, chained=clips[i + 1].chained,
                    crossfade=i < len(kinds) and kinds[i] == "crossfade")
            for i, seam in zip(film.seam_joins or range(len(film.seams)), film.seams, strict=True)]


def edit_body(film: AssembledOutput, settings: AssemblySettings) -> dict[str, object]:
    """The film's edit as report.json carries it (see `pipeline.Edit`), with what an editor's timeline needs
    besides: the clips' rate, the sound, the film's size."""
    edit = film.edit
    if edit is None:
        return {}
    sound = settings.soundtrack if settings.audio == "soundtrack" and settings.soundtrack else None
    return {
        "fps": FPS, "frames": edit.frames, "trim": list(edit.trim),
        "clips": [asdict(c) for c in edit.clips],
        "transitions": [asdict(j) for j in edit.joins],
        "audio": settings.audio, "soundtrack": str(sound.resolve()) if sound else None,
        "size": [film.width, film.height],
    }
