"""The depth guard: a chain longer than `assembly.max_chain_links` is one warning, at the first shot past the limit
of each branch, counted as the drift report counts links (a last_frame keyframe restarts the count)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestrator.errors import StoryboardInvalid
from orchestrator.storyboard.diagnostics import Diagnostic
from orchestrator.storyboard.validate import check_file
from tests.conftest import STORYBOARDS

HEAD = "version: 1\ndefaults:\n  model: dreamina-seedance-2-0-260128\nshots:\n"
FIRST_SHOT_LINE = 5  # shots[i] is on line 5 + i: one shot per line
REMEDIES = ("colour and detail drift link by link; give one of its shots a last_frame keyframe (the count restarts "
            "there), or start a new chain (a shot without after)")


def shot(shot_id: str, after: str | None = None, keyframe: bool = False) -> str:
    fields = [f"id: {shot_id}", "prompt: x"] + ([f"after: {after}"] if after else []) + \
        (["last_frame: assets/cup.png"] if keyframe else [])
    return "  - {" + ", ".join(fields) + "}\n"


def chain(ids: str, keyframes: str = "") -> list[str]:
    """One shot per letter, each after the one before."""
    return [shot(s, ids[i - 1] if i else None, s in keyframes) for i, s in enumerate(ids)]


def write(folder: Path, shots: list[str], assembly: str = "") -> Path:
    (folder / "assets").mkdir(exist_ok=True)
    shutil.copyfile(STORYBOARDS / "assets" / "cup.png", folder / "assets" / "cup.png")
    path = folder / "board.yaml"
    path.write_text(HEAD + "".join(shots) + assembly, encoding="utf-8")
    return path


def depth_warnings(folder: Path, shots: list[str], assembly: str = "") -> list[Diagnostic]:
    checked = check_file(write(folder, shots, assembly), "board.yaml")
    return [w for w in checked.warnings if "assembly.max_chain_links" in w.message]


def message(link: int, start: str, limit: int = 4) -> str:
    return f"this shot is link {link} of a chain from {start} (assembly.max_chain_links: {limit}): {REMEDIES}"


def located(warnings: list[Diagnostic]) -> list[tuple[int, str, str]]:
    return [(w.line, w.path, w.message) for w in warnings]


def test_four_links_are_no_warning_at_the_default(tmp_path: Path) -> None:
    checked = check_file(write(tmp_path, chain("abcde")), "board.yaml")
    assert checked.storyboard.assembly.max_chain_links == 4
    assert checked.warnings == []


def test_five_links_are_one_warning_at_the_fifth_links_after(tmp_path: Path) -> None:
    checked = check_file(write(tmp_path, chain("abcdef")), "board.yaml")
    expected = message(5, "'a'")
    (warning,) = checked.warnings
    assert (warning.line, warning.path, warning.message) == (FIRST_SHOT_LINE + 5, "shots[5].after", expected)
    assert warning.col == 31  # the value of `after:` in `  - {id: f, prompt: x, after: e}`
    assert warning.render() == f"board.yaml:10:31: warning: shots[5].after: {expected}"


def test_deeper_shots_of_the_same_branch_are_not_warned_again(tmp_path: Path) -> None:
    warnings = depth_warnings(tmp_path, chain("abcdefghij"))
    assert located(warnings) == [(FIRST_SHOT_LINE + 5, "shots[5].after", message(5, "'a'"))]


def test_a_lower_limit_moves_the_warning_to_the_shot_past_it(tmp_path: Path) -> None:
    warnings = depth_warnings(tmp_path, chain("abcdef"), "assembly:\n  max_chain_links: 2\n")
    assert located(warnings) == [(FIRST_SHOT_LINE + 3, "shots[3].after", message(3, "'a'", limit=2))]


def test_null_turns_the_guard_off(tmp_path: Path) -> None:
    checked = check_file(write(tmp_path, chain("abcdefghij"), "assembly:\n  max_chain_links: null\n"), "board.yaml")
    assert checked.storyboard.assembly.max_chain_links is None
    assert checked.warnings == []


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "'4'"])
def test_a_limit_that_is_not_a_positive_whole_number_is_an_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(StoryboardInvalid) as caught:
        check_file(write(tmp_path, chain("ab"), f"assembly:\n  max_chain_links: {value}\n"), "board.yaml")
    assert [d.path for d in caught.value.diagnostics] == ["assembly.max_chain_links"]


def test_a_keyframe_restarts_the_count(tmp_path: Path) -> None:
    # d (link 3) ends on a keyframe: e, f, g are links 1, 2, 3 from it, not 4, 5, 6 from a.
    assert depth_warnings(tmp_path, chain("abcdefg", keyframes="d")) == []
    assert located(depth_warnings(tmp_path, chain("abcdefg"))) == [
        (FIRST_SHOT_LINE + 5, "shots[5].after", message(5, "'a'"))]


def test_past_a_keyframe_the_warning_names_the_keyframe_shot(tmp_path: Path) -> None:
    warnings = depth_warnings(tmp_path, chain("abcdefghi", keyframes="d"))  # i is link 5 from d
    start = "'d' (which ends on a last_frame keyframe)"
    assert located(warnings) == [(FIRST_SHOT_LINE + 8, "shots[8].after", message(5, start))]


def test_a_keyframe_on_the_shot_past_the_limit_silences_it(tmp_path: Path) -> None:
    assert depth_warnings(tmp_path, chain("abcdef", keyframes="f")) == []


def test_two_branches_forking_past_the_limit_are_one_warning_each(tmp_path: Path) -> None:
    # e is link 4; f and g both start on e's last frame (link 5); h continues f (link 6) and is not warned.
    shots = [*chain("abcde"), shot("f", "e"), shot("g", "e"), shot("h", "f")]
    assert located(depth_warnings(tmp_path, shots)) == [
        (FIRST_SHOT_LINE + 5, "shots[5].after", message(5, "'a'")),
        (FIRST_SHOT_LINE + 6, "shots[6].after", message(5, "'a'")),
    ]


def test_a_fork_before_the_limit_warns_each_branch_once(tmp_path: Path) -> None:
    # Two branches from c, each reaching link 6: one warning per branch, at its link 5.
    shots = [*chain("abc"), shot("d1", "c"), shot("e1", "d1"), shot("f1", "e1"), shot("g1", "f1"),
             shot("d2", "c"), shot("e2", "d2"), shot("f2", "e2"), shot("g2", "f2")]
    assert [w.path for w in depth_warnings(tmp_path, shots)] == ["shots[5].after", "shots[9].after"]


def test_separate_chains_are_counted_separately(tmp_path: Path) -> None:
    shots = [*chain("abcde"), shot("p"), shot("q", "p"), shot("r", "q"), shot("s", "r"), shot("t", "s")]
    assert depth_warnings(tmp_path, shots) == []


def test_parents_written_after_their_children_count_the_same(tmp_path: Path) -> None:
    shots = chain("abcdef")[::-1]  # f first in the file, a last
    assert located(depth_warnings(tmp_path, shots)) == [(FIRST_SHOT_LINE, "shots[0].after", message(5, "'a'"))]


def test_a_broken_shot_breaks_the_count_and_the_errors_still_come(tmp_path: Path) -> None:
    # c has an unknown key: its fields, keyframe included, are unknown, so no link past it is counted.
    shots = chain("abcdefgh")
    shots[2] = shots[2].replace("prompt: x", "prompt: x, bogus: 1")
    with pytest.raises(StoryboardInvalid) as caught:
        check_file(write(tmp_path, shots), "board.yaml")
    assert [(d.path, d.severity.value) for d in caught.value.diagnostics] == [("shots[2].bogus", "error")]


def test_a_cycle_is_its_own_error_and_no_depth_warning(tmp_path: Path) -> None:
    shots = [shot("a", "f"), *chain("abcdefgh")[1:]]  # a -> ... -> f -> a, with g, h hanging off the loop
    with pytest.raises(StoryboardInvalid) as caught:
        check_file(write(tmp_path, shots), "board.yaml")
    assert [d.path for d in caught.value.diagnostics] == ["shots[0].after"]
    assert "the chain is a cycle" in caught.value.diagnostics[0].message
