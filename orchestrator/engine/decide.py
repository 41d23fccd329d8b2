"""What a run will do with each shot, given the journal: reuse | resume | generate, each with its reason and the
cost of what will be generated (DESIGN.md §3, house rule 6). Reads the journal and hashes files; calls nobody.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from orchestrator.engine.journal import Journal, Take, TakeState, live_take
from orchestrator.engine.keys import changed_fields, sha256_path, shot_key, shot_params
from orchestrator.engine.plan import Plan
from orchestrator.engine.rundir import RunDir
from orchestrator.storyboard.validate import CheckedStoryboard


class Action(StrEnum):
    """What happens to a shot."""

    REUSE = "reuse"  # a verified take with the same key: no API call
    RESUME = "resume"  # a task already exists (or may): poll, reconcile or download it, never create it again
    GENERATE = "generate"  # a new paid task


@dataclass(frozen=True)
class Decision:
    """One shot's action, why, and what it will cost."""

    shot: str
    action: Action
    reason: str
    usd: float  # to be spent by this run (0 for reuse and for tasks already submitted)
    key: str | None  # None when it depends on a parent frame that does not exist yet
    take: Take | None


@dataclass(frozen=True)
class Decisions:
    """Every shot's decision, in plan order, and the cost of the run."""

    shots: tuple[Decision, ...]
    rerolls: dict[str, int]  # shot -> the variant number this run will use

    @property
    def usd(self) -> float:
        """What the run will commit if nothing fails."""
        return round(sum(d.usd for d in self.shots), 2)

    def of(self, shot: str) -> Decision:
        """The decision for one shot."""
        return next(d for d in self.shots if d.shot == shot)


def take_intact(take: Take, run_dir: RunDir) -> bool:
    """A downloaded take whose files still hash to what the journal recorded."""
    clip = run_dir.clip(take.shot, take.key)
    frame = run_dir.last_frame(take.shot, take.key)
    if not (clip.is_file() and clip.stat().st_size == take.clip_size and sha256_path(clip) == take.clip_sha):
        return False
    return take.frame_sha is None or (frame.is_file() and sha256_path(frame) == take.frame_sha)


def decide(checked: CheckedStoryboard, plan: Plan, journal: Journal | None, run_dir: RunDir,
           rerolls: Collection[str] = ()) -> Decisions:
    """Decide every shot in plan order; `rerolls` are shots to make again with a new seed."""
    frames: dict[str, str | None] = {}  # shot -> sha of the last frame its children will get, when known
    variants: dict[str, int] = {}
    out: list[Decision] = []
    for est in plan.shots:
        spec = checked.specs[est.id]
        parent = spec.shot.after
        variant = journal.variant(est.id) if journal else 0
        if parent is not None and frames.get(parent) is None:
            frames[est.id] = None
            out.append(Decision(est.id, Action.GENERATE, f"its parent {parent} will be made anew", est.usd, None,
                                None))
            continue
        params = shot_params(spec, checked.base_dir, frames.get(parent) if parent else None, variant)
        key = shot_key(params)
        takes = journal.of_key(est.id, key) if journal else []
        take = live_take(takes)
        if est.id in rerolls and take is not None and take.state is TakeState.DOWNLOADED:
            variant += 1
            params = shot_params(spec, checked.base_dir, frames.get(parent) if parent else None, variant)
            key, take = shot_key(params), None
            variants[est.id] = variant
        decision = _one(est.id, est.usd, key, take, params, journal, run_dir, est.id in variants)
        frames[est.id] = _known_frame(decision, run_dir)
        out.append(decision)
    return Decisions(tuple(out), variants)


def _known_frame(decision: Decision, run_dir: RunDir) -> str | None:
    """The sha of the last frame this shot's children will get, when it is already on disk (a reused take, or a
    downloaded take resumed only to fetch its clip again)."""
    take = decision.take
    if take is None or take.state is not TakeState.DOWNLOADED or take.frame_sha is None:
        return None
    frame = run_dir.last_frame(take.shot, take.key)
    return take.frame_sha if frame.is_file() and sha256_path(frame) == take.frame_sha else None


def _one(shot: str, usd: float, key: str, take: Take | None, params: dict[str, object], journal: Journal | None,
         run_dir: RunDir, rerolled: bool) -> Decision:
    if rerolled:
        return Decision(shot, Action.GENERATE, "reroll: a new seed", usd, key, None)
    if take is not None:
        if take.state is TakeState.DOWNLOADED:
            if take_intact(take, run_dir):
                return Decision(shot, Action.REUSE, f"unchanged (task {take.task_id})", 0.0, key, take)
            return Decision(shot, Action.RESUME, f"files damaged or missing: download task {take.task_id} again",
                            0.0, key, take)
        if take.state is TakeState.INTENT:
            return Decision(shot, Action.RESUME, "interrupted inside its create call: reconcile through the list "
                            "endpoint, create only if no task exists", usd, key, take)
        return Decision(shot, Action.RESUME, f"task {take.task_id} {take.state.value}: "
                        f"{'download it' if take.state is TakeState.SUCCEEDED else 'poll it'}", 0.0, key, take)
    earlier = journal.takes(shot) if journal else []
    if not earlier:
        return Decision(shot, Action.GENERATE, "new shot", usd, key, None)
    last = earlier[-1]
    if last.key == key:
        return Decision(shot, Action.GENERATE, f"last attempt {last.state.value}: {last.error_code or ''}".rstrip(": "),
                        usd, key, None)
    changed = changed_fields(last.params, params)
    return Decision(shot, Action.GENERATE, f"{', '.join(changed) or 'parameters'} changed", usd, key, None)
