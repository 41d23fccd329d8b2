"""What a run will do with each shot given the journal (DESIGN.md §§3, 5): reuse, resume or generate, each with its
reason and cost. A real journal and real take files in a run directory; nothing is called."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engine.decide import Action, Decisions, decide, take_intact
from orchestrator.engine.journal import Journal, Take, TakeState
from orchestrator.engine.keys import shot_key, shot_params
from orchestrator.engine.plan import Plan, make_plan
from orchestrator.engine.rundir import RunDir
from orchestrator.storyboard.validate import CheckedStoryboard, check_file

MODEL = "dreamina-seedance-2-0-260128"
SHOTS: list[dict[str, Any]] = [
    {"id": "pick", "prompt": "a hand picks a red apple"},
    {"id": "shake", "after": "pick", "prompt": "the apple goes into a shaker"},
    {"id": "pour", "after": "shake", "prompt": "the tea is poured"},
    {"id": "hero", "prompt": "the cup on a pink set"},
]


def write_board(folder: Path, shots: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    body = {"version": 1, "name": "decide", "defaults": {"model": MODEL, "duration": 5, "ratio": "16:9"},
            "shots": shots}
    path = folder / "board.yaml"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


class World:
    """A storyboard, its plan, a run directory and its journal."""

    def __init__(self, tmp_path: Path, shots: list[dict[str, Any]] = SHOTS) -> None:
        self.tmp_path = tmp_path
        self.run_dir = RunDir(tmp_path / "run")
        self.journal = Journal(self.run_dir.journal)
        self.tasks = 0
        self.load(shots)

    def load(self, shots: list[dict[str, Any]]) -> None:
        self.checked: CheckedStoryboard = check_file(write_board(self.tmp_path / "board", shots))
        self.plan: Plan = make_plan(self.checked)

    def usd(self, shot: str) -> float:
        return next(s.amount for s in self.plan.shots if s.id == shot)

    def key(self, shot: str, parent_sha: str | None = None, variant: int = 0) -> str:
        spec = self.checked.specs[shot]
        return shot_key(shot_params(spec, self.checked.base_dir, parent_sha, variant))

    def take(self, shot: str, state: TakeState, parent_sha: str | None = None, variant: int = 0) -> Take:
        """Journal a take of `shot` in `state`; a downloaded take gets its files in the run directory."""
        spec = self.checked.specs[shot]
        params = shot_params(spec, self.checked.base_dir, parent_sha, variant)
        key = shot_key(params)
        take = self.journal.add_intent(shot, key, params, 1, 99, {"model": MODEL}, run=1)
        if state is TakeState.INTENT:
            return take
        self.tasks += 1
        self.journal.set_submitted(take.id, f"cgt-{shot}-{self.tasks}")
        if state is TakeState.SUBMITTED:
            return self.journal.take(take.id)
        if state.ended_badly:
            return self.journal.set_ended(take.id, state, "InternalServiceError", "try later", True)
        self.journal.set_succeeded(take.id, "https://v", "https://f", 1000, 0.5)
        frame = f"\x89PNG frame of {shot} {key[:8]}".encode()
        write(self.run_dir.last_frame(shot, key), frame)
        take = self.journal.set_frame(take.id, sha(frame), len(frame))
        if state is TakeState.SUCCEEDED:
            return take
        clip = f"mp4 clip of {shot} {key[:8]}".encode() * 10
        write(self.run_dir.clip(shot, key), clip)
        return self.journal.set_downloaded(take.id, sha(clip), len(clip))

    def chain_done(self) -> dict[str, Take]:
        """Every shot downloaded, each child keyed on its parent's frame."""
        pick = self.take("pick", TakeState.DOWNLOADED)
        shake = self.take("shake", TakeState.DOWNLOADED, pick.frame_sha)
        pour = self.take("pour", TakeState.DOWNLOADED, shake.frame_sha)
        hero = self.take("hero", TakeState.DOWNLOADED)
        return {"pick": pick, "shake": shake, "pour": pour, "hero": hero}

    def decide(self, rerolls: tuple[str, ...] = (), journal: bool = True) -> Decisions:
        return decide(self.checked, self.plan, self.journal if journal else None, self.run_dir, rerolls)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.journal.close()


