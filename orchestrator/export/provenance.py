"""Where each clip of an edit came from, for the editor: the shot, the take, its prompt, seed, model, task id and
cost, read from the journal of the run that made it. Reads only; no provider call.

A clip is a take's file, `<run>/shots/<shot>/<key12>/clip.mp4`, and the journal beside `shots/` knows the take by
its shot and the first 12 characters of its key (`review.shot_takes` numbers the takes as `orchestrator takes`
does). A clip that is not a take's file (an animatic's card, in its `cards/` folder), or whose run has no whole
journal (a copied folder), gets placeholders: the shot, the prompt the report or the storyboard gives, nothing else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrator.engine.journal import JOURNAL_NAME, Journal
from orchestrator.engine.keys import SHORT
from orchestrator.engine.review import ShotTake, shot_takes
from orchestrator.engine.rundir import CLIP_NAME, journal_problem
from orchestrator.export.edits import EditClip

CARD = "animatic card"  # the take of a clip no generation made: a card of the animatic
CARDS_DIR = "cards"  # where the animatic keeps its cards (<run>/animatic/cards/)
JournalOf = Callable[[Path], Journal | None]


@dataclass(frozen=True)
class ClipFacts:
    """What an editor may want to know about one clip."""

    shot: str
    take: int | str | None  # the take number; CARD for an animatic's card; None when the journal has no record
    prompt: str
    seed: int | None = None
    model: str | None = None
    task_id: str | None = None
    cost: float | None = None  # every attempt of the take together
    currency: str | None = None

    @property
    def name(self) -> str:
        """The clip's name on the timeline: `<shot> take <n>`, `<shot> animatic card`, or the shot."""
        if self.take == CARD:
            return f"{self.shot} {CARD}"
        return self.shot if self.take is None else f"{self.shot} take {self.take}"


def take_folder(clip: Path) -> tuple[Path, str, str] | None:
    """(run directory, shot, key12) of a take's clip file, or None for a file that is not one."""
    parts = clip.parts
    if len(parts) < 5 or parts[-1] != CLIP_NAME or parts[-4] != "shots" or len(parts[-2]) != SHORT:
        return None
    return clip.parents[3], parts[-3], parts[-2]


def clip_facts(clips: Iterable[EditClip], prompts: Mapping[str, str]) -> dict[Path, ClipFacts]:
    """The facts of every clip, by its path; `prompts` (shot -> prompt, from the storyboard when it is found) fill
    in a card whose report entry has none."""
    facts: dict[Path, ClipFacts] = {}
    with _journals() as journal_of:
        for clip in clips:
            if clip.path in facts:
                continue
            found = take_folder(clip.path)
            journal = journal_of(found[0]) if found is not None else None
            taken = _take(journal, found[1], found[2]) if journal is not None and found is not None else None
            if taken is not None and journal is not None:
                facts[clip.path] = _from_take(taken, journal.currency() or "USD")
            else:
                prompt = clip.prompt if clip.prompt is not None else prompts.get(clip.shot, "")
                card = found is None and clip.path.parent.name == CARDS_DIR
                facts[clip.path] = ClipFacts(clip.shot, CARD if card else None, prompt)
    return facts


def _take(journal: Journal, shot: str, key12: str) -> ShotTake | None:
    return next((t for t in shot_takes(journal, shot) if t.key[:SHORT] == key12), None)


def _from_take(take: ShotTake, currency: str) -> ClipFacts:
    model = take.params.get("serves") or take.params.get("model")  # an endpoint's model, not the endpoint id
    return ClipFacts(shot=take.shot, take=take.number, prompt=str(take.params.get("prompt") or ""), seed=take.seed,
                     model=str(model) if model else None, task_id=take.task_id, cost=take.amount, currency=currency)


@contextlib.contextmanager
def _journals() -> Iterator[JournalOf]:
    """Open each run's journal once, when it is whole; close them all at the end."""
    opened: dict[Path, Journal | None] = {}

    def journal_of(run: Path) -> Journal | None:
        if run not in opened:
            path = run / JOURNAL_NAME
            # A missing or damaged journal is never opened (opening would start a new one): the clip gets placeholders.
            opened[run] = Journal(path) if journal_problem(path) is None else None
        return opened[run]

    try:
        yield journal_of
    finally:
        for journal in opened.values():
            if journal is not None:
                journal.close()

