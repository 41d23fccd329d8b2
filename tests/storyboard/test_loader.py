"""Reading files: YAML 1.2 scalars, exact positions, duplicate keys, JSON, and unreadable input."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import StoryboardUnreadable
from orchestrator.storyboard.loader import Position, load_document


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_ratios_and_yes_no_stay_strings(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "a.yaml", "ratio: 16:9\nflag: no\non: yes\nn: 5\nf: 0.5\nb: true\n"))
    assert doc.data == {"ratio": "16:9", "flag": "no", "on": "yes", "n": 5, "f": 0.5, "b": True}


def test_positions_of_keys_and_values(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "a.yaml", "version: 1\nshots:\n  - id: a\n    duration:   7\n"))
    assert doc.source.keys[("shots", 0, "duration")] == Position(4, 5)
    assert doc.source.values[("shots", 0, "duration")] == Position(4, 17)
    assert doc.source.locate(("shots", 0, "missing")) == Position(3, 5)


def test_duplicate_keys_are_reported_not_overwritten(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "a.yaml", "version: 1\nname: a\nname: b\n"))
    assert doc.data["name"] == "a"
    [problem] = doc.problems
    assert (problem.line, problem.path) == (3, "name")
    assert "first set on line 2" in problem.message


def test_merge_keys_work(tmp_path: Path) -> None:
    text = "base: &b {duration: 5}\nshot:\n  <<: *b\n  id: x\n"
    assert load_document(write(tmp_path, "a.yaml", text)).data["shot"] == {"duration": 5, "id": "x"}


def test_json_positions(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "a.json", '{\n  "version": 1,\n  "shots": [\n    {"id": "a"}\n  ]\n}\n'))
    assert doc.source.values[("shots", 0, "id")] == Position(4, 12)


@pytest.mark.parametrize(
    ("name", "text", "line", "fragment"),
    [
        ("bad.yaml", "version: 1\nshots:\n  - id: a\n   prompt: x\n", 4, "YAML syntax"),
        ("bad.json", '{\n  "version": 1,\n  "shots": [,]\n}\n', 3, "JSON syntax"),
        ("empty.yaml", "", 1, "found an empty file"),
        ("list.yaml", "- a\n- b\n", 1, "found a list"),
    ],
)
def test_unreadable_files_name_the_line(tmp_path: Path, name: str, text: str, line: int, fragment: str) -> None:
    with pytest.raises(StoryboardUnreadable) as caught:
        load_document(write(tmp_path, name, text), name)
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.line == line
    assert diagnostic.render().startswith(f"{name}:{line}:")
    assert fragment in diagnostic.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StoryboardUnreadable, match="file not found"):
        load_document(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("shots: &s\n  - id: a\n    after: *s\n", 1, "a loop"),
        ("version: !!float abc\n", 1, "'abc' is not a valid float (it is tagged !!float): fix the value or remove"),
        ("version: !!int\n", 1, "'' is not a valid int"),
        ("version: 1\nname: !local x\n", 2, "the tag !local means nothing in a storyboard: remove it"),
    ],
)
def test_hostile_yaml_becomes_a_located_problem(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    doc = load_document(write(tmp_path, "a.yaml", text))
    [problem] = doc.problems
    assert problem.line == line
    assert fragment in problem.message


def test_keys_keep_their_written_text(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path, "a.yaml", "null: 1\n2: b\n"))
    assert doc.data == {"null": 1, "2": "b"}


def test_byte_order_mark_is_not_content(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b'\xef\xbb\xbf{"version": 1}')
    assert load_document(path).data == {"version": 1}


def test_json_line_separators_inside_strings_do_not_shift_lines(tmp_path: Path) -> None:
    text = '{"prompt": "one\u2028two\u0085three",\n "duration": 20}\n'
    doc = load_document(write(tmp_path, "ls.json", text))
    assert doc.data["prompt"] == "one\u2028two\u0085three"
    assert doc.source.values[("duration",)] == Position(2, 14)