def test_a_new_storyboard_generates_everything(world: World) -> None:
    decisions = world.decide()
    assert [d.shot for d in decisions.shots] == [s.id for s in world.plan.shots]
    pick, shake, pour, hero = (decisions.of(s) for s in ("pick", "shake", "pour", "hero"))
    assert (pick.action, pick.reason, pick.amount, pick.key, pick.take) == (
        Action.GENERATE, "new shot", world.usd("pick"), world.key("pick"), None)
    assert (hero.action, hero.reason, hero.key) == (Action.GENERATE, "new shot", world.key("hero"))
    assert (shake.action, shake.reason, shake.key, shake.amount) == (
        Action.GENERATE, "its parent pick will be made anew", None, world.usd("shake"))
    assert (pour.action, pour.reason, pour.key) == (Action.GENERATE, "its parent shake will be made anew", None)
    assert pick.amount > 0
    assert decisions.amount == pytest.approx(world.plan.amount, abs=0.01)
    assert decisions.rerolls == {}


def test_without_a_journal_everything_is_new(world: World) -> None:
    world.chain_done()
    decisions = world.decide(journal=False)
    assert [d.action for d in decisions.shots] == [Action.GENERATE] * 4
    assert decisions.of("pick").reason == "new shot"


def test_intact_downloaded_takes_are_reused_for_free(world: World) -> None:
    done = world.chain_done()
    decisions = world.decide()
    for shot, take in done.items():
        d = decisions.of(shot)
        assert (d.action, d.amount, d.key, d.take) == (Action.REUSE, 0.0, take.key, take), shot
        assert d.reason == f"unchanged (task {take.task_id})"
    assert decisions.amount == 0.0
    assert take_intact(done["pick"], world.run_dir)


def test_a_damaged_clip_is_downloaded_again_not_regenerated(world: World) -> None:
    done = world.chain_done()
    clip = world.run_dir.clip("pick", done["pick"].key)
    data = bytearray(clip.read_bytes())
    data[5] ^= 0xFF  # same size, different bytes
    clip.write_bytes(bytes(data))
    assert not take_intact(done["pick"], world.run_dir)
    d = world.decide().of("pick")
    assert (d.action, d.amount, d.take) == (Action.RESUME, 0.0, done["pick"])
    assert d.reason == f"files damaged or missing: download task {done['pick'].task_id} again"
    assert world.decide().of("hero").action is Action.REUSE


@pytest.mark.parametrize("damage", ["missing clip", "missing frame", "changed frame", "truncated clip"])
def test_any_damage_to_a_takes_files_means_resume(world: World, damage: str) -> None:
    take = world.take("hero", TakeState.DOWNLOADED)
    clip, frame = world.run_dir.clip("hero", take.key), world.run_dir.last_frame("hero", take.key)
    if damage == "missing clip":
        clip.unlink()
    elif damage == "missing frame":
        frame.unlink()
    elif damage == "changed frame":
        frame.write_bytes(frame.read_bytes() + b"!")
    else:
        clip.write_bytes(clip.read_bytes()[:-1])
    d = world.decide().of("hero")
    assert (d.action, d.amount) == (Action.RESUME, 0.0)


def test_children_of_a_parent_resumed_only_for_a_download_stay_reusable(world: World) -> None:
    # Only pick's clip is damaged: its last frame is intact and its sha is in the journal, so the children's keys
    # are known and their takes are intact. Pricing them as new (and saying pick "will be made anew") overstates
    # the run's cost, which can make the budget refuse a run that costs nothing.
    done = world.chain_done()
    clip = world.run_dir.clip("pick", done["pick"].key)
    clip.write_bytes(b"x" * clip.stat().st_size)
    decisions = world.decide()
    assert decisions.of("pick").action is Action.RESUME
    shake = decisions.of("shake")
    assert (shake.action, shake.amount, shake.key) == (Action.REUSE, 0.0, done["shake"].key)
    assert decisions.amount == 0.0


def test_an_intent_is_resumed_at_its_cost(world: World) -> None:
    take = world.take("hero", TakeState.INTENT)
    d = world.decide().of("hero")
    assert (d.action, d.amount, d.take, d.key) == (Action.RESUME, world.usd("hero"), take, take.key)
    assert d.amount > 0
    assert "reconcile" in d.reason
    assert "create only if no task exists" in d.reason


def test_a_submitted_task_is_resumed_for_free(world: World) -> None:
    take = world.take("hero", TakeState.SUBMITTED)
    d = world.decide().of("hero")
    assert (d.action, d.amount, d.take) == (Action.RESUME, 0.0, take)
    assert d.reason == f"task {take.task_id} submitted: poll it"


