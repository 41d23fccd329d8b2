"""The one error tree of the orchestrator.

Every error the product raises on purpose derives from `OrchestratorError` and knows the process exit code that
the command line maps it to (DESIGN.md §9)::

    OrchestratorError                 exit 1   root; anything we raise deliberately
    ├── InputError                    exit 2   the user's input is wrong; nothing was spent
    │   ├── StoryboardInvalid                  one or more diagnostics (file:line:col, path, message)
    │   ├── StoryboardUnreadable               the file cannot be read or parsed at all
    │   ├── ConfigError                        settings or a price file are wrong
    │   └── RunDirError                        the run directory cannot be used as it is; found before anything is
    │       │                                  paid (the run's preflight, opening the journal, plan, status)
    │       ├── RunDirBusy                     another process holds its lock
    │       ├── RunDirUnusable                 a folder or file of it cannot be made or written: read-only, no
    │       │                                  permission, a file where a folder must be, a name too long, no room
    │       └── JournalDamaged                 the journal is unreadable, or missing beside takes already paid for:
    │                                          names `orchestrator recover` when its take records can rebuild it
    ├── BudgetExceeded                exit 3   the planned cost is above the budget
    ├── RunWriteFailed                exit 1   a write to the run directory failed mid-run (disk full, quota, I/O
    │                                          error, made read-only underneath it): the journal is consistent and
    │                                          the next `run` resumes without paying again for what is done
    ├── ApiError                      exit 1   the provider, or the way to it, failed (orchestrator.api.errors):
    │   ├── BadRequest / AuthenticationFailed / PermissionDenied / NotFound / Conflict / RateLimited / ServerError
    │   ├── ConnectionFailed └── Timeout
    │   └── TaskFailed, AmbiguousCreate, DownloadFailed
    └── AssemblyError                 exit 1   a film could not be made (orchestrator.assembly.errors):
        ├── FfmpegFailed                       argv and the tail of ffmpeg's stderr
        ├── ClipInvalid                        a truncated or corrupt clip, named
        └── FfmpegUnsuitable          exit 2   the ffmpeg in use lacks what films need (one line: binary, version,
                                               what is missing, the fix); refused before anything is spent

Each branch lives beside its layer (the API branch is drawn in full in `orchestrator/api/errors.py`); the run
directory's errors live here because the engine, the journal and the command line all raise them. Every message is
one line: where (a path; for the journal and the disk, in the run directory), why, and the fix. The simulator's
`ProviderError` is deliberately outside the tree: it is the fake provider's answer, not an error of ours.

`disk_cause` tells an `OSError` of the machine (full disk, permissions, a read-only file system, a file in the way)
from one of ours, with the words for it; an error of the machine never reaches the user as "internal error".
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

from orchestrator.storyboard.diagnostics import Diagnostic, render_all


class OrchestratorError(Exception):
    """Root of every deliberate error; `exit_code` is what the CLI exits with."""

    exit_code: ClassVar[int] = 1


class InputError(OrchestratorError):
    """The user's input is wrong; no money was spent."""

    exit_code: ClassVar[int] = 2


