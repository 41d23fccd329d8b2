"""A run directory the machine will not let the run use, end to end over a real socket: every refusal is one line
naming the path, the reason and the fix; what is found before anything is paid exits 2 with no create on the
provider, and a full disk in the middle of a run exits 1 with the journal consistent, the next run finishing without
paying again.

How the faults are made, nothing in the engine patched:
- a damaged journal, a file or a folder where the other must be, a name too long: the files themselves;
- a read-only outputs/: `chmod 0o555` (skipped as root, whom permissions do not stop) and, as anyone, a read-only bind
  mount in a mount namespace of its own (`unshare -rm`; skipped where the machine allows none);
- a full disk while the film is written: the kernel's `/dev/full` (every write fails with ENOSPC), put in place of the
  film's output by an ffmpeg wrapper chosen with ORCHESTRATOR_FFMPEG (ffmpeg writes the film; the wrapper changes
  only its output path, ffmpeg meets the real ENOSPC), and a 32 KiB tmpfs mounted on outputs/ (namespace as above).
"""

from __future__ import annotations

import functools
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest

from orchestrator.binaries import ffmpeg_binary
from orchestrator.engine.journal import Journal
from orchestrator.engine.rundir import RunDir
from orchestrator.errors import RunWriteFailed
from orchestrator.models import frames_for
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import CliResult, run_cli
from tests.e2e.children import command, env
from tests.e2e.conftest import probe_film, requests_made, run, takes
from tests.e2e.test_faults import SECONDS, write_storyboard

NAME = "faults"  # write_storyboard's storyboard name: the run directory is <out>/faults
ROOT = os.geteuid() == 0
TMPFS = 'mount -t tmpfs -o size=32k tmpfs "$0" && exec "$@"'
READ_ONLY = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
RESUMES = "then run the same command again and it resumes without paying again for what is done"


def error_line(stderr: str) -> str:
    """The one error line; `run` may print one notice before it (which provider it talks to), nothing else."""
    lines = [line for line in stderr.splitlines() if not line.startswith("provider: ")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    return lines[0]


def only_line(result: CliResult) -> str:
    """stderr is exactly one line (refused before any backend started)."""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    return error_line(result.stderr)


def paid(sim: SimulatorServer) -> tuple[int, int]:
    """Create requests the simulator answered, and tasks it made."""
    return requests_made(sim).get("requests.create", 0), sim.stats()["counters"].get("tasks_created", 0)


@functools.cache
def namespace_unavailable(script: str) -> str | None:
    """Why this machine cannot run `script` in a user and mount namespace of its own (None: it can)."""
    if shutil.which("unshare") is None:
        return "no unshare(1) here"
    with tempfile.TemporaryDirectory() as folder:
        try:
            done = subprocess.run(["unshare", "-rm", "sh", "-c", script, folder, "true"], capture_output=True,
                                  text=True, timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"unshare -rm failed: {exc}"
    return None if done.returncode == 0 else f"no mount namespace here (unshare -rm: {done.stderr.strip()})"


def run_in_namespace(script: str, target: Path, storyboard: Path, out: Path, base_url: str) -> tuple[int, str]:
    """`orchestrator run` in a process of its own whose `target` is mounted by `script`; exit code and stderr."""
    reason = namespace_unavailable(script)
    if reason is not None:
        pytest.skip(reason)
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script, str(target), *command(storyboard, out)],
                          cwd=storyboard.parent, env=env(base_url), capture_output=True, text=True, timeout=180,
                          check=False)
    return done.returncode, done.stderr


# -- a journal sqlite cannot read -------------------------------------------------------------------------------------


def test_a_journal_sqlite_cannot_read_is_refused_by_run_plan_and_status_and_never_replaced(
        ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, [{"id": "a"}])
    out = tmp_path / "runs"
    journal = out / NAME / "journal.sqlite"
    journal.parent.mkdir(parents=True)
    journal.write_bytes(b"overwritten by something else entirely " * 100)

    refused = {"run": run(storyboard, out), "plan": run_cli("plan", storyboard, "--out", out),
               "status": run_cli("status", storyboard, "--out", out)}

    for command_name, result in refused.items():
        assert result.code == 2, (command_name, result.stderr)
        line = only_line(result)
        assert line == (f"orchestrator: {journal}: the journal is unreadable (file is not a database), and shots/ "
                        "holds no take records to rebuild it from, so `orchestrator recover` cannot help; move it "
                        "away to start this run afresh (anything it recorded would be made and paid again), or give "
                        "another --out"), command_name
    assert requests_made(ark) == {}  # refused before the backend was even opened
    assert journal.read_bytes() == b"overwritten by something else entirely " * 100  # never started afresh


