"""Validation messages name the fix: each is one line `file:line:col: path: message`, at the line to change.

A chained shot's own ratio or resolution says to remove the line; an error a `defaults` value causes names the shots
that inherit it; a quoted number says to drop the quotes; a misspelt model id gets the id it most likely means.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from orchestrator.errors import StoryboardInvalid
from orchestrator.profiles import Region, RegionChoice
from orchestrator.storyboard.diagnostics import Diagnostic
from orchestrator.storyboard.validate import check_file
from tests.conftest import run_cli

TODAY = date(2026, 6, 1)
V20 = "dreamina-seedance-2-0-260128"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "board.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, region: RegionChoice | None = None, today: date = TODAY) -> list[Diagnostic]:
    """Every diagnostic of a storyboard that must be refused."""
    with pytest.raises(StoryboardInvalid) as info:
        check_file(write(tmp_path, text), today=today, region=region)
    return info.value.diagnostics


def only(found: list[Diagnostic]) -> tuple[int, int, str, str]:
    """(line, col, path, message) of the one diagnostic found."""
    assert len(found) == 1, "\n".join(d.render() for d in found)
    (d,) = found
    return d.line, d.col, d.path, d.message


# --- 1. A chained shot's ratio or resolution: remove the line -------------------------------------------------------

CHAIN = f"""version: 1
defaults:
  model: {V20}
shots:
  - id: pick
    prompt: A hand picks an apple.
  - id: bite
    after: pick
    {{line}}
    prompt: A bite of the apple.
"""


def test_a_chained_ratio_says_to_remove_the_line(tmp_path: Path) -> None:
    line, col, path, message = only(problems(tmp_path, CHAIN.format(line='ratio: "16:9"')))
    assert (line, col, path) == (9, 12, "shots[1].ratio")
    assert message == ("'16:9' is not allowed after 'pick' (its ratio is adaptive): remove the line; a chained "
                       "shot takes its parent's ratio")


def test_a_chained_ratio_after_a_fixed_ratio_names_it(tmp_path: Path) -> None:
    text = CHAIN.format(line='ratio: "9:16"').replace("  - id: pick\n", '  - id: pick\n    ratio: "16:9"\n')
    line, col, path, message = only(problems(tmp_path, text))
    assert (line, col, path) == (10, 12, "shots[1].ratio")
    assert message.startswith("'9:16' is not allowed after 'pick' (its ratio is '16:9'): remove the line;")


def test_a_chained_resolution_says_to_remove_the_line(tmp_path: Path) -> None:
    line, col, path, message = only(problems(tmp_path, CHAIN.format(line="resolution: 1080p")))
    assert (line, col, path) == (9, 17, "shots[1].resolution")
    assert message == ("1080p differs from parent 'pick' (720p): remove the line; a chained shot keeps its parent's "
                       "resolution")


# --- 2. A bad value in defaults names the shots that inherit it -----------------------------------------------------

def test_a_bad_default_names_the_shots_that_inherit_it_not_the_one_that_overrides_it(tmp_path: Path) -> None:
    text = f"""version: 1
defaults:
  model: {V20}
  duration: 20
shots:
  - {{id: a, prompt: x}}
  - {{id: b, prompt: x}}
  - {{id: keep, prompt: x, duration: 10}}
  - {{id: c, prompt: x}}
"""
    line, col, path, message = only(problems(tmp_path, text))
    assert (line, col, path) == (4, 13, "defaults.duration")
    assert message == f"20 is not allowed for {V20} (4..15 or -1) (inherited by shots 'a', 'b', 'c')"
    assert "keep" not in message


def test_an_unknown_default_model_is_one_line_naming_its_shots(tmp_path: Path) -> None:
    text = f"""version: 1
defaults:
  model: seedance 2.0 fast
shots:
  - {{id: a, prompt: x}}
  - {{id: keep, prompt: x, model: {V20}}}
  - {{id: b, prompt: x}}
  - {{id: c, prompt: x}}
