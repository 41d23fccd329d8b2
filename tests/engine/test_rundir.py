"""The run directory's safety: a lock a deleted file cannot free, a journal checked before it is trusted, each take
mirrored beside its files, and an old journal upgraded in place."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.engine.journal import Journal, TakeState
from orchestrator.engine.rundir import JournalDamaged, RunDir, RunDirBusy, RunLock, journal_problem


@pytest.fixture
def run_dir(tmp_path: Path) -> RunDir:
    return RunDir(tmp_path / "runs" / "ad")


def hold_lock_in_another_process(run_dir: RunDir) -> subprocess.Popen[str]:
    """A process that takes the run directory's lock and keeps it until its stdin closes."""
    code = ("import sys; from pathlib import Path; from orchestrator.engine.rundir import RunDir, RunLock; "
            f"lock = RunLock(RunDir(Path({str(run_dir.root)!r}))).acquire(); print('held', flush=True); "
            "sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_process_is_refused_and_told_who_holds_it(run_dir: RunDir) -> None:
    holder = hold_lock_in_another_process(run_dir)
    try:
        with pytest.raises(RunDirBusy) as busy:
            RunLock(run_dir).acquire()
        assert f"in use by process {holder.pid} on " in str(busy.value)
    finally:
        holder.communicate("")
    with RunLock(run_dir):  # free again once the holder is gone
        pass


def test_deleting_the_lock_file_does_not_free_the_lock(run_dir: RunDir) -> None:
    holder = hold_lock_in_another_process(run_dir)
    try:
        (run_dir.root / ".lock").unlink()
        with pytest.raises(RunDirBusy) as busy:
            RunLock(run_dir).acquire()
        assert "in use by another process" in str(busy.value)
    finally:
        holder.communicate("")


def test_the_lock_note_names_the_holder_and_goes_with_it(run_dir: RunDir) -> None:
    with RunLock(run_dir) as lock:
        assert lock.path.read_text(encoding="utf-8").startswith("process ")
    assert not (run_dir.root / ".lock").exists()


def test_a_whole_journal_has_no_problem(run_dir: RunDir) -> None:
    Journal(run_dir.journal).close()
    assert journal_problem(run_dir.journal) is None


@pytest.mark.parametrize(("content", "problem"), [
    (None, "missing"),
    (b"", "empty"),
    (b"SQLite format 3\x00" + b"\x00" * 50, "unreadable"),
    (b"this is not a database at all" * 200, "unreadable"),
])
def test_journal_problems(run_dir: RunDir, content: bytes | None, problem: str) -> None:
    run_dir.root.mkdir(parents=True)
    if content is not None:
        run_dir.journal.write_bytes(content)
    assert (journal_problem(run_dir.journal) or "").startswith(problem)


def test_a_database_of_something_else_is_not_a_journal(run_dir: RunDir) -> None:
    run_dir.root.mkdir(parents=True)
    db = sqlite3.connect(run_dir.journal)
    db.execute("CREATE TABLE notes (x)")
    db.commit()
    db.close()
    assert "not a journal" in (journal_problem(run_dir.journal) or "")


def test_no_journal_and_no_takes_is_a_new_run(run_dir: RunDir) -> None:
    run_dir.check_journal("ad.yaml")  # nothing was ever done here: no refusal


@pytest.mark.parametrize("how", ["missing", "empty"])
def test_no_journal_beside_paid_takes_is_refused_with_the_recovery(run_dir: RunDir, how: str) -> None:
    journal = Journal(run_dir.journal, mirror=run_dir.mirror)
    take = journal.add_intent("pick", "k" * 64, {"prompt": "p"}, 1, 7, {"model": "m"}, run=1)
    journal.set_submitted(take.id, "cgt-1")
    journal.close()
    for extra in ("-wal", "-shm"):
        run_dir.journal.with_name(run_dir.journal.name + extra).unlink(missing_ok=True)
    if how == "missing":
        run_dir.journal.unlink()
    else:
        run_dir.journal.write_bytes(b"")
    with pytest.raises(JournalDamaged) as damaged:
        run_dir.check_journal("ad.yaml")
    message = str(damaged.value)
    assert f"is {how}" in message and "1 take(s)" in message and "orchestrator recover ad.yaml" in message
    assert "\n" not in message


def test_every_journal_write_of_a_take_is_mirrored_beside_its_files(run_dir: RunDir) -> None:
    journal = Journal(run_dir.journal, mirror=run_dir.mirror)
    take = journal.add_intent("pick", "abc123" + "0" * 58, {"prompt": "p"}, 1, 7, {"model": "m"}, run=1)
    record = run_dir.take_record("pick", take.key, 1)
    assert json.loads(record.read_text())["state"] == "intent"
    journal.set_submitted(take.id, "cgt-9")
    journal.add_posts(take.id, 2)
    mirrored = json.loads(record.read_text())
    assert (mirrored["state"], mirrored["task_id"], mirrored["posts"]) == ("submitted", "cgt-9", 2)
    assert record.parent == run_dir.take_dir("pick", take.key)
    assert run_dir.take_records() == [record]
    journal.close()


def test_an_old_journal_gains_the_new_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    journal.add_intent("pick", "k" * 64, {"prompt": "p"}, 1, 7, {"model": "m"}, run=1)
    journal.close()
    db = sqlite3.connect(path)  # as version 1 shipped it, without posts and finished_at
    db.execute("ALTER TABLE takes DROP COLUMN posts")
    db.execute("ALTER TABLE takes DROP COLUMN finished_at")
    db.commit()
    db.close()
    reopened = Journal(path)
    (take,) = reopened.takes()
    assert (take.shot, take.state, take.posts, take.finished_at) == ("pick", TakeState.INTENT, 0, None)
    assert reopened.add_posts(take.id, 3).posts == 3
    reopened.close()
