"""What a run will do with each shot, given the journal: reuse | resume | generate, each with its reason and the
cost of what will be generated (DESIGN.md §3, house rule 6). Reads the journal and hashes files; calls nobody.

`plan` prints these decisions and `run` executes them: a shot decided here is not decided again. Only a chained shot
whose parent will be made anew cannot be decided before its parent's last frame exists; the run decides it then, with
the same function (`decide_shot`), when the frame is in hand.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from orchestrator.engine.journal import Journal, Take, TakeState, live_take
from orchestrator.engine.keys import Params, changed_fields, sha256_path, shot_key, shot_params
from orchestrator.engine.plan import Plan, ShotEstimate
from orchestrator.engine.rundir import RunDir
from orchestrator.storyboard.resolve import ShotSpec
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
    amount: float  # to be spent by this run (0 for reuse and for tasks already submitted), for display
    key: str | None  # None when it depends on a parent frame that does not exist yet
    take: Take | None
    params: Params | None = None  # what the key hashes; None with the key
    variant: int = 0  # the reroll number the key includes
    cost: Decimal = Decimal(0)  # exact: what budgets compare (alternates included)
    extras: tuple[Decision, ...] = ()  # alternates to make or resume beside this take (`takes: N`)
    alternates: int = 0  # for a decision not settled yet: how many alternates it will add

    @property
    def settled(self) -> bool:
        """True when the run can act on it as it stands (False: it waits for its parent's new frame)."""
        return self.key is not None


@dataclass(frozen=True)
class Decisions:
    """Every shot's decision, in plan order, and the cost of the run."""

    shots: tuple[Decision, ...]
    rerolls: dict[str, int]  # shot -> the variant number this run will use (rerolled or dropped back)

    @property
    def amount(self) -> float:
        """What the run will commit if nothing fails, for display."""
        return float(round(self.cost, 2))

    @property
    def cost(self) -> Decimal:
        """What the run will commit if nothing fails, exactly."""
        return sum((d.cost for d in self.shots), Decimal(0))

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
           rerolls: Collection[str] = (), drops: Collection[str] = (), picks: Mapping[str, int] | None = None,
           alternates: Mapping[str, int] | None = None) -> Decisions:
    """Decide every shot in plan order; `rerolls` are shots to make again with a new seed, `drops` shots whose
    newest reroll is given up, going back to the take before it, `picks` shots set to the take of a given reroll
    number (what `orchestrator pick` records), `alternates` shots to have N takes of (over `takes:`)."""
    frames: dict[str, str | None] = {}  # shot -> sha of the last frame its children will get, when known
    variants: dict[str, int] = {}
    out: list[Decision] = []
    for est in plan.shots:
        spec = checked.specs[est.id]
        parent = spec.shot.after
        if parent is not None and frames.get(parent) is None:
            frames[est.id] = None
            anew = Decision(est.id, Action.GENERATE, f"its parent {parent} will be made anew", est.amount, None, None,
                            cost=est.cost)
            out.append(with_alternates(anew, wanted(spec, alternates), est, spec, checked.base_dir, None, journal,
                                       run_dir))
            continue
        variant = journal.variant(est.id) if journal else 0
        if est.id in drops and journal is not None:
            variant = variants[est.id] = dropped_variant(journal, est.id, variant)
        if picks and est.id in picks:
            variant = variants[est.id] = picks[est.id]
        parent_frame = frames.get(parent) if parent else None
        decision = decide_shot(est, spec, checked.base_dir, parent_frame, journal, run_dir, variant,
                               reroll=est.id in rerolls)
        if decision.variant != variant:
            variants[est.id] = decision.variant
        frames[est.id] = _known_frame(decision, run_dir)
        out.append(with_alternates(decision, wanted(spec, alternates), est, spec, checked.base_dir, parent_frame,
                                   journal, run_dir))
    return Decisions(tuple(out), variants)


def decide_shot(est: ShotEstimate, spec: ShotSpec, base_dir: Path, parent_frame: str | None, journal: Journal | None,
                run_dir: RunDir, variant: int, *, reroll: bool = False, earlier: bool = True) -> Decision:
    """One shot's decision, its parent's last frame (sha) known; `reroll` makes it again with a new seed when it
    has a finished take; `earlier` lets a take of another reroll number made from the same parameters serve."""
    params = shot_params(spec, base_dir, parent_frame, variant)
    key = shot_key(params)
    take = live_take(journal.of_key(est.id, key)) if journal else None
    if take is None and journal is not None and _silent_by_default(spec):
        params, key, take = _with_sound(est.id, params, key, journal, run_dir)
    if earlier and take is None and journal is not None and not journal.of_key(est.id, key) and \
            not _unfinished_reroll(journal, est.id, variant):
        found = _earlier_take(est.id, params, journal, run_dir)
        if found is not None:  # e.g. the child its parent's picked take had: current again, not paid twice
            params, key, take, variant = found.params, found.key, found, int(found.params.get("variant", 0))
    if reroll and take is not None and take.state is TakeState.DOWNLOADED:
        variant = 1 + max(int(t.params.get("variant", 0)) for t in journal.takes(est.id)) if journal else variant + 1
        params = shot_params(spec, base_dir, parent_frame, variant)
        key = shot_key(params)
        return Decision(est.id, Action.GENERATE, "reroll: a new seed", est.amount, key, None, params, variant, est.cost)
    action, reason, pays = _action(est.id, key, take, params, journal, run_dir)
    if params["generate_audio"] != spec.generate_audio:
        reason += ", made with sound no film keeps"
    return Decision(est.id, action, reason, est.amount if pays else 0.0, key, take, params, variant,
                    est.cost if pays else Decimal(0))


