"""The animatic: every film of a storyboard made from cards instead of generated clips, with no provider call, so a
producer can check the timing against music or a voice-over for nothing before anything is paid.

Each shot becomes a card clip with exactly the size and frames its generated clip will have (the plan's), showing
the shot's own first- and last-frame images (the first for the first half, the last for the second) or, without
local images, its id and prompt. The cards are then assembled by the same code as a real run's films
(`assemble_films`, with the storyboard's outputs, joins and assembly settings), so every cut, chained join (the
child's first frame dropped), crossfade and the soundtrack fall on the frame where they will fall in the real film.

Everything is written under `<run_dir>/animatic/`: cards/ (pictures and card clips, named by what they are made from,
so after an edit only the edited shot's card is made again), cache/ (the assembly's intermediates), outputs/,
report.json, contact_sheet.png and cards.json. The lock taken is that folder's own, never the run directory's: a
real run of the same storyboard may go on meanwhile, since neither reads or writes a file of the other.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import PIL
from PIL import Image

from orchestrator.assembly.cache import cached, file_sha256
from orchestrator.assembly.capability import ffmpeg_version
from orchestrator.assembly.cards import make_card
from orchestrator.assembly.films import assemble_films
from orchestrator.assembly.join import Film
from orchestrator.assembly.pipeline import AssemblySettings
from orchestrator.assembly.process import ffmpeg_slots, run_together
from orchestrator.assembly.temp import sweep_temp, temporary
from orchestrator.engine.films import chosen_outputs, output_entries, output_settings, output_sizes
from orchestrator.engine.plan import Plan, ShotEstimate
from orchestrator.engine.rundir import RunDir, RunLock
from orchestrator.export.cards import image_card, prompt_card
from orchestrator.storyboard.media import is_remote
from orchestrator.storyboard.validate import CheckedStoryboard

ANIMATIC_DIR = "animatic"
CARDS_DIR = "cards"
CACHE_DIR = "cache"
CARDS_JSON = "cards.json"
CARD_VERSION = 1  # bump when what a card looks like or how it is encoded changes: every card is made again


@dataclass(frozen=True)
class Card:
    """One shot's card clip and what it shows."""

    shot: str
    path: Path
    prompt: str
    images: tuple[Path, ...]  # the shot's local images the card shows, in order; none: a prompt card
    width: int
    height: int
    frames: int
    made: bool  # made by this call (False: an identical card was already there)


@dataclass(frozen=True)
class Animatic:
    """The animatic's films, its cards, and the assembly's QC files."""

    root: Path
    films: dict[str, Film]
    cards: dict[str, Card]
    report: Path
    contact_sheet: Path
    cards_json: Path
    warnings: list[str]

    @property
    def made(self) -> int:
        """Cards made by this call (the rest were reused)."""
        return sum(card.made for card in self.cards.values())


def animatic_dir(run_dir: RunDir) -> Path:
    """Where a run directory's animatic lives."""
    return run_dir.root / ANIMATIC_DIR


def animatic_settings(settings: AssemblySettings) -> AssemblySettings:
    """The film's assembly settings for cards: with the clips' own sound (cards have none, so the film is silent)
    no loudness target, which would only warn that a silent film cannot reach it; a soundtrack keeps its target."""
    return replace(settings, loudness_lufs=None) if settings.audio == "clips" else settings


def shown_images(checked: CheckedStoryboard, shot: str) -> list[tuple[str, Path]]:
    """The shot's first- and last-frame images that are local files, each with its role; URLs are left out (they
    would need a download, and the animatic fetches nothing)."""
    spec = checked.specs[shot].shot
    given = [("first frame", spec.first_frame), ("last frame", spec.last_frame)]
    return [(role, (checked.base_dir / source).resolve()) for role, source in given
            if source is not None and not is_remote(source)]