"""
    line, col, path, message = only(problems(tmp_path, text))
    assert (line, col, path) == (3, 10, "defaults.model")
    assert message == ("'seedance 2.0 fast' is not a known model (did you mean 'dreamina-seedance-2-0-fast-260128'?) "
                       "(inherited by shots 'a', 'b', 'c')")


def test_a_default_the_model_refuses_names_only_the_shots_on_that_model(tmp_path: Path) -> None:
    text = f"""version: 1
defaults:
  model: {V20}
  camera_fixed: true
shots:
  - {{id: a, prompt: x}}
  - {{id: old, prompt: x, model: seedance-1-0-pro-250528}}
  - {{id: keep, prompt: x, camera_fixed: false}}
  - {{id: b, prompt: x}}
  - {{id: c, prompt: x}}
"""
    line, col, path, message = only(problems(tmp_path, text))
    assert (line, col, path) == (4, 17, "defaults.camera_fixed")
    assert message == f"camera_fixed is not supported by {V20} (inherited by shots 'a', 'b', 'c')"


def test_a_default_refused_differently_per_model_is_one_line_per_message(tmp_path: Path) -> None:
    text = f"""version: 1
defaults:
  model: {V20}
  duration: 20
shots:
  - {{id: a, prompt: x}}
  - {{id: old, prompt: x, model: seedance-1-0-pro-250528}}
  - {{id: b, prompt: x}}
"""
    found = problems(tmp_path, text)
    assert [(d.line, d.col, d.path) for d in found] == [(4, 13, "defaults.duration")] * 2
    assert sorted(d.message for d in found) == [
        f"20 is not allowed for {V20} (4..15 or -1) (inherited by shots 'a', 'b')",
        "20 is not allowed for seedance-1-0-pro-250528 (2..12) (inherited by shot 'old')",
    ]


def test_many_inheriting_shots_are_named_in_file_order_and_counted(tmp_path: Path) -> None:
    # s01 is checked after its parent s16 (parents first), yet named in file order.
    shots = "".join(f"  - {{id: s{i:02}, prompt: x{', after: s16' if i == 1 else ''}}}\n" for i in range(17))
    text = f"version: 1\ndefaults:\n  model: {V20}\n  duration: 20\nshots:\n{shots}"
    line, col, path, message = only(problems(tmp_path, text))
    assert (line, col, path) == (4, 13, "defaults.duration")
    assert message.endswith("(inherited by shots 's00', 's01', 's02', 's03', 's04' and 12 more)")


def test_a_warning_from_defaults_is_grouped_too(tmp_path: Path) -> None:
    text = """version: 1
defaults:
  model: seedance-1-5-pro-251215
shots:
  - {id: a, prompt: x}
  - {id: b, prompt: x}
"""
    checked = check_file(write(tmp_path, text), today=date(2026, 12, 1))
    (warning,) = checked.warnings
    assert (warning.line, warning.col, warning.path) == (3, 10, "defaults.model")
    assert "scheduled for deactivation on 2026-11-11" in warning.message
    assert warning.message.endswith("(inherited by shots 'a', 'b')")


def test_the_sound_warning_keeps_its_own_naming(tmp_path: Path) -> None:
    text = f"""version: 1
defaults:
  model: {V20}
  generate_audio: true
shots:
  - {{id: a, prompt: x}}
  - {{id: b, prompt: x}}
assembly:
  audio: mute
"""
    (warning,) = check_file(write(tmp_path, text), today=TODAY).warnings
    assert (warning.line, warning.col, warning.path) == (4, 19, "defaults.generate_audio")
    assert warning.message.startswith("true, but no film keeps the sound of shots 'a', 'b' (assembly.audio is mute)")
    assert "inherited" not in warning.message


def test_the_rendered_line_of_a_bad_default(tmp_path: Path) -> None:
    text = f"version: 1\ndefaults:\n  model: {V20}\n  duration: 20\nshots:\n  - {{id: a, prompt: x}}\n"
    path = write(tmp_path, text)
    result = run_cli("validate", path)
    assert result.code == 2
    assert result.stderr.strip() == (f"{path}:4:13: defaults.duration: 20 is not allowed for {V20} (4..15 or -1) "
                                     "(inherited by shot 'a')")


# --- 3. A quoted number or boolean: write it without quotes ---------------------------------------------------------

def test_quoted_numbers_and_booleans_say_to_drop_the_quotes(tmp_path: Path) -> None:
    text = f"""version: 1