def wanted(spec: ShotSpec, alternates: Mapping[str, int] | None) -> int:
    """How many takes of a shot to have: --takes, else `takes:` in the storyboard."""
    return (alternates or {}).get(spec.id, spec.shot.takes)


def with_alternates(decision: Decision, count: int, est: ShotEstimate, spec: ShotSpec, base_dir: Path,
                    parent_frame: str | None, journal: Journal | None, run_dir: RunDir) -> Decision:
    """The decision with the alternates that make `count` takes of the shot from the same parameters: those an
    earlier run left in progress are resumed, never made again; finished ones count; the rest are new reroll
    numbers. Not settled yet (its parent is made anew): priced as `count` takes, chosen when the frame exists."""
    if count <= 1:
        return decision
    if decision.params is None:
        return replace(decision, alternates=count - 1, amount=est.amount * count, cost=est.cost * count)

    def same(params: Params) -> dict[str, object]:
        return {k: v for k, v in params.items() if k != "variant"}

    mine = same(decision.params)
    takes = [t for t in journal.takes(est.id)] if journal else []
    alike = [t for t in takes if same(t.params) == mine]
    done = {int(t.params.get("variant", 0)) for t in alike if t.state is TakeState.DOWNLOADED}
    going = {int(t.params.get("variant", 0)) for t in alike if not t.state.ended_badly} - done - {decision.variant}
    needed = count - len(done | going | {decision.variant})
    top = max([int(t.params.get("variant", 0)) for t in takes] + [decision.variant])
    variants = sorted(going) + list(range(top + 1, top + 1 + max(needed, 0)))
    extras = tuple(decide_shot(est, spec, base_dir, parent_frame, journal, run_dir, v, earlier=False)
                   for v in variants)
    return replace(decision, extras=extras, amount=decision.amount + sum(e.amount for e in extras),
                   cost=decision.cost + sum((e.cost for e in extras), Decimal(0)))


def _unfinished_reroll(journal: Journal, shot: str, variant: int) -> bool:
    """The reroll number asked for is newer than every take of the shot: a reroll whose run stopped before its
    create (Ctrl-C, a budget stop, a gate). It is still wanted; no earlier take stands in for it."""
    return variant > max((int(t.params.get("variant", 0)) for t in journal.takes(shot)), default=0)


def _earlier_take(shot: str, params: Params, journal: Journal, run_dir: RunDir) -> Take | None:
    """The newest intact downloaded take made from these very parameters under another reroll number: a parent
    picked back to an earlier take finds the children it had then."""
    def same(other: Params) -> bool:
        return {k: v for k, v in other.items() if k != "variant"} == {k: v for k, v in params.items() if k != "variant"}
    done = [t for t in journal.takes(shot) if t.state is TakeState.DOWNLOADED and same(t.params)]
    return next((t for t in reversed(done) if take_intact(t, run_dir)), None)


def _silent_by_default(spec: ShotSpec) -> bool:
    """The shot is asked for without sound only because no film keeps it (not because the file says so)."""
    return spec.sound_unused is not None and spec.explicit("generate_audio") is None and not spec.generate_audio


def _with_sound(shot: str, params: Params, key: str, journal: Journal, run_dir: RunDir
                ) -> tuple[Params, str, Take | None]:
    """A take made with sound serves a shot whose sound no film keeps: runs made before sound followed the films
    asked for it, and paying again to have less would be paying twice. Any live take counts, so an interrupted
    run of that kind resumes (polls, reconciles, downloads) exactly as it would have; the shot runner then sends,
    if it must create at all, the request these parameters describe."""
    loud = {**params, "generate_audio": True}
    loud_key = shot_key(loud)
    take = live_take(journal.of_key(shot, loud_key))
    return (loud, loud_key, take) if take is not None else (params, key, None)


def dropped_variant(journal: Journal, shot: str, current: int) -> int:
    """The reroll number before `current` whose take finished (0, the original, when none did)."""
    finished = {int(t.params.get("variant", 0)) for t in journal.takes(shot) if t.state is TakeState.DOWNLOADED}
    return max((v for v in finished if v < current), default=0)


def _known_frame(decision: Decision, run_dir: RunDir) -> str | None:
    """The sha of the last frame this shot's children will get, when it is already on disk (a reused take, or a
    downloaded take resumed only to fetch its clip again)."""
    take = decision.take
    if take is None or take.state is not TakeState.DOWNLOADED or take.frame_sha is None:
        return None
    frame = run_dir.last_frame(take.shot, take.key)
    return take.frame_sha if frame.is_file() and sha256_path(frame) == take.frame_sha else None


def _action(shot: str, key: str, take: Take | None, params: Params, journal: Journal | None,
            run_dir: RunDir) -> tuple[Action, str, bool]:
    """(action, reason, whether it will pay for a new task)."""
    if take is not None:
        if take.state is TakeState.DOWNLOADED:
            if take_intact(take, run_dir):
                return Action.REUSE, f"unchanged (task {take.task_id})", False
            return Action.RESUME, f"files damaged or missing: download task {take.task_id} again", False
        if take.state is TakeState.INTENT:
            return (Action.RESUME, "interrupted inside its create call: reconcile through the list endpoint, "
                    "create only if no task exists", True)
        doing = "download it" if take.state is TakeState.SUCCEEDED else "poll it"
        return Action.RESUME, f"task {take.task_id} {take.state.value}: {doing}", False
    earlier = journal.takes(shot) if journal else []
    if not earlier:
        return Action.GENERATE, "new shot", True
    last = earlier[-1]
    if last.key == key:
        return Action.GENERATE, f"last attempt {last.state.value}: {last.error_code or ''}".rstrip(": "), True
    changed = changed_fields(last.params, params)
    return Action.GENERATE, f"{', '.join(changed) or 'parameters'} changed", True