def test_a_journal_damaged_beside_paid_takes_names_the_recovery_and_nothing_is_paid_again(
        ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, [{"id": "a"}])
    out = tmp_path / "runs"
    run_dir = RunDir(out / NAME)
    journal = Journal(run_dir.journal, mirror=run_dir.mirror)  # a take paid for: its record is kept beside its files
    take = journal.add_intent("a", "k" * 64, {"prompt": "p"}, 1, 7, {"model": "m"}, run=1)
    journal.set_submitted(take.id, "cgt-paid")
    journal.close()
    for extra in ("-wal", "-shm"):
        run_dir.journal.with_name(run_dir.journal.name + extra).unlink(missing_ok=True)
    data = bytearray(run_dir.journal.read_bytes())
    data[100:] = b"\xa5" * (len(data) - 100)  # everything after the header overwritten
    run_dir.journal.write_bytes(bytes(data))

    refused = [run(storyboard, out), run_cli("plan", storyboard, "--out", out),
               run_cli("status", storyboard, "--out", out)]

    for result in refused:
        assert result.code == 2, result.stderr
        line = only_line(result)
        assert line.startswith(f"orchestrator: {run_dir.journal}: the journal is ")
        assert line.endswith(f"but shots/ holds 1 take(s) of earlier runs; rebuild it from them with `orchestrator "
                             f"recover {storyboard}` (no provider call), or move {run_dir.root} away to start over")
    assert requests_made(ark) == {}
    assert run_dir.journal.read_bytes() == bytes(data)


# -- a run directory that cannot be written, found before anything is paid --------------------------------------------


def test_outputs_that_is_a_file_is_refused_before_any_create(
        ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, [{"id": "a"}])
    out = tmp_path / "runs"
    outputs = out / NAME / "outputs"
    outputs.parent.mkdir(parents=True)
    outputs.write_text("not a folder\n")

    refused = run(storyboard, out)

    assert refused.code == 2, refused.stderr
    assert error_line(refused.stderr) == (f"orchestrator: {outputs}: is a file, where a folder must be; move it "
                                          "away, or give another --out")
    assert paid(ark) == (0, 0)
    assert outputs.read_text() == "not a folder\n"


@pytest.mark.skipif(ROOT, reason="running as root: chmod does not stop root from writing (the read-only bind mount "
                                 "and outputs-is-a-file tests cover this as root)")
def test_a_read_only_outputs_folder_is_refused_before_any_create(ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, [{"id": "a"}])
    out = tmp_path / "runs"
    outputs = out / NAME / "outputs"
    outputs.mkdir(parents=True)
    outputs.chmod(0o555)
    try:
        refused = run(storyboard, out)
    finally:
        outputs.chmod(0o755)

    assert refused.code == 2, refused.stderr
    assert error_line(refused.stderr) == (f"orchestrator: {outputs}: permission denied; make it writable for this "
                                          "user, or give another --out")
    assert paid(ark) == (0, 0)


def test_outputs_on_a_read_only_file_system_is_refused_before_any_create(ark: SimulatorServer,
                                                                         tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, [{"id": "a"}])
    out = tmp_path / "runs"
    outputs = out / NAME / "outputs"
    outputs.mkdir(parents=True)

    code, stderr = run_in_namespace(READ_ONLY, outputs, storyboard, out, ark.base_url)

    assert code == 2, stderr
    assert error_line(stderr) == (f"orchestrator: {outputs}: the file system is read-only; give an --out on a "
                                  "writable file system")
    assert paid(ark) == (0, 0)


@pytest.mark.skipif(ROOT, reason="running as root: chmod does not stop root from writing")
def test_a_folder_of_run_directories_without_write_permission_is_one_line(ark: SimulatorServer,
                                                                          tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, [{"id": "a"}])
    out = tmp_path / "runs"
    out.mkdir()
    out.chmod(0o555)
    try:
        refused = run(storyboard, out)
    finally:
        out.chmod(0o755)

    assert refused.code == 2, refused.stderr
    line = error_line(refused.stderr)
    assert line.startswith(f"orchestrator: {out}: permission denied") and "give another --out" in line
    assert paid(ark) == (0, 0)


@pytest.mark.parametrize("name", [".lock", "events.jsonl"], ids=["the lock note", "the event log"])
def test_a_folder_where_a_file_of_the_run_goes_is_one_line_before_any_create(ark: SimulatorServer, tmp_path: Path,
                                                                            name: str) -> None:
    storyboard = write_storyboard(tmp_path, [{"id": "a"}])
    out = tmp_path / "runs"
    in_the_way = out / NAME / name
    in_the_way.mkdir(parents=True)

    refused = run(storyboard, out)

    assert refused.code == 2, refused.stderr
    assert error_line(refused.stderr) == (f"orchestrator: {in_the_way}: a folder is where a file must be; move the "
                                          "folder away")
    assert paid(ark) == (0, 0)


@pytest.mark.parametrize("blocker", ["run-dir", "out"])
def test_a_file_where_the_run_directory_must_be_is_refused_by_run_and_plan(ark: SimulatorServer, tmp_path: Path,
                                                                           blocker: str) -> None:
    storyboard = write_storyboard(tmp_path, [{"id": "a"}])
    out = tmp_path / "runs"
    in_the_way = out / NAME if blocker == "run-dir" else out
    in_the_way.parent.mkdir(parents=True, exist_ok=True)
    in_the_way.write_text("a file\n")
    note = "" if blocker == "run-dir" else f" (the run directory is to be {out / NAME})"

    for result in (run(storyboard, out), run_cli("plan", storyboard, "--out", out)):
        assert result.code == 2, result.stderr
        assert only_line(result) == (f"orchestrator: {in_the_way}: is a file, where a folder must be{note}; move it "
                                     "away, or give another --out")
    assert requests_made(ark) == {}
    assert in_the_way.read_text() == "a file\n"