def holds(frames: int, stills: int) -> list[int]:
    """How many frames each still of a card is shown: all of them for one; the first half (the middle frame
    included) and the second half for two."""
    return [frames] if stills == 1 else [frames - frames // 2, frames // 2]


async def make_animatic(checked: CheckedStoryboard, plan: Plan, root: Path, outputs: Sequence[str] = (),
                        exif: bool = True) -> Animatic:
    """Cards for every shot of `outputs` (default: all), then their films under `root`, with no provider call."""
    wanted = chosen_outputs(checked, outputs)
    shots = list(dict.fromkeys(s for name in wanted for s in checked.outputs[name]))
    estimates = {s.id: s for s in plan.shots}
    cards_dir = root / CARDS_DIR
    with RunLock(RunDir(root)):  # the animatic's own folder: two animatics at once would sweep each other's files
        sweep_temp(cards_dir)
        sweep_temp(root, finals=(CARDS_JSON,))
        with ffmpeg_slots():
            made = await run_together(_card(checked, estimates[s], cards_dir, exif) for s in shots)
        cards = {card.shot: card for card in made}
        clips = {shot: card.path for shot, card in cards.items()}
        entries = {name: output_entries(checked, name, clips) for name in wanted}
        settings = output_settings(checked)  # each film's own delivery (trim, frame rate, soundtrack), as a run's
        sizes = output_sizes(checked, plan)
        films = await assemble_films(entries, root, root / CACHE_DIR,
                                     {name: animatic_settings(settings[name]) for name in wanted},
                                     sizes={name: sizes[name] for name in wanted})
        listing = _write_cards_json(root / CARDS_JSON, cards)
    return Animatic(root, {name: film.film for name, film in films.films.items()}, cards, films.report,
                    films.contact_sheet, listing, films.warnings)


async def _card(checked: CheckedStoryboard, shot: ShotEstimate, folder: Path, exif: bool) -> Card:
    """One shot's card clip, from the cache when an identical one is there."""
    prompt = checked.specs[shot.id].shot.prompt or ""
    images = shown_images(checked, shot.id)
    size = (shot.width, shot.height)
    if images:
        stills = [await _picture(folder, shot.id, size, {"image": await file_sha256(path), "role": role, "exif": exif},
                                 partial(image_card, path, *size, f"{shot.id} - {role}", exif))
                  for role, path in images]
    else:
        note = f"{shot.seconds:g} s"
        stills = [await _picture(folder, shot.id, size, {"prompt": prompt, "note": note},
                                 partial(prompt_card, shot.id, prompt, *size, note))]
    frames = holds(shot.frames, len(stills))
    pictures = list(zip(stills, frames, strict=True))
    recipe = {"v": CARD_VERSION, "ffmpeg": await ffmpeg_version(), "size": size,
              "stills": [[still.name, count] for still, count in pictures]}
    dest = folder / f"{shot.id}-{_key(recipe)}.mp4"
    reused = await cached([dest], lambda parts: make_card(pictures, *size, parts[0]))
    return Card(shot.id, dest, prompt, tuple(path for _, path in images), *size, shot.frames, made=not reused)


async def _picture(folder: Path, shot: str, size: tuple[int, int], what: dict[str, object],
                   draw: Callable[[], Image.Image]) -> Path:
    """A card's picture as PNG, drawn only when no picture of the same recipe is there: its name is the hash of
    what it shows (`what`, the shot id drawn on it, its size, the drawing code's version and Pillow's)."""
    recipe = {"v": CARD_VERSION, "pillow": PIL.__version__, "shot": shot, "size": size, **what}
    dest = folder / f"{shot}-{_key(recipe)}.png"

    def save(part: Path) -> None:
        draw().save(part, format="PNG")

    await cached([dest], lambda parts: asyncio.to_thread(save, parts[0]))
    return dest


def _key(recipe: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def _write_cards_json(path: Path, cards: dict[str, Card]) -> Path:
    """cards.json, atomically: each shot's card clip (absolute, as report.json's edit names it), prompt and images,
    for whatever reads the animatic's report (the editorial export's provenance)."""
    body = {shot: {"card": str(card.path.resolve()), "prompt": card.prompt, "images": [str(p) for p in card.images],
                   "width": card.width, "height": card.height, "frames": card.frames}
            for shot, card in cards.items()}
    with temporary(path) as tmp:
        tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
    return path
