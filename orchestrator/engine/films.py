"""The engine's side of assembly: normalise each clip for its films the moment it is downloaded (and make each
crossfade as soon as the clips either side are there), then make the films (skipped when nothing that goes into them
changed) with the QC report and contact sheet.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from orchestrator.assembly.anchor import grades
from orchestrator.assembly.chains import Chains, chain_pictures
from orchestrator.assembly.drift import preload
from orchestrator.assembly.ffmpeg import FPS, Delivery
from orchestrator.assembly.films import REPORT_NAME, SHEET_NAME, FilmSet, assemble_films
from orchestrator.assembly.finish import crossfade_edges, fuse_group, settled_groups
from orchestrator.assembly.grading import Grade
from orchestrator.assembly.normalize import CACHE_VERSION, Intermediate, normalize
from orchestrator.assembly.pipeline import AssembledOutput, AssemblySettings, OutputClip, copy_expected, output_geometry
from orchestrator.assembly.presets import preset_size
from orchestrator.assembly.probe import probe
from orchestrator.engine import versions
from orchestrator.engine.journal import Journal
from orchestrator.engine.keys import sha256_path
from orchestrator.engine.plan import Plan
from orchestrator.engine.rundir import FRAME_NAME, RunDir
from orchestrator.errors import ConfigError
from orchestrator.storyboard.validate import CheckedStoryboard


def assembly_settings(checked: CheckedStoryboard) -> AssemblySettings:
    """The storyboard's `assembly:` section with paths made absolute (every film's, before its own delivery)."""
    section = checked.storyboard.assembly
    soundtrack = checked.base_dir / section.soundtrack if section.soundtrack else None
    mix = getattr(section, "soundtrack_mix", "duck")
    return AssemblySettings(transition=section.transition, crossfade_seconds=section.crossfade_seconds,
                            audio=section.audio, soundtrack=soundtrack, duck=mix != "replace",
                            loudness_lufs=section.loudness_lufs, fade_out_seconds=section.fade_out_seconds,
                            color_anchor=section.color_anchor)


def output_settings(checked: CheckedStoryboard) -> dict[str, AssemblySettings]:
    """Each film's assembly settings: the `assembly:` section with the output's own delivery on top (its trim
    and frame rate, fit, soundtrack, loudness and fade-out)."""
    base = assembly_settings(checked)
    settings: dict[str, AssemblySettings] = {}
    for name in checked.outputs:
        output = (checked.storyboard.outputs or {}).get(name)
        if output is None:
            settings[name] = base
            continue
        given = output.model_fields_set
        trim = output.trim
        delivery = Delivery(start=round(trim.start * FPS) if trim else 0,
                            end=round(trim.end * FPS) if trim and trim.end is not None else None, fps=output.fps)
        own = replace(base, delivery=delivery, fit=output.fit or ("pad" if output.size == "source" else "crop"))
        if output.soundtrack is not None:
            own = replace(own, audio="soundtrack", soundtrack=checked.base_dir / output.soundtrack)
        if "loudness_lufs" in given:
            own = replace(own, loudness_lufs=output.loudness_lufs)
        if output.fade_out_seconds is not None:
            own = replace(own, fade_out_seconds=output.fade_out_seconds)
        settings[name] = own
    return settings


def output_sizes(checked: CheckedStoryboard, plan: Plan) -> dict[str, tuple[int, int]]:
    """Each film's frame size, from the plan, so clips can be normalised before the last one exists: the size
    most of its clips have, or its delivery preset's."""
    by_id = {s.id: s for s in plan.shots}
    outputs = checked.storyboard.outputs or {}
    sizes = {}
    for name, ids in checked.outputs.items():
        width, height = output_geometry([(by_id[i].width, by_id[i].height, by_id[i].frames) for i in ids])
        sizes[name] = preset_size(width, height, outputs[name].size if name in outputs else "source")
    return sizes


def chosen_outputs(checked: CheckedStoryboard, outputs: Sequence[str]) -> tuple[str, ...]:
    """The outputs asked for (all by default), or ConfigError naming an unknown one and the storyboard's."""
    unknown = [o for o in outputs if o not in checked.outputs]
    if unknown:
        raise ConfigError(f"--output {', '.join(unknown)}: no such output in {checked.path} "
                          f"({', '.join(checked.outputs)})")
    return tuple(dict.fromkeys(outputs)) or tuple(checked.outputs)


def shot_chains(checked: CheckedStoryboard) -> Chains:
    """Every shot's parent and the shots that end on a keyframe (for drift and the colour anchor)."""
    return Chains({shot: spec.shot.after for shot, spec in checked.specs.items()},
                  frozenset(shot for shot, spec in checked.specs.items() if spec.shot.last_frame is not None))