def test_a_run_directory_name_too_long_for_the_file_system_is_one_line(ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, [{"id": "a"}])
    out = tmp_path / ("o" * 300)

    for result in (run(storyboard, out), run_cli("plan", storyboard, "--out", out),
                   run_cli("status", storyboard, "--out", out)):
        assert result.code == 2, result.stderr
        line = only_line(result)
        assert line.startswith(f"orchestrator: {out / NAME}") and "too long for the file system" in line, line
        assert line.endswith("give a shorter --out or storyboard name")
    assert requests_made(ark) == {}


# -- a full disk in the middle of a run -------------------------------------------------------------------------------


def ffmpeg_writing_films_to_dev_full(folder: Path) -> Path:
    """An ffmpeg that is the real one, except that a film's output (`outputs/.<name>.<hex>.part.mp4`) is /dev/full."""
    wrapper = folder / "ffmpeg-films-to-dev-full"
    wrapper.write_text("#!/bin/sh\n"
                       "for arg do\n"
                       "  shift\n"
                       "  case $arg in\n"
                       "    */outputs/.*.part.mp4) set -- \"$@\" /dev/full ;;\n"
                       "    *) set -- \"$@\" \"$arg\" ;;\n"
                       "  esac\n"
                       "done\n"
                       f"exec '{ffmpeg_binary()}' \"$@\"\n", encoding="utf-8")
    wrapper.chmod(0o755)
    return wrapper


def assert_resumes_without_paying(ark: SimulatorServer, storyboard: Path, out: Path) -> None:
    """The shot was paid once and is journaled as downloaded; the next run makes the film and creates nothing."""
    run_dir = out / NAME
    assert paid(ark) == (1, 1)
    assert [r["state"] for r in takes(run_dir)] == ["downloaded"]
    assert not (run_dir / "outputs" / "main.mp4").exists()

    again = run(storyboard, out)

    assert again.code == 0, again.stderr
    assert paid(ark) == (1, 1)
    assert probe_film(run_dir / "outputs" / "main.mp4").frames == frames_for(SECONDS)
    assert [r["state"] for r in takes(run_dir)] == ["downloaded"]


def test_a_full_disk_while_the_film_is_written_stops_the_run_in_one_line_and_the_next_run_pays_nothing(
        ark: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storyboard = write_storyboard(tmp_path, [{"id": "a"}])
    out = tmp_path / "runs"
    monkeypatch.setenv("ORCHESTRATOR_FFMPEG", str(ffmpeg_writing_films_to_dev_full(tmp_path)))

    full = run(storyboard, out)

    assert full.code == 1, full.stderr
    assert error_line(full.stderr) == (f"orchestrator: {out / NAME}: cannot write outputs/main.mp4: no space left on "
                                       f"the device; the journal is consistent: free some space on its disk, {RESUMES}")
    monkeypatch.delenv("ORCHESTRATOR_FFMPEG")
    assert_resumes_without_paying(ark, storyboard, out)


def test_a_full_tmpfs_under_outputs_stops_the_run_in_one_line_and_the_next_run_pays_nothing(
        ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, [{"id": "a"}])
    out = tmp_path / "runs"
    (out / NAME / "outputs").mkdir(parents=True)

    code, stderr = run_in_namespace(TMPFS, out / NAME / "outputs", storyboard, out, ark.base_url)

    assert code == 1, stderr
    line = error_line(stderr)
    assert line.startswith(f"orchestrator: {out / NAME}: ") and "no space left on the device" in line, line
    assert line.endswith(f"the journal is consistent: free some space on its disk, {RESUMES}")
    assert_resumes_without_paying(ark, storyboard, out)


def test_a_journal_write_on_a_full_disk_is_a_run_write_failure_and_the_journal_keeps_what_it_had(
        tmp_path: Path) -> None:
    path = tmp_path / NAME / "journal.sqlite"
    journal = Journal(path)
    kept = journal.add_intent("a", "k" * 64, {"prompt": "p"}, 1, 7, {"model": "m"}, run=1)
    pages = journal._db.execute("PRAGMA page_count").fetchone()[0]
    journal._db.execute(f"PRAGMA max_page_count = {pages}")  # sqlite's own SQLITE_FULL, as on a full disk

    with pytest.raises(RunWriteFailed) as full:
        for n in range(200):
            journal.add_intent(f"shot{n}", "x" * 64, {"prompt": "p" * 2000}, 1, n, {"model": "m"}, run=1)
    journal.close()

    assert full.value.exit_code == 1
    assert str(full.value).startswith(f"{tmp_path / NAME}: cannot write journal.sqlite: no space left on the device "
                                      "(sqlite: database or disk is full); the journal is consistent: ")
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT id, shot FROM takes ORDER BY id").fetchall()[0] == (kept.id, "a")
        assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    finally:
        db.close()