def test_a_succeeded_task_is_resumed_to_download(world: World) -> None:
    take = world.take("hero", TakeState.SUCCEEDED)
    d = world.decide().of("hero")
    assert (d.action, d.amount) == (Action.RESUME, 0.0)
    assert d.reason == f"task {take.task_id} succeeded: download it"


def test_a_failed_last_attempt_is_generated_again_with_its_error(world: World) -> None:
    world.take("hero", TakeState.FAILED)
    d = world.decide().of("hero")
    assert (d.action, d.amount, d.take) == (Action.GENERATE, world.usd("hero"), None)
    assert d.reason == "last attempt failed: InternalServiceError"


def test_the_newest_downloaded_take_wins_over_a_later_failure(world: World) -> None:
    good = world.take("hero", TakeState.DOWNLOADED)
    world.take("hero", TakeState.FAILED)
    d = world.decide().of("hero")
    assert (d.action, d.take) == (Action.REUSE, good)


def test_an_edited_prompt_regenerates_the_shot_and_its_descendants(world: World) -> None:
    done = world.chain_done()
    edited = [dict(s) for s in SHOTS]
    edited[0]["prompt"] = "a hand picks a green apple"
    world.load(edited)
    decisions = world.decide()
    pick, shake, pour, hero = (decisions.of(s) for s in ("pick", "shake", "pour", "hero"))
    assert (pick.action, pick.reason, pick.amount, pick.take) == (Action.GENERATE, "prompt changed",
                                                               world.usd("pick"), None)
    assert pick.key == world.key("pick") != done["pick"].key
    assert (shake.action, shake.reason, shake.amount, shake.key) == (
        Action.GENERATE, "its parent pick will be made anew", world.usd("shake"), None)
    assert (pour.action, pour.reason) == (Action.GENERATE, "its parent shake will be made anew")
    assert (hero.action, hero.amount) == (Action.REUSE, 0.0)
    assert decisions.amount == pytest.approx(world.usd("pick") + world.usd("shake") + world.usd("pour"), abs=0.01)


def test_an_edited_child_prompt_regenerates_from_the_kept_parent_frame(world: World) -> None:
    done = world.chain_done()
    edited = [dict(s) for s in SHOTS]
    edited[1]["prompt"] = "the apple goes into a glass"
    world.load(edited)
    decisions = world.decide()
    assert decisions.of("pick").action is Action.REUSE
    shake = decisions.of("shake")
    assert (shake.action, shake.reason) == (Action.GENERATE, "prompt changed")
    assert shake.key == world.key("shake", done["pick"].frame_sha)
    assert decisions.of("pour").reason == "its parent shake will be made anew"


def test_a_changed_parameter_is_named(world: World) -> None:
    world.take("hero", TakeState.DOWNLOADED)
    edited = [dict(s) for s in SHOTS]
    edited[3]["duration"] = 8
    world.load(edited)
    d = world.decide().of("hero")
    assert (d.action, d.reason) == (Action.GENERATE, "duration changed")


def test_a_reroll_generates_a_new_variant_and_its_descendants(world: World) -> None:
    world.chain_done()
    decisions = world.decide(rerolls=("pick",))
    pick = decisions.of("pick")
    assert (pick.action, pick.reason, pick.amount, pick.take) == (Action.GENERATE, "reroll: a new seed",
                                                               world.usd("pick"), None)
    assert pick.key == world.key("pick", variant=1)
    assert decisions.rerolls == {"pick": 1}
    assert decisions.of("shake").reason == "its parent pick will be made anew"
    assert decisions.of("hero").action is Action.REUSE


def test_a_reroll_counts_up_from_the_journaled_variant(world: World) -> None:
    world.journal.set_variant("hero", 2)
    take = world.take("hero", TakeState.DOWNLOADED, variant=2)
    assert world.decide().of("hero").take == take  # variant 2 is the current take
    decisions = world.decide(rerolls=("hero",))
    assert decisions.rerolls == {"hero": 3}
    assert decisions.of("hero").key == world.key("hero", variant=3)


def test_a_reroll_of_a_shot_never_made_is_just_new(world: World) -> None:
    decisions = world.decide(rerolls=("hero",))
    assert decisions.of("hero").reason == "new shot"
    assert decisions.rerolls == {}
