"""How a batch is named and watched: a folder stands for its storyboards, and one table shows every storyboard."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from orchestrator.cli.batch import storyboard_files
from orchestrator.cli.progress import BatchTable, plain_lines
from orchestrator.errors import ConfigError


def test_a_folder_stands_for_the_storyboards_directly_in_it_each_file_once(tmp_path: Path) -> None:
    for name in ("b.yaml", "a.yml", "c.json", "notes.txt", "assets/x.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}", encoding="utf-8")

    files = storyboard_files([tmp_path, tmp_path / "b.yaml"])

    assert [f.name for f in files] == ["a.yml", "b.yaml", "c.json"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="empty: no storyboard in this folder"):
        storyboard_files([tmp_path / "empty"])


def test_the_batch_table_counts_each_storyboards_shots_by_state_and_its_exit() -> None:
    out = io.StringIO()
    table = BatchTable(Console(file=out, width=100, force_terminal=False), ["ad-en", "ad-fr"])
    table({"event": "run_started", "storyboard": "ad-en", "currency": "USD", "decisions": {"a": "generate",
                                                                                           "b": "generate"}})
    table({"event": "run_started", "storyboard": "ad-fr", "currency": "USD", "decisions": {"a": "reuse"}})
    table({"event": "submitted", "storyboard": "ad-en", "shot": "a"})
    table({"event": "succeeded", "storyboard": "ad-en", "shot": "b", "usd": 0.5})
    table({"event": "downloaded", "storyboard": "ad-en", "shot": "b"})
    table({"event": "failed", "storyboard": "ad-fr", "shot": "a"})
    table({"event": "run_finished", "storyboard": "ad-fr", "exit_code": 1})

    Console(file=out, width=100).print(table._table())
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]] for line in
            out.getvalue().splitlines() if line.startswith("│")}
    assert rows["ad-en"] == ["2", "1", "", "1", "", "", "", ""]  # shots, queued, running, done, ..., run
    assert rows["ad-fr"] == ["1", "", "", "", "", "1", "", "exit 1"]
    assert "2 storyboards · spent $0.50" in out.getvalue()


def test_plain_lines_of_a_batch_start_with_the_storyboard() -> None:
    out = io.StringIO()
    watch = plain_lines(out, prefixed=True)
    watch({"event": "submitted", "storyboard": "ad-en", "shot": "a", "task_id": "cgt-1"})
    assert out.getvalue() == "ad-en: a submitted task_id=cgt-1\n"
