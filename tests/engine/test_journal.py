"""The journal (DESIGN.md §5): every take's state transitions are durable, queryable by shot and key, and the live
take of a key follows fixed rules."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.engine.journal import JOURNAL_VERSION, Journal, Take, TakeState, live_take
from orchestrator.engine.keys import Params
from tests.conftest import REPO

KEY_A = "a" * 64
KEY_B = "b" * 64
PARAMS: Params = {"prompt": "an apple", "model": "m", "seed": None}
REQUEST = {"model": "m", "seed": 11, "content": [{"type": "text", "text": "an apple"}]}


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "run" / "journal.sqlite")
    yield j
    j.close()


def intent(journal: Journal, shot: str = "pick", key: str = KEY_A, seed: int = 11, run: int = 1) -> Take:
    return journal.add_intent(shot, key, PARAMS, attempt=1, seed=seed, request=REQUEST, run=run)


def test_new_journal_creates_its_folder_and_records_its_version(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "journal.sqlite"
    j = Journal(path)
    try:
        assert path.is_file()
        assert j.meta("version") == str(JOURNAL_VERSION)
        assert j.takes() == []
        assert j.task_ids() == set()
        assert j.last_run() is None
    finally:
        j.close()


def test_intent_is_recorded_with_its_inputs(journal: Journal) -> None:
    take = intent(journal)
    assert take.state is TakeState.INTENT
    assert (take.shot, take.key, take.attempt, take.seed, take.run) == ("pick", KEY_A, 1, 11, 1)
    assert take.params == PARAMS
    assert take.request == REQUEST
    assert take.task_id is None
    assert take.polls == 0
    assert take.retryable is None
    assert take.folder_name == KEY_A[:12]
    assert take.intent_at == take.updated_at
    assert journal.take(take.id) == take


def test_a_take_moves_intent_submitted_succeeded_downloaded(journal: Journal) -> None:
    take = intent(journal)
    submitted = journal.set_submitted(take.id, "cgt-1")
    assert submitted.state is TakeState.SUBMITTED
    assert submitted.task_id == "cgt-1"
    assert submitted.updated_at >= take.updated_at
    done = journal.set_succeeded(take.id, "https://v/clip.mp4", "https://v/last.png", 1000, 0.25)
    assert done.state is TakeState.SUCCEEDED
    assert (done.video_url, done.frame_url, done.tokens, done.usd) == ("https://v/clip.mp4", "https://v/last.png",
                                                                       1000, 0.25)
    assert done.urls_at is not None
    framed = journal.set_frame(take.id, "f" * 64, 1234)
    assert (framed.frame_sha, framed.frame_size) == ("f" * 64, 1234)
    assert framed.state is TakeState.SUCCEEDED
    renewed = journal.set_urls(take.id, "https://v/clip2.mp4", None)
    assert (renewed.video_url, renewed.frame_url) == ("https://v/clip2.mp4", None)
    final = journal.set_downloaded(take.id, "c" * 64, 5678)
    assert final.state is TakeState.DOWNLOADED
    assert (final.clip_sha, final.clip_size) == ("c" * 64, 5678)
    # Earlier fields survive later transitions.
    assert (final.task_id, final.tokens, final.usd, final.frame_sha) == ("cgt-1", 1000, 0.25, "f" * 64)


@pytest.mark.parametrize("state", [TakeState.FAILED, TakeState.EXPIRED, TakeState.CANCELLED])
def test_set_ended_records_why(journal: Journal, state: TakeState) -> None:
    take = intent(journal)
    journal.set_submitted(take.id, "cgt-x")
    ended = journal.set_ended(take.id, state, "OutputVideoSensitiveContentDetected", "moderated", True)
    assert ended.state is state
    assert state.ended_badly
    assert (ended.error_code, ended.error_message, ended.retryable) == ("OutputVideoSensitiveContentDetected",
                                                                       "moderated", True)
    assert journal.set_ended(take.id, state, None, None, False).retryable is False


def test_only_failed_expired_cancelled_end_badly() -> None:
    assert {s for s in TakeState if s.ended_badly} == {TakeState.FAILED, TakeState.EXPIRED, TakeState.CANCELLED}


def test_polls_accumulate(journal: Journal) -> None:
    take = intent(journal)
    journal.add_polls(take.id, 3)
    journal.add_polls(take.id, 4)
    assert journal.take(take.id).polls == 7


def test_task_ids_are_every_owned_task_and_unique(journal: Journal) -> None:
    one, two, three = intent(journal), intent(journal, "shake"), intent(journal, "pour")
    journal.set_submitted(one.id, "cgt-1")
    journal.set_submitted(two.id, "cgt-2")
    assert journal.task_ids() == {"cgt-1", "cgt-2"}
    with pytest.raises(sqlite3.IntegrityError):
        journal.set_submitted(three.id, "cgt-1")
    assert journal.take(three.id).task_id is None
    assert journal.take(three.id).state is TakeState.INTENT


def test_takes_and_of_key_filter_and_keep_oldest_first(journal: Journal) -> None:
    a1 = intent(journal, "pick", KEY_A)
    b1 = intent(journal, "pick", KEY_B)
    other = intent(journal, "shake", KEY_A)
    a2 = intent(journal, "pick", KEY_A)
    assert [t.id for t in journal.of_key("pick", KEY_A)] == [a1.id, a2.id]
    assert [t.id for t in journal.of_key("pick", KEY_B)] == [b1.id]
    assert [t.id for t in journal.of_key("shake", KEY_A)] == [other.id]
    assert journal.of_key("shake", KEY_B) == []
    assert [t.id for t in journal.takes("pick")] == [a1.id, b1.id, a2.id]
    assert [t.id for t in journal.takes()] == [a1.id, b1.id, other.id, a2.id]


def _in(journal: Journal, state: TakeState, task: str | None = None) -> Take:
    take = intent(journal)
    if state is TakeState.INTENT:
        return take
    journal.set_submitted(take.id, task or f"cgt-{take.id}")
    if state is TakeState.SUBMITTED:
        return journal.take(take.id)
    if state.ended_badly:
        return journal.set_ended(take.id, state, "E", "m", False)
    journal.set_succeeded(take.id, None, None, 1, 0.1)
    if state is TakeState.SUCCEEDED:
        return journal.take(take.id)
    return journal.set_downloaded(take.id, "c" * 64, 1)


def test_live_take_prefers_the_newest_downloaded(journal: Journal) -> None:
    old_done = _in(journal, TakeState.DOWNLOADED)
    new_done = _in(journal, TakeState.DOWNLOADED)
    later_going = _in(journal, TakeState.SUBMITTED)
    assert live_take([old_done, new_done, later_going]) == new_done
    assert live_take([old_done, later_going]) == old_done


def test_live_take_else_the_newest_not_ended_badly(journal: Journal) -> None:
    going_old = _in(journal, TakeState.INTENT)
    going_new = _in(journal, TakeState.SUCCEEDED)
    failed = _in(journal, TakeState.FAILED)
    assert live_take([going_old, going_new, failed]) == going_new
    assert live_take([going_old, failed]) == going_old


@pytest.mark.parametrize("state", [TakeState.FAILED, TakeState.EXPIRED, TakeState.CANCELLED])
def test_live_take_is_none_when_every_take_ended_badly(journal: Journal, state: TakeState) -> None:
    assert live_take([_in(journal, state), _in(journal, TakeState.FAILED)]) is None


def test_live_take_of_nothing_is_none() -> None:
    assert live_take([]) is None


def test_variants_default_to_zero_and_are_stored_per_shot(journal: Journal) -> None:
    assert journal.variant("pick") == 0
    journal.set_variant("pick", 1)
    journal.set_variant("pick", 2)
    journal.set_variant("shake", 5)
    assert (journal.variant("pick"), journal.variant("shake"), journal.variant("pour")) == (2, 5, 0)


def test_meta_set_get_and_overwrite(journal: Journal) -> None:
    assert journal.meta("storyboard") is None
    journal.set_meta("storyboard", "/a/b.yaml")
    journal.set_meta("storyboard", "/c/d.yaml")
    assert journal.meta("storyboard") == "/c/d.yaml"


def test_runs_begin_and_end(journal: Journal) -> None:
    first = journal.begin_run("tea-ad.yaml")
    second = journal.begin_run("tea-ad.yaml")
    assert second == first + 1
    last = journal.last_run()
    assert last is not None
    assert (last["id"], last["storyboard"], last["ended_at"], last["exit_code"]) == (second, "tea-ad.yaml", None,
                                                                                      None)
    journal.end_run(second, 1, {"failed": {"pick": "boom"}, "usd": 0.5})
    last = journal.last_run()
    assert last is not None
    assert last["exit_code"] == 1
    assert last["ended_at"] >= last["started_at"]
    assert json.loads(last["summary"]) == {"failed": {"pick": "boom"}, "usd": 0.5}


def _fill(journal: Journal) -> tuple[int, int]:
    run = journal.begin_run("s.yaml")
    journal.set_meta("storyboard", "s.yaml")
    journal.set_variant("pick", 3)
    take = intent(journal, run=run)
    journal.set_submitted(take.id, "cgt-9")
    journal.set_succeeded(take.id, "https://v", "https://f", 10, 0.5)
    journal.set_frame(take.id, "f" * 64, 9)
    journal.set_downloaded(take.id, "c" * 64, 99)
    journal.add_polls(take.id, 2)
    pending = intent(journal, "shake", run=run)
    return take.id, pending.id


def _check(journal: Journal, done_id: int, pending_id: int) -> None:
    done = journal.take(done_id)
    assert done.state is TakeState.DOWNLOADED
    assert (done.task_id, done.clip_sha, done.clip_size, done.frame_sha, done.polls) == ("cgt-9", "c" * 64, 99,
                                                                                       "f" * 64, 2)
    assert (done.tokens, done.usd, done.video_url) == (10, 0.5, "https://v")
    assert journal.take(pending_id).state is TakeState.INTENT
    assert journal.task_ids() == {"cgt-9"}
    assert journal.variant("pick") == 3
    assert journal.meta("storyboard") == "s.yaml"
    last = journal.last_run()
    assert last is not None
    assert last["storyboard"] == "s.yaml"


def test_reopened_journal_keeps_every_write(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    first = Journal(path)
    ids = _fill(first)
    first.close()
    again = Journal(path)
    try:
        _check(again, *ids)
        assert again.meta("version") == str(JOURNAL_VERSION)
    finally:
        again.close()


def test_a_crashed_writer_leaves_every_committed_write_readable(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    crashed = Journal(path)  # never closed: stands for a process killed after its last write
    ids = _fill(crashed)
    survivor = Journal(path)
    try:
        _check(survivor, *ids)
        # ... and the survivor can carry on writing beside the dead connection.
        survivor.set_submitted(ids[1], "cgt-10")
        assert survivor.task_ids() == {"cgt-9", "cgt-10"}
    finally:
        survivor.close()
        crashed.close()


_KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from orchestrator.engine.journal import Journal
j = Journal(Path(sys.argv[1]))
t = j.add_intent("pick", "a" * 64, {"prompt": "p"}, 1, 5, {"model": "m"}, 1)
j.set_submitted(t.id, "cgt-killed")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_process_leaves_its_committed_writes(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    proc = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(path)], cwd=REPO, capture_output=True,
                          timeout=60)
    assert proc.returncode == -9, proc.stderr
    survivor = Journal(path)
    try:
        [take] = survivor.takes()
        assert (take.state, take.task_id, take.seed) == (TakeState.SUBMITTED, "cgt-killed", 5)
        assert survivor.task_ids() == {"cgt-killed"}
    finally:
        survivor.close()


def test_journal_uses_wal_and_syncs_only_the_intent(journal: Journal, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    db = sqlite3.connect(tmp_path / "run" / "journal.sqlite")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()
    seen: list[int] = []
    real = journal._db

    class Spy:
        """Records the sync level in force at each INSERT into takes."""

        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            if sql.startswith("INSERT INTO takes"):
                seen.append(real.execute("PRAGMA synchronous").fetchone()[0])
            return real.execute(sql, *args)

    monkeypatch.setattr(journal, "_db", Spy())
    journal.add_intent("a", "k" * 64, {}, 1, 5, {}, 1)
    assert seen == [2]  # FULL: a create that may happen must survive even a power loss
    assert real.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL for everything that can be redone
