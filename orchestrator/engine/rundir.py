"""The run directory: where each file of a run lives, the lock that keeps it to one process, and the
check that its journal is whole before anything trusts it.

    <out>/<name>/journal.sqlite  shots/<id>/<key12>/{clip.mp4,last_frame.png,task.json,take-<n>.json}  cache/
                 outputs/<output>.mp4  report.json  contact_sheet.png  events.jsonl  .lock

The lock is an flock on the run directory itself, which cannot be unlinked from under a live run the way a lock file
can (a deleted `.lock` once let a second process pay for the same shots). `.lock` only says who holds it.

Before the first paid create a run proves it can write here (`RunDir.check_writable`): a read-only outputs/ once let
a run pay for every shot and then fail writing the film. What the machine refuses (permissions, a read-only file
system, a file where a folder must be, a name too long, a full disk) is a `RunDirUnusable` naming the path, exit 2.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sqlite3
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from orchestrator.assembly.temp import temporary
from orchestrator.engine.journal import JOURNAL_NAME, Take, sqlite_damage, sqlite_unusable
from orchestrator.errors import FILE_IN_THE_WAY, JournalDamaged, RunDirBusy, RunDirUnusable

__all__ = ["CLIP_NAME", "DEFAULT_OUT", "FRAME_NAME", "LOCK_NAME", "TAKE_RECORD", "TASK_NAME", "JournalDamaged",
           "RunDir", "RunDirBusy", "RunDirUnusable", "RunLock", "journal_problem", "run_dir_for"]

DEFAULT_OUT = Path("runs")
CLIP_NAME, FRAME_NAME, TASK_NAME = "clip.mp4", "last_frame.png", "task.json"
LOCK_NAME = ".lock"
TAKE_RECORD = "take-{attempt}.json"  # a take's mirror of its journal row, beside its files


@dataclass(frozen=True)
class RunDir:
    """Paths of one run directory."""

    root: Path

    @property
    def journal(self) -> Path:
        """The journal database."""
        return self.root / JOURNAL_NAME

    @property
    def events(self) -> Path:
        """One JSON event per line, appended by every run."""
        return self.root / "events.jsonl"

    @property
    def cache(self) -> Path:
        """Normalised intermediates of the clips."""
        return self.root / "cache"

    def take_dir(self, shot: str, key: str) -> Path:
        """Where one take's files live; earlier takes keep their own folders."""
        return self.root / "shots" / shot / key[:12]

    def clip(self, shot: str, key: str) -> Path:
        """A take's video."""
        return self.take_dir(shot, key) / CLIP_NAME

    def last_frame(self, shot: str, key: str) -> Path:
        """A take's last frame, exactly as the provider sent it."""
        return self.take_dir(shot, key) / FRAME_NAME

    def task_json(self, shot: str, key: str) -> Path:
        """The provider's task object of a take, as last seen."""
        return self.take_dir(shot, key) / TASK_NAME

    def film(self, output: str) -> Path:
        """An output's finished film."""
        return self.root / "outputs" / f"{output}.mp4"

    def take_record(self, shot: str, key: str, attempt: int) -> Path:
        """A take's mirror of its journal row (what `orchestrator recover` rebuilds the journal from)."""
        return self.take_dir(shot, key) / TAKE_RECORD.format(attempt=attempt)

    def take_records(self) -> list[Path]:
        """Every take mirror under shots/."""
        return sorted((self.root / "shots").glob("*/*/take-*.json"))

    def mirror(self, take: Take) -> None:
        """Write a take's record beside its files, atomically (the journal's `TakeMirror`)."""
        path = self.take_record(take.shot, take.key, take.attempt)
        path.parent.mkdir(parents=True, exist_ok=True)
        with temporary(path) as tmp:
            tmp.write_text(json.dumps(take.record(), sort_keys=True), encoding="utf-8")
            tmp.replace(path)

    def check_journal(self, hint: str) -> None:
        """Refuse a journal that sqlite cannot read, or one missing or empty while shots/ holds takes: trusting it
        would pay for them again and overwrite their files. `hint` is how the user names this run in a command."""
        problem = journal_problem(self.journal)
        if problem is None:
            return
        records = len(self.take_records())
        clips = sum(1 for _ in (self.root / "shots").glob("*/*/clip.mp4"))
        if records == clips == 0 and problem in ("missing", "empty"):
            return  # nothing was ever done here: a new journal is right
        if records:
            raise JournalDamaged(f"{self.journal}: the journal is {problem}, but shots/ holds {records} take(s) of "
                                 f"earlier runs; rebuild it from them with `orchestrator recover {hint}` (no provider "
                                 f"call), or move {self.root} away to start over")
        if clips:
            raise JournalDamaged(f"{self.journal}: the journal is {problem}, and shots/ holds {clips} clip(s) but no "
                                 "take records to rebuild it from (made before they were kept), so `orchestrator "
                                 f"recover` cannot help; move {self.root} away to start over (its shots would be paid "
                                 "again), or give another --out")
        raise JournalDamaged(f"{self.journal}: the journal is {problem}, and shots/ holds no take records to rebuild "
                             "it from, so `orchestrator recover` cannot help; move it away to start this run afresh "
                             "(anything it recorded would be made and paid again), or give another --out")

    def check_path(self) -> None:
        """Without making anything: the run directory is a folder, or can become one (no file in the way, a name
        the file system takes). `plan` and the flags check call it, so `run` says so before any backend starts."""
        try:
            for candidate in (self.root, *self.root.parents):
                if candidate.exists():
                    if not candidate.is_dir():
                        raise RunDirUnusable.at(candidate, *FILE_IN_THE_WAY, self.root)
                    return
        except OSError as exc:
            raise _unusable(exc, self.root, self.root) from None

    def check_writable(self, names: Iterable[str] = ()) -> None:
        """Before the first paid create: every folder a run writes (the run directory, shots/, outputs/, cache/)
        is a folder this process can write a file in, and none of the files `names` (relative to the run
        directory: the films, the report) is a folder. A run used to learn only when it wrote the film, after
        paying for every shot."""
        for folder in (self.root, self.root / "shots", self.root / "outputs", self.cache):
            try:
                folder.mkdir(exist_ok=True)
                with tempfile.NamedTemporaryFile(prefix=".preflight-", dir=folder) as probe:
                    probe.write(b"preflight\n")
                    probe.flush()
            except OSError as exc:
                raise _unusable(exc, folder, self.root) from None
        for name in names:
            path = self.root / name
            if path.is_dir():
                raise RunDirUnusable(path, "a folder is where the run writes a file", "move the folder away")