defaults:
  model: {V20}
  duration: "8"
  generate_audio: "true"
shots:
  - {{id: a, prompt: x, seed: " 42", watermark: "False"}}
assembly:
  crossfade_seconds: "1.5"
"""
    found = [(d.line, d.col, d.path, d.message) for d in problems(tmp_path, text)]
    assert found == [
        (4, 13, "defaults.duration", "'8' is a string: write 8 without quotes"),
        (5, 19, "defaults.generate_audio", "'true' is a string: write true without quotes"),
        (7, 30, "shots[0].seed", "' 42' is a string: write 42 without quotes"),
        (7, 48, "shots[0].watermark", "'False' is a string: write false without quotes"),
        (9, 22, "assembly.crossfade_seconds", "'1.5' is a string: write 1.5 without quotes"),
    ]


def test_a_string_that_is_no_number_keeps_its_message(tmp_path: Path) -> None:
    text = f"""version: 1
defaults:
  model: {V20}
  duration: eight
  generate_audio: "yes"
  seed: "4.5"
shots:
  - {{id: a, prompt: x}}
"""
    found = [(d.line, d.path, d.message) for d in problems(tmp_path, text)]
    assert found == [
        (4, "defaults.duration", "'eight' is not a whole number"),
        (5, "defaults.generate_audio", "'yes' is not true or false"),
        (6, "defaults.seed", "'4.5' is not a whole number"),
    ]


# --- 4. A misspelt model id: the one it most likely means -----------------------------------------------------------

MISSPELT = """version: 1
shots:
  - id: a
    prompt: x
    model: "{model}"
"""


@pytest.mark.parametrize(("typed", "meant"), [
    ("dreamina-seedance-2.0-260128", V20),  # separators
    ("Dreamina_Seedance_2_0_260128", V20),  # case and separators
    ("dreamina-seedance-2-0", V20),  # no date
    ("dreamina-seedance-2-0-250101", V20),  # wrong date
    ("seedance-2-0-260128", V20),  # no dreamina- prefix
    ("doubao-seedance-2-0", V20),  # the other region's prefix
    ("seedance 2.0 fast", "dreamina-seedance-2-0-fast-260128"),  # the family in words
    ("Seedance 2.5", "dreamina-seedance-2-5-260628"),
    ("seedance 2 mini", "dreamina-seedance-2-0-mini-260615"),
    ("dreamina-seedence-2-0-260128", V20),  # typo
    ("dreamina-seedance-2-0-fsat-260128", "dreamina-seedance-2-0-fast-260128"),  # typo in the variant
    ("seedance-1.5-pro", "seedance-1-5-pro-251215"),
    ("seedance-1-0-fast", "seedance-1-0-pro-fast-251015"),
])
def test_a_misspelt_model_gets_the_id_it_means(tmp_path: Path, typed: str, meant: str) -> None:
    line, col, path, message = only(problems(tmp_path, MISSPELT.format(model=typed)))
    assert (line, col, path) == (5, 12, "shots[0].model")
    assert message == f"'{typed}' is not a known model (did you mean '{meant}'?)"


@pytest.mark.parametrize("typed", ["dreamina-seedance-2.0", "seedance 2.0", "Dreamina_Seedance_2_0_260101"])
def test_on_volcengine_the_guess_is_the_volcengine_id(tmp_path: Path, typed: str) -> None:
    region = RegionChoice(Region.VOLCENGINE, "--region")
    line, col, path, message = only(problems(tmp_path, MISSPELT.format(model=typed), region=region))
    assert (line, col, path) == (5, 12, "shots[0].model")
    assert message == f"'{typed}' is not a known model (did you mean 'doubao-seedance-2-0-260128'?)"


@pytest.mark.parametrize("typed", ["seedance-9", "kling-2-0", "gpt-4o"])
def test_nothing_close_points_at_the_model_list(tmp_path: Path, typed: str) -> None:
    line, col, path, message = only(problems(tmp_path, MISSPELT.format(model=typed)))
    assert (line, col, path) == (5, 12, "shots[0].model")
    assert message == f"'{typed}' is not a known model of BytePlus: run orchestrator models for the list"