def output_entries(checked: CheckedStoryboard, name: str, clips: dict[str, Path],
                   grades: dict[str, Grade | None] | None = None) -> list[OutputClip]:
    """An output's clips in order, each marked when it starts on the previous one's last frame, with its colour
    grade when the anchor is on."""
    ids = checked.outputs[name]
    return [OutputClip(shot, clips[shot], chained, (grades or {}).get(shot))
            for shot, chained in zip(ids, chained_flags(checked, name), strict=True)]


async def anchor_grades(checked: CheckedStoryboard, clips: dict[str, Path], shots: list[str] | None = None, *,
                        hold: bool = True) -> dict[str, Grade | None] | None:
    """The colour anchor's grades of `shots` (default: every chained shot; None: no grade needed), see
    `anchor.grades` for `hold`; None when the anchor is off."""
    if checked.storyboard.assembly.color_anchor != "root":
        return None
    chains = shot_chains(checked)
    pictures = await chain_pictures(chains, clips, frames_of(clips), shots)
    return grades(chains, pictures, shots, hold=hold)


def frames_of(clips: dict[str, Path]) -> dict[str, Path]:
    """Each clip's last-frame image, which the provider returned beside it."""
    return {s: c.parent / FRAME_NAME for s, c in clips.items()}


def chained_flags(checked: CheckedStoryboard, name: str) -> list[bool]:
    """For each entry of an output: whether it comes right after its parent, so it starts on the parent's last
    frame."""
    ids = checked.outputs[name]
    return [i > 0 and checked.specs[shot].shot.after == ids[i - 1] for i, shot in enumerate(ids)]


