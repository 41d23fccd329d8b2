"""The `assembly:` section: `soundtrack_mix` parses (default duck) and a wrong value is one located error."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import StoryboardInvalid
from orchestrator.storyboard.validate import CheckedStoryboard, check_file

BASE = """\
version: 1
defaults:
  model: dreamina-seedance-2-0-260128
shots:
  - id: a
    prompt: A red apple on a table.
"""


def check(tmp_path: Path, assembly: str) -> CheckedStoryboard:
    path = tmp_path / "board.yaml"
    path.write_text(BASE + assembly, encoding="utf-8")
    return check_file(path, "board.yaml")


@pytest.mark.parametrize(("section", "mix"), [
    ("", "duck"),
    ("assembly:\n  transition: cut\n", "duck"),
    ("assembly:\n  soundtrack_mix: duck\n", "duck"),
    ("assembly:\n  soundtrack_mix: replace\n", "replace"),
])
def test_soundtrack_mix_parses(tmp_path: Path, section: str, mix: str) -> None:
    checked = check(tmp_path, section)
    assert checked.storyboard.assembly.soundtrack_mix == mix


@pytest.mark.parametrize("value", ["mix", "Duck", "true", "1"])
def test_a_wrong_soundtrack_mix_is_one_error_naming_line_and_field(tmp_path: Path, value: str) -> None:
    with pytest.raises(StoryboardInvalid) as caught:
        check(tmp_path, f"assembly:\n  transition: cut\n  soundtrack_mix: {value}\n")
    [line] = str(caught.value).strip().splitlines()
    assert line.startswith("board.yaml:9:19: assembly.soundtrack_mix: "), line
    assert line.endswith("is not allowed (expected 'duck' or 'replace')"), line
