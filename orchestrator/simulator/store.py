"""A simulator's task records on disk, so tasks outlive the process, as the provider keeps them for 7 days.

Layout of a store folder:

    secret                      the URL-signing key, made once: a signature made by one simulator verifies on the next
    lock                        flock'd while a backend changes records (or reads its own for changes)
    journal                     replaced whenever a backend changes a record it does not hold
    owners/<token>.lock         flock'd by each live backend; a record whose owner's lease is free is an orphan
    tasks/<id>/task.json        the record's state, replaced atomically on every change
    tasks/<id>/request.json     the create body as validated, and the size that decided an adaptive ratio (once)
    tasks/<id>/input-first      the first and last frame images as given (once)
    tasks/<id>/input-last
    tasks/<id>/video.mp4        the rendered files (render.py writes them atomically)
    tasks/<id>/last_frame.png
    prerendered-<frames>/       the shared clips of `prerendered` mode

Several backends, in one process or several, may share a store (two runs of different storyboards at once): each
advances only the tasks it holds (made or adopted), reads the others' records from disk, and adopts a record of a
backend whose lease is gone when it first looks at it. The state machine stays in backend.py; this module only
keeps and reads records.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from orchestrator.simulator.catalog import RULES_BY_REGION
from orchestrator.simulator.errors import ProviderError
from orchestrator.simulator.faults import TaskFault
from orchestrator.simulator.records import MediaBytes, SimTask
from orchestrator.simulator.validation import CreateSpec, validate_create

log = logging.getLogger("orchestrator.simulator")
_VERSION = 1
_ABANDONED_S = 60.0  # a task folder without a record for this long will never get one
Stamp = tuple[int, int, int]  # inode, mtime_ns, size of a file as last seen: a replace gives a new inode


@dataclass(frozen=True)
class Stored:
    """One record read from disk: the task, and the token of the backend that holds it."""

    task: SimTask
    owner: str


@dataclass(frozen=True)
class _Request:
    spec: CreateSpec
    like_size: tuple[int, int] | None


class TaskStore:
    """Task records in one folder, shared safely by several backends; every write is a temp file and a replace."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tasks_dir = root / "tasks"
        self.tasks_dir.mkdir(parents=True, exist_ok=True)
        (root / "owners").mkdir(exist_ok=True)
        self.owner = secrets.token_hex(8)
        self._lease: IO[bytes] | None = self._lease_path(self.owner).open("a+b")
        fcntl.flock(self._lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._mutex = threading.RLock()
        self._depth = 0
        self._held: IO[bytes] | None = None
        self._stamps: dict[str, Stamp | None] = {}  # each task.json as this backend last wrote or read it
        self._requests: dict[str, _Request] = {}  # the parts of a record that never change, parsed once
        self._owners: dict[str, str] = {}  # who holds each record, as last read
        self._journal = _stat(root / "journal")
        self._dead: set[str] = set()

    # --- the store as a whole -----------------------------------------------------------------------------
    def secret(self) -> bytes:
        """The URL-signing key of this store, made by whichever backend came first."""
        path = self.root / "secret"
        if not path.exists():
            temp = _temp_beside(path)
            temp.write_bytes(secrets.token_bytes(32))
            # link, not replace: when two backends start at once, the first key stays and both use it
            with contextlib.suppress(FileExistsError):
                os.link(temp, path)
            temp.unlink()
        return path.read_bytes()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's lock (re-entrant in this backend) while records are read for changes or written."""
        with self._mutex:
            if self._depth == 0:
                handle = (self.root / "lock").open("a+b")
                fcntl.flock(handle, fcntl.LOCK_EX)  # flock is per open file: two backends of one process exclude too
                self._held = handle
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._held is not None:
                    self._held.close()  # closing releases the flock
                    self._held = None

    def foreign_changes(self) -> bool:
        """Whether another backend changed a record since this one last asked (so held tasks must be re-read)."""
        stamp = _stat(self.root / "journal")
        changed, self._journal = stamp != self._journal, stamp
        return changed

    def note_foreign_change(self) -> None:
        """Tell the other backends that a record they may hold was changed here."""
        _write_atomic(self.root / "journal", secrets.token_bytes(8))
        self._journal = _stat(self.root / "journal")

    def alive(self, owner: str) -> bool:
        """Whether the backend with this token still runs (its lease file is locked)."""
        if owner == self.owner:
            return True
        if owner in self._dead:
            return False
        try:
            handle = self._lease_path(owner).open("rb")
        except FileNotFoundError:
            self._dead.add(owner)
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
        self._dead.add(owner)
        self._lease_path(owner).unlink(missing_ok=True)  # a crashed backend's lease file: tidy it away
        return False

    def ids(self) -> list[str]:
        """Every task id with a record in the store (tidying away folders left without one)."""
        found = []
        for folder in self.tasks_dir.iterdir():
            if (folder / "task.json").exists():
                found.append(folder.name)
            elif _age(folder) > _ABANDONED_S:
                # No record: an id reserved by a backend that died before saving, or a render that finished after
                # its task was deleted or reset. Young ones may be a create under way.
                shutil.rmtree(folder, ignore_errors=True)
        return sorted(found)

    def clear(self) -> None:
        """Forget every task of the store (every backend's)."""
        for folder in list(self.tasks_dir.iterdir()):
            shutil.rmtree(folder, ignore_errors=True)
        self._stamps.clear()
        self._requests.clear()
        self._owners.clear()
        self.note_foreign_change()

    def close(self) -> None:
        """Give up the lease: this backend's records become orphans that the next backend adopts."""
        if self._lease is not None:
            self._lease_path(self.owner).unlink(missing_ok=True)
            self._lease.close()
            self._lease = None

    # --- one task --------------------------------------------------------------------------------------------
    def task_dir(self, task_id: str) -> Path:
        """The folder of one task (its record, inputs and rendered files)."""
        return self.tasks_dir / task_id

    def reserve(self, task_id: str) -> bool:
        """Claim a task id for a new task; False when any backend of the store has it already."""
        try:
            self.task_dir(task_id).mkdir()
        except FileExistsError:
            return False
        return True

    def save_request(self, task_id: str, spec: CreateSpec, body: Any, media: MediaBytes) -> None:
        """Keep what a task was made from: the validated create body and its input images (written once)."""
        folder = self.task_dir(task_id)
        for name, data in (("input-first", media.first), ("input-last", media.last)):
            if data is not None:
                _write_atomic(folder / name, data)
        like = list(media.like_size) if media.like_size else None
        # The region and the endpoint's model are kept with the body: another simulator on this store may be
        # configured with other endpoints, and must still read this task as it was made.
        served = {spec.endpoint: spec.model.id} if spec.endpoint else {}
        record = {"version": _VERSION, "body": body, "like_size": like, "region": _region_of(spec.model.id),
                  "endpoints": served}
        _write_atomic(folder / "request.json", json.dumps(record, ensure_ascii=False).encode())
        self._requests[task_id] = _Request(spec, media.like_size)

    def save(self, task: SimTask, owner: str | None = None) -> None:
        """Write the task's current state as its record, held by `owner` (default: this backend)."""
        path = self.task_dir(task.id) / "task.json"
        self._owners[task.id] = owner or self.owner
        _write_atomic(path, json.dumps(self._state(task, owner or self.owner)).encode())
        self._stamps[task.id] = _stat(path)

    def owner_of(self, task_id: str) -> str:
        """The backend holding a record, as last read or written here."""
        return self._owners.get(task_id, self.owner)

    def changed(self, task_id: str) -> bool:
        """Whether the record differs from what this backend last wrote or read (another backend changed it)."""
        return _stat(self.task_dir(task_id) / "task.json") != self._stamps.get(task_id)

    def load(self, task_id: str, media: bool = False) -> Stored | None:
        """The record of a task as it is on disk now (None when there is none, or it cannot be read any more);
        input images only when `media` (a backend that adopts the task renders from them)."""
        try:
            with (self.task_dir(task_id) / "task.json").open("rb") as handle:
                stat = os.fstat(handle.fileno())
                state = json.loads(handle.read())
            request = self._request(task_id)
            stored = Stored(self._task(state, request, media), str(state["owner"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, ProviderError) as exc:  # a record this version cannot rebuild
            log.warning("simulator store: skipping task %s: %s", task_id, exc)
            return None
        self._stamps[task_id] = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        self._owners[task_id] = stored.owner
        return stored

    def remove(self, task_id: str) -> None:
        """Delete a task's record and files."""
        shutil.rmtree(self.task_dir(task_id), ignore_errors=True)
        self._stamps.pop(task_id, None)
        self._requests.pop(task_id, None)
        self._owners.pop(task_id, None)

    # --- records <-> tasks -----------------------------------------------------------------------------------
    def _state(self, task: SimTask, owner: str) -> dict[str, Any]:
        return {
            "version": _VERSION, "owner": owner, "id": task.id, "status": task.status,
            "created_at": task.created_at, "updated_at": task.updated_at, "started_at": task.started_at,
            "seed": task.seed, "shown_seed": task.shown_seed, "ratio": task.ratio, "width": task.width,
            "height": task.height, "frames": task.frames, "duration": task.duration, "run_for": task.run_for,
            "forced": task.forced.model_dump() if task.forced else None, "error": task.error,
            "urls_expire_at": task.urls_expire_at, "rendered_at": task.rendered_at,
            "files": {name: self._relative(path) for name, path in task.files.items()},
        }

    def _task(self, state: dict[str, Any], request: _Request, media: bool) -> SimTask:
        inputs = MediaBytes(like_size=request.like_size)
        if media:
            folder = self.task_dir(str(state["id"]))
            inputs.first, inputs.last = _read_if_there(folder / "input-first"), _read_if_there(folder / "input-last")
        forced = state["forced"]
        return SimTask(
            id=str(state["id"]), spec=request.spec, media=inputs, created_at=float(state["created_at"]),
            seed=int(state["seed"]), shown_seed=int(state["shown_seed"]), ratio=str(state["ratio"]),
            width=int(state["width"]), height=int(state["height"]), frames=int(state["frames"]),
            duration=state["duration"], run_for=float(state["run_for"]),
            forced=TaskFault.model_validate(forced) if forced else None, status=str(state["status"]),
            updated_at=float(state["updated_at"]), started_at=state["started_at"], error=state["error"],
            files={str(name): self.root / rel for name, rel in state["files"].items()},
            urls_expire_at=float(state["urls_expire_at"]), rendered_at=state["rendered_at"],
        )

    def _request(self, task_id: str) -> _Request:
        if task_id not in self._requests:
            saved = json.loads((self.task_dir(task_id) / "request.json").read_bytes())
            # Validated again rather than unpickled: the record stays plain JSON, and the same body gives the same
            # spec (a body today's rules refuse makes the record unreadable, which load() reports and skips).
            like = saved["like_size"]
            spec = validate_create(saved["body"], saved.get("region", "byteplus"), saved.get("endpoints") or {})
            self._requests[task_id] = _Request(spec, (like[0], like[1]) if like else None)
        return self._requests[task_id]

    def _relative(self, path: Path) -> str:
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    def _lease_path(self, owner: str) -> Path:
        return self.root / "owners" / f"{owner}.lock"


def _region_of(model_id: str) -> str:
    return next(region for region, rules in RULES_BY_REGION.items() if model_id in rules)


def _stat(path: Path) -> Stamp | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _read_if_there(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _temp_beside(path: Path) -> Path:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    return Path(name)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new content, never a part (temp file, fsync-free replace)."""
    temp = _temp_beside(path)
    try:
        temp.write_bytes(data)
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)
