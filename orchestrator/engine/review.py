"""Takes, picks and locks: a producer's choices among the generations of each shot.

A shot's takes are its generations, one per key (a retry of the same key is another attempt at the same take),
numbered in the order they were first asked for. Which take films and children use is the shot's reroll number in
the journal: a pick sets it, so `decide` finds the picked take as it finds any other, and a child keyed on that
take's last frame is current again where it exists. A lock pins the key in use: a plan or run that would make the
shot anew is refused before anything is paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.engine.decide import Action, Decisions
from orchestrator.engine.journal import Journal, Take, TakeState, live_take
from orchestrator.engine.keys import Params, changed_fields
from orchestrator.errors import ConfigError
from orchestrator.storyboard.validate import CheckedStoryboard


@dataclass(frozen=True)
class ShotTake:
    """One generation of a shot: every attempt made with one key."""

    number: int  # 1-based, in the order the takes were first asked for
    shot: str
    key: str
    params: Params
    state: TakeState  # of the attempt that counts (the newest downloaded, else the newest)
    seed: int
    task_id: str | None
    amount: float  # spent on all its attempts, in the journal's currency
    made_at: float  # when it was first asked for (epoch seconds)
    why: str  # new | reroll | edited: <fields> | parent's take changed
    attempts: int

    @property
    def variant(self) -> int:
        """The reroll number its key includes."""
        return int(self.params.get("variant", 0))


def shot_takes(journal: Journal, shot: str) -> list[ShotTake]:
    """Every take of a shot, oldest first."""
    by_key: dict[str, list[Take]] = {}
    for attempt in journal.takes(shot):
        by_key.setdefault(attempt.key, []).append(attempt)
    out: list[ShotTake] = []
    previous: Take | None = None
    for number, (key, attempts) in enumerate(by_key.items(), 1):
        counts = live_take(attempts) or attempts[-1]
        params = attempts[0].params
        out.append(ShotTake(number, shot, key, params, counts.state, counts.seed, counts.task_id,
                            round(sum(a.usd or 0.0 for a in attempts), 4), attempts[0].intent_at,
                            _why(previous, attempts[0]), len(attempts)))
        previous = attempts[0]
    return out


def _why(previous: Take | None, take: Take) -> str:
    if previous is None:
        return "new"
    changed = changed_fields(previous.params, take.params)
    if changed == ["reroll"]:
        return "alternate" if take.run == previous.run else "reroll"
    if changed == ["parent's last frame"]:
        return "parent's take changed"
    return "edited: " + ", ".join(c for c in changed if c != "reroll")


def in_use(decisions: Decisions | None, shot: str) -> str | None:
    """The key of the take films and children use as the storyboard stands (None: it would be made anew)."""
    if decisions is None or not any(d.shot == shot for d in decisions.shots):
        return None
    decision = decisions.of(shot)
    return decision.key if decision.action is not Action.GENERATE else None


def take_number(journal: Journal, shot: str, number: int) -> ShotTake:
    """Take `number` of a shot, or a one-line error saying which takes there are."""
    takes = shot_takes(journal, shot)
    if not takes:
        raise ConfigError(f"shot {shot} has no takes yet: run the storyboard first")
    if not 1 <= number <= len(takes):
        raise ConfigError(f"shot {shot} has takes 1 to {len(takes)}, not {number}")
    take = takes[number - 1]
    if take.state is not TakeState.DOWNLOADED:
        raise ConfigError(f"take {number} of {shot} is {take.state.value}, with no clip to use: pick a downloaded "
                          "take (see `orchestrator takes`)")
    return take


def check_pick(journal: Journal, decisions: Decisions, take: ShotTake) -> None:
    """Refuse a pick the storyboard, as it stands, would not use: made from another prompt or settings, or from
    another take of its parent than the one in use (pick that first)."""
    decision = decisions.of(take.shot)
    if decision.key == take.key:
        return
    if decision.params is None:
        raise ConfigError(f"take {take.number} of {take.shot} cannot be used: {decision.reason}")
    changed = [c for c in changed_fields(take.params, decision.params) if c != "reroll"]
    if changed == ["parent's last frame"]:
        parent = _parent_take(journal, decisions, take)
        raise ConfigError(f"take {take.number} of {take.shot} starts on another take of its parent"
                          + (f": pick that first (orchestrator pick ... {parent[0]} {parent[1]})" if parent else ""))
    raise ConfigError(f"take {take.number} of {take.shot} was made with another {', '.join(changed)} than the "
                      "storyboard now asks for: edit it back, or pick a take made from it")


def _parent_take(journal: Journal, decisions: Decisions, take: ShotTake) -> tuple[str, int] | None:
    """(parent shot, take number) whose last frame the take started on."""
    wanted = take.params.get("parent_frame")
    for decision in decisions.shots:
        for candidate in journal.takes(decision.shot):
            if candidate.frame_sha == wanted and candidate.state is TakeState.DOWNLOADED:
                number = next(t.number for t in shot_takes(journal, decision.shot) if t.key == candidate.key)
                return decision.shot, number
    return None


def check_locks(journal: Journal | None, decisions: Decisions, target: str) -> None:
    """Refuse a plan or run that would make a locked shot anew (an edit, a reroll, a new parent take)."""
    if journal is None:
        return
    for shot, key in journal.locks().items():
        if not any(d.shot == shot for d in decisions.shots):
            continue
        decision = decisions.of(shot)
        if decision.key == key and decision.action is not Action.GENERATE and not decision.extras:
            continue
        number = next((t.number for t in shot_takes(journal, shot) if t.key == key), "?")
        why = decision.reason if decision.key != key or decision.action is Action.GENERATE else \
            f"{len(decision.extras)} more take(s) asked for"
        raise ConfigError(f"shot {shot} is locked on take {number}, and this would make it again "
                          f"({why}): undo that, or unlock it with `orchestrator unlock {target} {shot}`")


def lockable(decisions: Decisions, shot: str) -> str:
    """The key to lock `shot` on: its take in use, which must be finished."""
    decision = decisions.of(shot)
    if decision.action is not Action.REUSE or decision.key is None:
        raise ConfigError(f"shot {shot} has no finished take in use to lock ({decision.action.value}: "
                          f"{decision.reason}): run it first")
    return decision.key


# -- review gates: a gated shot's children wait for an approved take ------------------------------------------------


class Held(Exception):
    """A shot waits: its parent is gated and the parent's take in use is not approved."""

    def __init__(self, gate: str) -> None:
        self.gate = gate
        super().__init__(f"waits for approval of {gate}")


