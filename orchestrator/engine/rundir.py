"""The run directory (DESIGN.md §5): where each file of a run lives, and the lock that keeps it to one process.

    <out>/<name>/journal.sqlite  shots/<id>/<key12>/{clip.mp4,last_frame.png,task.json}  cache/
                 outputs/<output>.mp4  report.json  contact_sheet.png  events.jsonl  .lock
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from orchestrator.engine.journal import JOURNAL_NAME
from orchestrator.errors import InputError

DEFAULT_OUT = Path("runs")
CLIP_NAME, FRAME_NAME, TASK_NAME = "clip.mp4", "last_frame.png", "task.json"
LOCK_NAME = ".lock"


class RunDirBusy(InputError):
    """Another process holds the run directory's lock."""


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


def run_dir_for(name: str, out: Path | None) -> RunDir:
    """`<out>/<name>`, by default `runs/<name>`."""
    return RunDir((out or DEFAULT_OUT) / name)


class RunLock:
    """An exclusive lock on a run directory, released when the process ends however it ends (flock)."""

    def __init__(self, run_dir: RunDir) -> None:
        self.path = run_dir.root / LOCK_NAME
        self._fh: IO[str] | None = None

    def acquire(self) -> RunLock:
        """Take the lock or raise RunDirBusy naming the holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise RunDirBusy(f"{self.path.parent}: in use by {holder}; wait for it to finish or stop it "
                             "(Ctrl-C), then run again") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"process {os.getpid()}")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        """Drop the lock."""
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
