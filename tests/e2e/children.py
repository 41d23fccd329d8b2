"""`orchestrator` in real subprocesses, each in its own session, their JSON events read as they come: for tests that
kill, interrupt or race runs (nothing mocked but the moments chosen)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import API_KEY

TARGET_WAIT_S = 15.0  # how long a targeted kill waits for its moment before killing anyway
FINISH_S = 180.0  # a run left alone must finish within this

Event = dict[str, Any]


def env(base_url: str) -> dict[str, str]:
    return {**os.environ, "ARK_API_KEY": API_KEY, "ARK_BASE_URL": base_url, "ORCHESTRATOR_POLL_SCALE": "0.002",
            "PYTHONUNBUFFERED": "1"}


def command(storyboard: Path, out: Path, command: str = "run", more: tuple[Path, ...] = ()) -> list[str]:
    if command == "run":
        return [sys.executable, "-m", "orchestrator", "run", str(storyboard), *map(str, more), "--out", str(out),
                "--backend", "ark", "--yes", "--json"]
    return [sys.executable, "-m", "orchestrator", command, str(storyboard), "--out", str(out), "--json"]


@dataclass
class Child:
    """One `orchestrator run` process in its own session (so its ffmpeg children can be found and cleaned up)."""

    proc: subprocess.Popen[str]
    events: list[Event] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    orphans: int = 0  # processes of its group still alive after it was killed (ffmpeg writing on, unwatched)
    _readers: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def start(cls, storyboard: Path, out: Path, base_url: str, environ: dict[str, str] | None = None,
              more: tuple[Path, ...] = ()) -> Child:
        """`orchestrator run STORYBOARD [MORE...]` (a batch when `more` names other storyboards)."""
        proc = subprocess.Popen(command(storyboard, out, more=more), cwd=storyboard.parent,
                                env=environ or env(base_url),
                                text=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        child = cls(proc)
        child._readers = [threading.Thread(target=child._read_stdout, daemon=True),
                          threading.Thread(target=child._read_stderr, daemon=True)]
        for reader in child._readers:
            reader.start()
        return child

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                with contextlib.suppress(ValueError):  # a line cut short by a kill
                    self.events.append(json.loads(line))

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr.extend(line.rstrip("\n") for line in self.proc.stderr)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_event(self, kinds: set[str], after: int = 0, timeout: float = TARGET_WAIT_S) -> Event | None:
        """The first event of one of `kinds` at index >= `after`, as soon as it is printed; None when the process
        ended or the time ran out first."""
        deadline = time.monotonic() + timeout
        seen = after
        while time.monotonic() < deadline:
            while seen < len(self.events):
                if self.events[seen]["event"] in kinds:
                    return self.events[seen]
                seen += 1
            if not self.alive and not self._readers[0].is_alive():
                return None
            time.sleep(0.002)
        return None

    def count(self, kind: str) -> int:
        return sum(e["event"] == kind for e in self.events)

    def kill_after_submits(self, count: int) -> list[Event]:
        """Wait for `count` `submitted` events, then SIGKILL the run; those events (tasks the journal names)."""
        found: list[Event] = []
        for _ in range(count):
            event = self.wait_event({"submitted"}, after=self.events.index(found[-1]) + 1 if found else 0)
            assert event is not None, self.stderr
            found.append(event)
        assert self.kill() == -signal.SIGKILL
        return found

    def kill(self, sig: int = signal.SIGKILL) -> int:
        """Send `sig` to the run (the Python process only, as the OOM killer would), wait for it to end, then kill
        whatever of its group survived; returns the exit code."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, sig)
        return self.finish()

    def interrupt(self) -> int:
        """Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        return self.finish()

    def finish(self, timeout: float = FINISH_S) -> int:
        """Wait for the process to end (killing it after `timeout`), reap its group and readers."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        survivors = group_members(self.proc.pid)
        if survivors:
            self.orphans += len(survivors)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        for reader in self._readers:
            reader.join(10)
        return code

    def errors(self) -> list[str]:
        """stderr without the one-line notice of which provider the run talks to."""
        return [line for line in self.stderr if not line.startswith("provider: ")]


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group (Linux /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(stat.parent.name))
    return members


@pytest.fixture
def children() -> Iterator[list[Child]]:
    """Every child a test starts; any still running at teardown is killed."""
    started: list[Child] = []
    yield started
    for child in started:
        if child.alive:
            child.kill()


def start(children: list[Child], storyboard: Path, out: Path, base_url: str, more: tuple[Path, ...] = ()) -> Child:
    child = Child.start(storyboard, out, base_url, more=more)
    children.append(child)
    return child