def gated(checked: CheckedStoryboard, shot: str, every_link: bool) -> bool:
    """Whether a shot's children wait for its approval: `review: true`, or `--gate` on a shot with a chained child."""
    return checked.specs[shot].shot.review or (every_link and any(True for _ in checked.graph.successors(shot)))


def approved(journal: Journal, shot: str, key: str | None) -> bool:
    """Whether the take of `key` is the shot's approved one."""
    found = journal.approved(shot)
    return key is not None and found is not None and found[0] == key


def check_rejections(journal: Journal | None, checked: CheckedStoryboard, rerolls: Sequence[str], every_link: bool,
                     limit: int, target: str) -> None:
    """Refuse to reroll a gated shot that already has `limit` takes made since its last approval: a person looks."""
    if journal is None:
        return
    for shot in rerolls:
        if not gated(checked, shot, every_link):
            continue
        since = (journal.approved(shot) or ("", 0.0))[1]
        waiting = [t for t in shot_takes(journal, shot) if t.made_at > since]
        if len(waiting) >= limit:
            raise ConfigError(f"shot {shot} has {len(waiting)} takes made without an approval (the limit is "
                              f"{limit}): look at them first (orchestrator takes {target} {shot}) and approve one "
                              "(orchestrator approve), or raise ORCHESTRATOR_REJECTIONS_MAX")