@dataclass
class FilmMaker:
    """Early normalisation while shots generate, and the films at the end."""

    checked: CheckedStoryboard
    run_dir: RunDir
    journal: Journal
    sizes: dict[str, tuple[int, int]]
    settings: dict[str, AssemblySettings]  # by output
    _pending: list[asyncio.Task[bool]] = field(default_factory=list)
    _parts: dict[str, dict[int, Intermediate]] = field(default_factory=dict)  # normalised so far, by film and index
    _clips: dict[str, Path] = field(default_factory=dict)  # downloaded so far: the anchor's pictures come from them

    def __post_init__(self) -> None:
        if shot_chains(self.checked).lineage():
            preload()  # the drift figures' colour science, off the path from the last clip to the films

    def clip_known(self, shot: str, clip: Path) -> None:
        """A clip already made (reused this run): its pictures serve the colour anchor's grades of later clips."""
        self._clips[shot] = clip

    def clip_ready(self, shot: str, clip: Path) -> None:
        """Start normalising a just-downloaded clip for every film it appears in, and then any crossfade its film
        can now make (failures surface later, when the film is made from the same clip)."""
        self._clips[shot] = clip
        for name, ids in self.checked.outputs.items():
            for i, entry in enumerate(ids):
                if entry == shot and name in self._normalised:
                    self._pending.append(asyncio.create_task(self._prepare(name, i, clip)))

    async def check(self, shot: str, clip: Path) -> None:
        """Strictly decode a just-downloaded clip (ClipInvalid when it is damaged): where it goes into a film that
        needs it normalised, with that normalisation, one decode serving both; else on its own."""
        first = next(((name, i) for name, ids in self.checked.outputs.items() if name in self._normalised
                      for i, entry in enumerate(ids) if entry == shot), None)
        if first is None or not await self._prepare(*first, clip, check=True):
            await probe(clip, decode=True)

    @cached_property
    def _normalised(self) -> frozenset[str]:
        """The films whose clips are normalised: not those that can join their originals by copy."""
        members = set(shot_chains(self.checked).members())
        return frozenset(name for name, ids in self.checked.outputs.items() if not copy_expected(
            chained_flags(self.checked, name), self.settings[name],
            graded=self.settings[name].color_anchor == "root" and bool(members & set(ids))))

    async def _prepare(self, name: str, index: int, clip: Path, check: bool = False) -> bool:
        """Normalise one entry of a film (then its crossfades); False when it must wait for the film."""
        width, height = self.sizes[name]
        chained = chained_flags(self.checked, name)
        settings = self.settings[name]
        edges = crossfade_edges(settings.transition, settings.crossfade_seconds)
        shot = self.checked.outputs[name][index]
        grade = None
        if (found := await anchor_grades(self.checked, self._clips, [shot], hold=False)) is not None:
            if shot in shot_chains(self.checked).members() and shot not in found:
                return False  # a picture its grade needs is not here yet: the film normalises it when it is made
            grade = found.get(shot)
        part = await normalize(clip, width, height, chained[index], self.run_dir.cache, edge_frames=edges,
                               fit=settings.fit, grade=grade, check=check)
        parts = self._parts.setdefault(name, {})
        parts[index] = part
        if not edges:
            return True
        for group in settled_groups(chained, {i: p.frames for i, p in parts.items()}, edges):
            if index in group:
                await fuse_group([parts[i] for i in group], edges, self.run_dir.cache)
        return True

    async def settle(self) -> None:
        """Wait for early normalisation (its errors are not fatal here)."""
        await asyncio.gather(*self._pending, return_exceptions=True)
        self._pending.clear()

    async def make(self, clips: dict[str, Path],
                   on_film: Callable[[str, AssembledOutput], None] | None = None) -> FilmSet | None:
        """Every output whose shots all exist into its film (`on_film` hears of each as soon as it is in place, before
        its QC); None when every film is already up to date."""
        await self.settle()
        names = [n for n, ids in self.checked.outputs.items() if all(i in clips for i in ids)]
        if not names:
            return None
        signatures = {n: film_signature(self.checked, n, clips, self.sizes[n], self.settings[n]) for n in names}
        if self._up_to_date(signatures):
            return None
        graded = await anchor_grades(self.checked, clips)
        entries = {name: output_entries(self.checked, name, clips, graded) for name in names}
        made = stored_films(self.journal)
        replaced = [n for n in names if not film_is_current(self.run_dir.film(n), made.get(n), signatures[n])]
        kept = [k for n in replaced if (k := versions.keep(self.run_dir, n)) is not None]
        takes = {n: versions.clip_keys(clips, self.checked.outputs[n]) for n in names}

        def note(kept_film: versions.Kept) -> None:
            earlier = made.get(kept_film.name, {})
            versions.record(self.run_dir, self.journal, kept_film, earlier.get("takes", {}), takes[kept_film.name],
                            earlier.get("made_at"))

        try:
            films = await assemble_films(entries, self.run_dir.root, self.run_dir.cache,
                                         {n: self.settings[n] for n in names}, sizes={n: self.sizes[n] for n in names},
                                         chains=shot_chains(self.checked), clips=clips,
                                         last_frames=frames_of(clips), on_film=on_film)
        except BaseException:
            for k in kept:  # a film already replaced (QC failed after it) lives on only as its version: keep it
                if versions.replaced(self.run_dir, k):
                    note(k)
                else:
                    versions.give_back(k)
            raise
        for k in kept:
            note(k)
        now = time.time()
        made.update({n: {"signature": signatures[n], "sha": sha256_path(f.film.path), "takes": takes[n],
                         "made_at": now} for n, f in films.films.items()})
        self.journal.set_meta(FILMS_META, json.dumps(made, sort_keys=True))
        return films

    def _up_to_date(self, signatures: dict[str, str]) -> bool:
        if not (self.run_dir.root / REPORT_NAME).is_file() or not (self.run_dir.root / SHEET_NAME).is_file():
            return False
        stored = stored_films(self.journal)
        return all(film_is_current(self.run_dir.film(n), stored.get(n), sig) for n, sig in signatures.items())


FILMS_META = "films.v2"  # output -> {"signature": what the film was made from, "sha": the film's bytes, "takes":
# shot -> short key of the take used, "made_at"}


def stored_films(journal: Journal) -> dict[str, dict[str, Any]]:
    """What each film was last made from, as the journal recorded it."""
    made = json.loads(journal.meta(FILMS_META) or "{}")
    return made if isinstance(made, dict) else {}


def film_is_current(path: Path, stored: dict[str, Any] | None, signature: str) -> bool:
    """Whether the film on disk is the one made from `signature` (and nobody replaced it since)."""
    return (stored is not None and stored.get("signature") == signature and path.is_file()
            and sha256_path(path) == stored.get("sha"))


def film_signature(checked: CheckedStoryboard, name: str, clips: dict[str, Path], size: tuple[int, int],
                   settings: AssemblySettings) -> str:
    """What one film is made from: its clips' bytes in order, its joins, its size and the assembly settings."""
    recipe = {
        "v": CACHE_VERSION,
        # A setting at the value films had before it existed is left out, so those films stay current.
        "settings": {k: str(v) for k, v in asdict(settings).items() if (k, v) != ("color_anchor", "off")},
        "soundtrack": sha256_path(settings.soundtrack) if settings.soundtrack else None,
        "entries": [(e.shot_id, sha256_path(e.path), e.chained) for e in output_entries(checked, name, clips)],
        "size": size,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()