class StoryboardInvalid(InputError):
    """A storyboard broke one or more rules; carries every diagnostic found."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(render_all(self.diagnostics)))


class StoryboardUnreadable(StoryboardInvalid):
    """The storyboard file is missing, unreadable, or not YAML/JSON at all."""


class ConfigError(InputError):
    """A setting, flag value or price file is wrong."""


class BudgetExceeded(OrchestratorError):
    """The planned cost is above the budget, so nothing may start."""

    exit_code: ClassVar[int] = 3

    def __init__(self, planned: Decimal | float, budget: Decimal | float, source: str, symbol: str = "$") -> None:
        self.planned = planned
        self.budget = budget
        self.source = source
        # Cents can hide the difference ($0.8526 against $0.85): then show as many places as it takes.
        exact, cap = Decimal(str(planned)), Decimal(str(budget))
        places = next((p for p in (2, 4, 6) if round(exact, p) > round(cap, p)), 6)
        super().__init__(
            f"planned cost {symbol}{planned:,.{places}f} exceeds the budget of {symbol}{budget:,.2f} ({source})"
        )


class RunDirError(InputError):
    """The run directory cannot be used as it is. Exit 2, like any input the user must fix: every one of these is
    found before anything is paid (the run's preflight under the lock, opening the journal, `plan`, `status`), so
    fixing the directory and running again loses nothing."""


class RunDirBusy(RunDirError):
    """Another process holds the run directory's lock."""


class JournalDamaged(RunDirError):
    """The journal is unreadable (sqlite cannot read it, or it is not a journal), or missing or empty while the run
    directory holds takes already paid for. Exit 2: never answered by starting afresh, which would pay for every
    take again; the message names `orchestrator recover` when the take records beside the clips can rebuild it."""


class RunDirUnusable(RunDirError):
    """A folder or file of the run directory cannot be made or written: no permission, a read-only file system, a
    file where a folder must be (or a folder where a file must be), a name too long for the file system, no room at
    all. Exit 2: the run checks every folder it writes (the run directory, shots/, outputs/, cache/) and its lock
    before the first paid create, and `plan`/`status` meet it before anything could be paid; the fix is the user's
    (permissions, space, another --out)."""

    def __init__(self, path: Path, reason: str, fix: str) -> None:
        self.path = path
        self.reason = reason
        self.fix = fix
        super().__init__(f"{path}: {reason}; {fix}")

    @classmethod
    def of(cls, exc: OSError, path: Path | None = None, run_dir: Path | None = None) -> RunDirUnusable | None:
        """The error for an OSError of the machine met on `path` (default: the error's own file name) while
        preparing `run_dir`; None when the OSError is not one (`disk_cause`)."""
        cause = disk_cause(exc, path)
        if cause is None:
            return None
        return cls.at(cause.path or path or run_dir or Path(), cause.reason, cause.fix, run_dir)

    @classmethod
    def at(cls, where: Path, reason: str, fix: str, run_dir: Path | None = None) -> RunDirUnusable:
        """The error for `where`; a place outside `run_dir` (a parent in the way) also names the run directory."""
        if run_dir is not None and where != run_dir and run_dir not in where.parents:
            reason += f" (the run directory is to be {run_dir})"
        return cls(where, reason, fix)


class RunWriteFailed(OrchestratorError):
    """A write to the run directory failed in the middle of a run (disk full, quota, an I/O error, the file system
    made read-only or a folder made unwritable underneath it), or the journal could no longer be written.

    Exit 1, like a failed shot: money may have been spent by then, so this is not an input error. Nothing is lost:
    every journal write is one committed statement made before the step it records is trusted (an intent before its
    create, a task id right after it, a download only once the clip is whole on disk), so the journal holds every
    create made; the next run reconciles an unanswered create on the provider's list, polls a submitted task, fetches
    a finished one's files again and reuses every downloaded clip. The message says so, with what to fix first.
    """

    exit_code: ClassVar[int] = 1

    def __init__(self, run_dir: Path, path: Path | None, reason: str, fix: str, *, consistent: bool = True) -> None:
        self.run_dir = run_dir
        self.path = path
        self.reason = reason
        self.fix = fix
        if path is None:
            what = "a write failed"
        elif path.absolute() == run_dir.absolute():
            what = "cannot write in it"
        else:
            inside = run_dir.absolute() in path.absolute().parents
            what = f"cannot write {path.absolute().relative_to(run_dir.absolute()) if inside else path}"
        state = "the journal is consistent: " if consistent else ""  # not when the journal itself turned unreadable
        super().__init__(f"{run_dir}: {what}: {reason}; {state}{fix}, then run the same command again and it resumes "
                         "without paying again for what is done")

    @classmethod
    def of(cls, exc: OSError, run_dir: Path, path: Path | None = None) -> RunWriteFailed | None:
        """The error for an OSError of the machine met while writing `path` (default: the error's own file name) in
        `run_dir` mid-run; None when it is not one (`disk_cause`)."""
        cause = disk_cause(exc, path)
        if cause is None:
            return None
        return cls(run_dir, cause.path or path, cause.reason, cause.again)


@dataclass(frozen=True)
class DiskCause:
    """An OSError of the machine, in words: what it hit, why, and the fixes before and during a run."""

    path: Path | None  # the file or folder it hit (the file in the way, for a file where a folder must be)
    reason: str
    fix: str  # before anything is paid: may point elsewhere (another --out)
    again: str  # mid-run: make the same place work again (another --out would start afresh and pay again)


_MORE_SPACE = "free some space on its disk"
_WRITABLE = "make it writable for this user"
_CAUSES: dict[int, tuple[str, str, str]] = {
    errno.ENOSPC: ("no space left on the device", _MORE_SPACE, _MORE_SPACE),
    errno.EDQUOT: ("the disk quota is used up", f"{_MORE_SPACE} or raise the quota", f"{_MORE_SPACE} or raise the "
                   "quota"),
    errno.EFBIG: ("a file grew too large for the file system", "give an --out on a file system that takes larger "
                  "files", "move the run directory to a file system that takes larger files"),
    errno.EROFS: ("the file system is read-only", "give an --out on a writable file system", "make the file system "
                  "writable again"),
    errno.EACCES: ("permission denied", f"{_WRITABLE}, or give another --out", f"{_WRITABLE} again"),
    errno.EPERM: ("operation not permitted", f"{_WRITABLE}, or give another --out", f"{_WRITABLE} again"),
    errno.ENAMETOOLONG: ("the path is too long for the file system", "give a shorter --out or storyboard name",
                         "move the run directory to a shorter path"),
    errno.EIO: ("an input/output error on the disk", "check the disk", "check the disk"),
    errno.EISDIR: ("a folder is where a file must be", "move the folder away", "move the folder away"),
}
_FILE_IN_THE_WAY = (errno.ENOTDIR, errno.EEXIST)
_REFUSED = (errno.EACCES, errno.EPERM, errno.EROFS)
FILE_IN_THE_WAY = ("is a file, where a folder must be", "move it away, or give another --out")  # reason, fix


def disk_cause(exc: OSError, path: Path | None = None) -> DiskCause | None:
    """What an OSError of the machine means for the user, or None for one that is not (a network error, a file of
    ours missing: bugs stay internal errors). `path` is what was being made or written; without it, the file the
    error names (a write() on an open file names none)."""
    if isinstance(exc, ConnectionError | TimeoutError) or exc.errno is None:
        return None
    target = path or _named(exc.filename)
    if exc.errno in _REFUSED and target is not None:
        target = _existing(target)  # a folder that could not be made: the one it was to be made in refused
    if exc.errno in _FILE_IN_THE_WAY:
        blocker = _file_in_the_way(target) if target is not None else None
        if blocker is None:
            return None
        return DiskCause(blocker, *FILE_IN_THE_WAY, "move it away")
    if exc.errno not in _CAUSES:
        return None
    reason, fix, again = _CAUSES[exc.errno]
    return DiskCause(target, reason, fix, again)


def _named(filename: object) -> Path | None:
    if isinstance(filename, str | os.PathLike):
        return Path(filename)
    if isinstance(filename, bytes):
        return Path(os.fsdecode(filename))
    return None


def _existing(path: Path) -> Path:
    """`path`, or its nearest parent that exists."""
    for candidate in (path, *path.parents):
        try:
            if candidate.exists():
                return candidate
        except OSError:
            continue
    return path


def _file_in_the_way(path: Path) -> Path | None:
    """The first of `path` and its parents that exists and is not a folder."""
    for candidate in (path, *path.parents):
        try:
            if candidate.exists():
                return None if candidate.is_dir() else candidate
        except OSError:
            continue
    return None
