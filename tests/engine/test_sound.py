"""Audio economy: a shot whose sound no film keeps is asked for silently, unless the file says otherwise (then a
warning names the cost), and a take made with sound before this rule still serves it without paying again."""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engine.decide import Action
from orchestrator.engine.journal import TakeState
from orchestrator.engine.plan import make_plan
from orchestrator.engine.request import build_request
from orchestrator.storyboard.validate import check_file
from tests.engine.test_decide import World

MODEL = "dreamina-seedance-2-0-260128"
SHOTS: list[dict[str, Any]] = [
    {"id": "pick", "prompt": "a hand picks a red apple"},
    {"id": "shake", "after": "pick", "prompt": "the apple goes into a shaker"},
    {"id": "hero", "prompt": "the cup on a pink set"},
]


def board(folder: Path, assembly: dict[str, Any] | None = None, outputs: dict[str, list[str]] | None = None,
          model: str = MODEL, shots: list[dict[str, Any]] = SHOTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    body: dict[str, Any] = {"version": 1, "name": "sound",
                            "defaults": {"model": model, "duration": 5, "ratio": "16:9"}, "shots": shots}
    if assembly is not None:
        with wave.open(str(folder / "music.wav"), "wb") as music:  # a real (silent) file: a soundtrack must be one
            music.setnchannels(1)
            music.setsampwidth(2)
            music.setframerate(48_000)
            music.writeframes(bytes(9600))
        body["assembly"] = assembly
    if outputs is not None:
        body["outputs"] = outputs
    path = folder / "board.yaml"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


@pytest.mark.parametrize(("assembly", "sound"), [
    (None, True),
    ({"audio": "clips"}, True),
    ({"audio": "mute"}, False),
    ({"audio": "soundtrack", "soundtrack": "music.wav", "soundtrack_mix": "duck"}, True),
    ({"audio": "soundtrack", "soundtrack": "music.wav", "soundtrack_mix": "replace"}, False),
])
def test_sound_is_asked_for_only_when_a_film_keeps_it(tmp_path: Path, assembly: dict[str, Any] | None,
                                                      sound: bool) -> None:
    checked = check_file(board(tmp_path, assembly))
    for spec in checked.specs.values():
        assert spec.generate_audio is sound
        request = build_request(spec, checked.base_dir, 7, None if not spec.chained else "https://f/x.png")
        assert request.body()["generate_audio"] is sound  # always sent: the provider's default is true
    assert not checked.warnings


def test_a_shot_in_no_output_is_silent_and_the_plan_says_why(tmp_path: Path) -> None:
    checked = check_file(board(tmp_path, outputs={"main": ["shake", "hero"]}))
    assert checked.specs["pick"].generate_audio is False
    assert checked.specs["pick"].sound_unused == "no output uses this shot"
    assert checked.specs["hero"].generate_audio is True
    notes = {s.id: s.notes for s in make_plan(checked).shots}
    assert any("no output uses this shot" in n for n in notes["pick"])
    assert not any("sound" in n for n in notes["hero"])


def test_an_explicit_true_is_honoured_with_a_warning_naming_the_cost(tmp_path: Path) -> None:
    shots = [{**SHOTS[0], "generate_audio": True}, *SHOTS[1:]]
    checked = check_file(board(tmp_path, {"audio": "mute"}, shots=shots))
    assert checked.specs["pick"].generate_audio is True
    assert checked.specs["shake"].generate_audio is False
    (warning,) = checked.warnings
    text = warning.render()
    assert "board.yaml:" in text and "shots[0].generate_audio" in text
    assert "thrown away" in text and "assembly.audio is mute" in text
    assert "charges the same per token" in text  # 2.0 has one price with or without sound


def test_a_true_in_defaults_is_one_warning_naming_every_shot_it_applies_to(tmp_path: Path) -> None:
    path = board(tmp_path, {"audio": "mute"})
    body = path.read_text(encoding="utf-8").replace('"duration": 5,', '"duration": 5, "generate_audio": true,')
    path.write_text(body, encoding="utf-8")
    checked = check_file(path)
    assert [s.generate_audio for s in checked.specs.values()] == [True, True, True]
    (warning,) = checked.warnings
    assert warning.path == "defaults.generate_audio"
    assert "no film keeps the sound of shots 'pick', 'shake', 'hero' (assembly.audio is mute)" in warning.message


def test_the_warning_names_the_silent_price_where_the_model_has_one(tmp_path: Path) -> None:
    shots = [{"id": "a", "prompt": "a cat", "generate_audio": True}]
    checked = check_file(board(tmp_path, {"audio": "mute"}, model="seedance-1-5-pro-251215", shots=shots))
    (warning,) = [w for w in checked.warnings if "thrown away" in w.message]  # and 1.5 pro's retirement
    assert "$2.4 per 1M tokens with sound, $1.2 without" in warning.message
    (shot,) = make_plan(checked).shots
    (note,) = [n for n in shot.notes if "thrown away" in n]
    assert f"${shot.tokens * 1.2 / 1e6:.4f} of its price" in note  # the difference between the two prices


def test_an_explicit_false_stays_false_and_models_without_sound_send_nothing(tmp_path: Path) -> None:
    shots = [{"id": "a", "prompt": "a cat", "generate_audio": False}]
    checked = check_file(board(tmp_path, {"audio": "clips"}, shots=shots))
    assert checked.specs["a"].generate_audio is False
    checked = check_file(board(tmp_path / "pro", {"audio": "mute"}, model="seedance-1-0-pro-250528",
                               shots=[{"id": "a", "prompt": "a cat"}]))
    assert "generate_audio" not in build_request(checked.specs["a"], checked.base_dir, 7, None).body()
    assert not checked.warnings


def test_a_take_made_with_sound_serves_a_muted_shot_without_paying_again(tmp_path: Path) -> None:
    """A run made before sound followed the films: its takes asked for sound. Muting the film must not regenerate."""
    world = Takes(tmp_path, SHOTS)
    try:
        loud_key = world.done()["hero"].key
        world.checked = check_file(board(tmp_path / "muted", {"audio": "mute"}))
        world.plan = make_plan(world.checked)
        decisions = world.decide()
        hero = decisions.of("hero")
        assert hero.action is Action.REUSE and hero.key == loud_key and hero.cost == 0
        assert "made with sound no film keeps" in hero.reason
        assert decisions.of("shake").action is Action.REUSE
        assert decisions.cost == 0
    finally:
        world.journal.close()


@pytest.mark.parametrize("state", [TakeState.INTENT, TakeState.SUBMITTED, TakeState.SUCCEEDED, "damaged"])
def test_an_interrupted_take_made_with_sound_is_resumed_not_made_again(tmp_path: Path,
                                                                       state: TakeState | str) -> None:
    world = Takes(tmp_path, SHOTS)
    try:
        take = world.take("hero", TakeState.DOWNLOADED if state == "damaged" else TakeState(state))
        if state == "damaged":
            world.run_dir.clip("hero", take.key).write_bytes(b"truncated")
        world.checked = check_file(board(tmp_path / "muted", {"audio": "mute"}))
        world.plan = make_plan(world.checked)
        hero = world.decide().of("hero")
        assert hero.action is Action.RESUME and hero.key == take.key and hero.take == world.journal.take(take.id)
        assert hero.params is not None and hero.params["generate_audio"] is True
        # Only an intent may still need its create (if the list shows no task); nothing else is paid again.
        assert (hero.cost > 0) is (state is TakeState.INTENT)
    finally:
        world.journal.close()


def test_an_explicit_false_does_not_take_a_clip_made_with_sound(tmp_path: Path) -> None:
    world = Takes(tmp_path, SHOTS)
    try:
        world.done()
        shots = [*SHOTS[:2], {**SHOTS[2], "generate_audio": False}]
        world.checked = check_file(board(tmp_path / "muted", {"audio": "mute"}, shots=shots))
        world.plan = make_plan(world.checked)
        hero = world.decide().of("hero")
        assert hero.action is Action.GENERATE and "generate_audio changed" in hero.reason
    finally:
        world.journal.close()


class Takes(World):
    """The decide tests' world with every shot of SHOTS downloaded, under the default assembly (sound kept)."""

    def done(self) -> dict[str, Any]:
        pick = self.take("pick", TakeState.DOWNLOADED)
        shake = self.take("shake", TakeState.DOWNLOADED, pick.frame_sha)
        return {"pick": pick, "shake": shake, "hero": self.take("hero", TakeState.DOWNLOADED)}
