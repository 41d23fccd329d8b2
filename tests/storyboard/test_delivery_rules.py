"""The outputs' delivery settings in the storyboard: a plain list still works and its mistakes are still located at
the entry; the object form's mistakes name their field, line and fix; a trim is checked against the film's length
and an output's soundtrack must exist, all before anything is paid."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from orchestrator.errors import StoryboardInvalid
from orchestrator.storyboard.diagnostics import Diagnostic, Severity
from orchestrator.storyboard.dump import to_yaml
from orchestrator.storyboard.schema import json_schema
from orchestrator.storyboard.validate import check_file
from tests.conftest import run_cli

V20 = "dreamina-seedance-2-0-260128"
HEAD = f"""version: 1
defaults: {{model: {V20}, resolution: 480p, ratio: "16:9", duration: 4}}
shots:
  - {{id: a, prompt: "a red apple"}}
  - {{id: b, after: a, prompt: "the apple rolls"}}
  - {{id: c, prompt: "a blue cup"}}
outputs:
"""


def problems(tmp_path: Path, outputs: str, assembly: str = "") -> list[Diagnostic]:
    path = tmp_path / "board.yaml"
    path.write_text(HEAD + outputs + assembly, encoding="utf-8")
    with pytest.raises(StoryboardInvalid) as info:
        check_file(path, today=date(2026, 6, 1))
    return [d for d in info.value.diagnostics if d.severity is Severity.ERROR]


def lines(found: list[Diagnostic]) -> list[tuple[int, str, str]]:
    return [(d.line, d.path, d.message) for d in found]


def test_a_plain_list_entry_is_still_located_at_the_entry(tmp_path: Path) -> None:
    found = problems(tmp_path, "  main: [a, b, d]\n")
    assert [(d.line, d.col, d.path) for d in found] == [(8, 16, "outputs.main[2]")]
    assert found[0].message.startswith("'d' names no shot")
    found = problems(tmp_path, "  main: [a, 3]\n")
    assert [(d.line, d.col, d.path) for d in found] == [(8, 13, "outputs.main[1]")]


def test_the_object_form_names_each_field_with_its_fix(tmp_path: Path) -> None:
    found = problems(tmp_path, "  hd:\n    shots: [a, b]\n    fps: 23\n    sise: 720p\n")
    assert lines(found) == [
        (10, "outputs.hd.fps", "23 is not allowed (expected 24, 25 or 30)"),
        (11, "outputs.hd.sise", "unknown key 'sise' (did you mean 'size'?)"),
    ]
    found = problems(tmp_path, "  hd: {shots: [a, x], size: 4k}\n")
    assert [(d.path, d.message.split(" (")[0]) for d in found] == [
        ("outputs.hd.size", "'4k' is not allowed")]


def test_a_trim_past_the_film_or_backwards_is_refused_at_its_line(tmp_path: Path) -> None:
    found = problems(tmp_path, "  cut:\n    shots: [a, b, c]\n    trim: {start: 1, end: 12.5}\n")
    # 97 + 96 + 97 frames: 290 / 24 = 12.08 s
    assert lines(found) == [(10, "outputs.cut.trim.end",
                             "12.5 s is past the film's end: 'cut' is 12.08 s long (290 frames at 24 fps)")]
    found = problems(tmp_path, "  cut: {shots: [a, b], trim: {start: 3, end: 2}}\n")
    keeps_none = ("keeps no frame after trim.start (3 s): the out point must come at least one frame (1/24 s) after "
                  "the in point")
    assert lines(found) == [(8, "outputs.cut.trim.end", f"2 s {keeps_none}")]
    # 3.01 s is frame 72, as 3 s is: the trim would keep nothing, though the seconds differ
    found = problems(tmp_path, "  cut: {shots: [a, b], trim: {start: 3, end: 3.01}}\n")
    assert lines(found) == [(8, "outputs.cut.trim.end", f"3.01 s {keeps_none}")]
    # 4.03 s rounds to frame 97, the first past a 97-frame film: it may look inside the film's 4.04 s, it is not
    found = problems(tmp_path, "  cut: {shots: [a], trim: {start: 4.03}}\n")
    assert lines(found) == [(8, "outputs.cut.trim.start",
                             "4.03 s is at or past the film's end: 'cut' is 4.04 s long (97 frames at 24 fps)")]
    crossfaded = problems(tmp_path, "  cut: {shots: [a, c], trim: {end: 8}}\n",
                          "assembly: {transition: crossfade, crossfade_seconds: 0.5}\n")
    assert lines(crossfaded) == [(8, "outputs.cut.trim.end", "8 s is past the film's end: 'cut' is 7.58 s long "
                                  "(182 frames at 24 fps)")]  # 194 - 12 frames


def test_a_trim_the_storyboard_cannot_check_says_so(tmp_path: Path) -> None:
    path = tmp_path / "board.yaml"
    path.write_text(HEAD.replace("duration: 4}", "duration: -1}") + "  cut: {shots: [a], trim: {start: 14}}\n",
                    encoding="utf-8")
    warned = [d for d in check_file(path, today=date(2026, 6, 1)).warnings if d.path.startswith("outputs")]
    assert lines(warned) == [(8, "outputs.cut.trim.start", "'cut' has a shot whose length the model decides "
                              "(duration -1): the trim can only be checked when the film is made, after the shots "
                              "are paid for")]


def test_an_outputs_own_soundtrack_must_exist_here(tmp_path: Path) -> None:
    found = problems(tmp_path, "  main: {shots: [a], soundtrack: music/bed.mp3}\n")
    assert [(d.line, d.path) for d in found] == [(8, "outputs.main.soundtrack")]
    assert "file not found: music/bed.mp3" in found[0].message
    url = "https://example.com/bed.mp3"
    found = problems(tmp_path, f"  main: {{shots: [a], soundtrack: '{url}'}}\n",
                     f"assembly: {{audio: soundtrack, soundtrack: '{url}'}}\n")
    assert lines(found) == [
        (8, "outputs.main.soundtrack", f"'{url}' is a URL: a soundtrack must be a local audio file (download it "
         "and give its path)"),
        (9, "assembly.soundtrack", f"'{url}' is a URL: a soundtrack must be a local audio file (download it and "
         "give its path)")]


def test_a_bad_delivery_costs_nothing_and_exits_2_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "board.yaml"
    path.write_text(HEAD + "  cut: {shots: [a, b, c], trim: {start: 13}}\n", encoding="utf-8")
    result = run_cli("run", path, "--out", tmp_path / "runs", "--yes")
    assert result.code == 2
    assert result.stderr.strip().splitlines()[0] == (
        f"{path}:8:41: outputs.cut.trim.start: 13 s is at or past the film's end: 'cut' is 12.08 s long (290 "
        "frames at 24 fps)")
    assert not (tmp_path / "runs").exists()


def test_valid_delivery_round_trips_and_is_in_the_json_schema(tmp_path: Path) -> None:
    path = tmp_path / "board.yaml"
    path.write_text(HEAD + "  main: [a, b, c]\n  hd: {shots: [a, b], size: 1080p, fps: 25, fit: pad, "
                    "trim: {start: 0.5}, fade_out_seconds: 0.25, loudness_lufs: null}\n", encoding="utf-8")
    checked = check_file(path, today=date(2026, 6, 1))
    assert checked.outputs == {"main": ["a", "b", "c"], "hd": ["a", "b"]}
    again = tmp_path / "again.yaml"
    again.write_text(to_yaml(checked.storyboard), encoding="utf-8")
    assert check_file(again, today=date(2026, 6, 1)).storyboard == checked.storyboard
    assert "main:\n  - a\n" in again.read_text(encoding="utf-8")  # a plain list stays a plain list
    one = next(iter(json_schema()["properties"]["outputs"]["anyOf"][0]["patternProperties"].values()))
    assert [kind.get("type") or kind.get("$ref") for kind in one["anyOf"]] == ["array", "#/$defs/Output"]