def journal_problem(path: Path) -> str | None:
    """Why a journal cannot be trusted ("missing", "empty", "unreadable: ..."), or None when it is whole. A journal
    this process may not open read-write (permissions, a read-only file system) is not damaged: RunDirUnusable."""
    try:
        if not path.is_file():
            return "missing"
        if path.stat().st_size == 0:
            return "empty"
    except OSError as exc:
        raise _unusable(exc, path, path.parent) from None
    try:
        # Read-write on purpose: a read-only open fails on a WAL journal whose -shm file a crash left missing.
        with contextlib.closing(sqlite3.connect(path, timeout=30.0)) as db:
            check = db.execute("PRAGMA quick_check").fetchone()
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        if not sqlite_damage(exc):
            raise sqlite_unusable(path, exc) from None
        return f"unreadable ({exc})"
    if check is None or check[0] != "ok":
        return f"damaged ({check[0] if check else 'no answer'})"
    if not {"takes", "meta", "runs"} <= tables:
        return "not a journal of this tool (tables missing)"
    return None


def _unusable(exc: OSError, path: Path, root: Path) -> Exception:
    """RunDirUnusable for an OSError of the machine; the OSError itself when it is not one (a bug stays a bug)."""
    return RunDirUnusable.of(exc, path, root) or exc


def run_dir_for(name: str, out: Path | None) -> RunDir:
    """`<out>/<name>`, by default `runs/<name>`."""
    return RunDir((out or DEFAULT_OUT) / name)


class RunLock:
    """An exclusive lock on a run directory, released when the process ends however it ends (flock on the
    directory: deleting `.lock` does not free it)."""

    def __init__(self, run_dir: RunDir) -> None:
        self.root = run_dir.root
        self.path = run_dir.root / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock or raise RunDirBusy naming the holder."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise _unusable(exc, self.root, self.root) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunDirBusy(f"{self.root}: in use by {self._holder()}; wait for it to finish or stop it "
                             "(Ctrl-C), then run again") from None
        self._fd = fd
        owner = f"process {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}"
        try:
            with temporary(self.path) as tmp:
                tmp.write_text(owner + "\n", encoding="utf-8")
                tmp.replace(self.path)
        except OSError as exc:  # a run directory that cannot take this note cannot take anything else either
            self.release()
            raise _unusable(exc, self.path, self.root) from None
        return self

    def _holder(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip() or "another process"
        except OSError:
            return "another process (its .lock note was deleted)"

    def release(self) -> None:
        """Drop the lock."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
