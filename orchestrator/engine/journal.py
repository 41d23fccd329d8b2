"""The journal: every take of every shot, in `journal.sqlite` (DESIGN.md §5).

A take moves `intent -> submitted -> succeeded -> downloaded`, or ends `failed | expired | cancelled`. The intent
(seed, request summary, time) is committed and synced **before** the create call, the task id right after it: a
process killed at any moment leaves either no task, a task the journal names, or an intent the list endpoint can
match. Each write is one autocommitted statement in WAL mode, so a SIGKILL never loses or halves a committed
record. Only the intent is also synced to the disk (`synchronous=FULL`) before the create call, so that even a
power loss cannot forget a create that may have happened; every later write can be redone from the provider (a
lost task id is reconciled, a lost download fetched again), so those skip the ~6 ms sync (`synchronous=NORMAL`).

Every write of a take is also handed to an optional mirror (`TakeMirror`): the run keeps a copy of each take beside its
files, so a journal that is lost or damaged can be rebuilt (`orchestrator.engine.recover`) instead of paying again.

What sqlite reports about the machine is said in the error tree's words, never as an internal error: a journal it
cannot open read-write is `RunDirUnusable` and one it cannot read `JournalDamaged` (both exit 2: met on opening,
before anything is paid); a statement that fails later (a full disk, an I/O error) is `RunWriteFailed` (exit 1): the
statement did not commit, every one before it did, so the journal is consistent and the next run resumes from it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from orchestrator.engine.keys import Params, canonical
from orchestrator.errors import JournalDamaged, RunDirUnusable, RunWriteFailed

JOURNAL_NAME = "journal.sqlite"
JOURNAL_VERSION = 1
# Columns added after version 1 shipped; an older journal gets them on open (ALTER TABLE keeps every row).
_ADDED_COLUMNS = {"posts": "INTEGER NOT NULL DEFAULT 0", "finished_at": "REAL"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS takes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shot TEXT NOT NULL,
    key TEXT NOT NULL,
    params TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL,
    task_id TEXT UNIQUE,
    intent_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    frame_url TEXT,
    video_url TEXT,
    urls_at REAL,
    tokens INTEGER,
    usd REAL,
    error_code TEXT,
    error_message TEXT,
    retryable INTEGER,
    frame_sha TEXT,
    frame_size INTEGER,
    clip_sha TEXT,
    clip_size INTEGER,
    polls INTEGER NOT NULL DEFAULT 0,
    run INTEGER NOT NULL,
    posts INTEGER NOT NULL DEFAULT 0,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS takes_by_shot ON takes (shot, key);
CREATE TABLE IF NOT EXISTS variants (shot TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS locks (shot TEXT PRIMARY KEY, key TEXT NOT NULL, locked_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS approvals (shot TEXT PRIMARY KEY, key TEXT NOT NULL, approved_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    storyboard TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    exit_code INTEGER,
    summary TEXT
);
"""


class TakeState(StrEnum):
    """Where a take is in its life."""

    INTENT = "intent"
    SUBMITTED = "submitted"
    SUCCEEDED = "succeeded"
    DOWNLOADED = "downloaded"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def ended_badly(self) -> bool:
        """True for the states a take never leaves and that produced nothing."""
        return self in (TakeState.FAILED, TakeState.EXPIRED, TakeState.CANCELLED)


@dataclass(frozen=True)
class Take:
    """One row of the journal: one attempt at one shot with one key."""

    id: int
    shot: str
    key: str
    params: Params
    attempt: int
    seed: int
    request: dict[str, Any]  # the create body without media (enough to recognise an orphan)
    state: TakeState
    task_id: str | None
    intent_at: float
    updated_at: float
    frame_url: str | None
    video_url: str | None
    urls_at: float | None
    tokens: int | None
    usd: float | None  # in the journal's currency (Journal.currency; the column kept its first name)
    error_code: str | None
    error_message: str | None
    retryable: bool | None
    frame_sha: str | None
    frame_size: int | None
    clip_sha: str | None
    clip_size: int | None
    polls: int
    run: int
    posts: int = 0  # POST requests made for it (bounded by retry.CREATE_POSTS)
    finished_at: float | None = None  # when the provider finished the task (its clock): result URLs age from here

    @property
    def folder_name(self) -> str:
        """`<key12>`: the take's folder under `shots/<id>/`."""
        return self.key[:12]

    def record(self) -> dict[str, Any]:
        """The take as plain JSON data (what the mirror keeps and recovery reads back)."""
        data = asdict(self)
        data["state"] = self.state.value
        return data


TakeMirror = Callable[[Take], None]

class Journal:
    """The run directory's journal; one per process, used from one thread."""

    def __init__(self, path: Path, mirror: TakeMirror | None = None) -> None:
        self.path = path
        self.mirror = mirror
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise (RunDirUnusable.of(exc, path.parent, path.parent) or exc) from None
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            have = {str(r["name"]) for r in db.execute("PRAGMA table_info(takes)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in have:
                    db.execute(f"ALTER TABLE takes ADD COLUMN {column} {kind}")
            db.execute("INSERT OR IGNORE INTO meta VALUES ('version', ?)", (str(JOURNAL_VERSION),))
        except sqlite3.DatabaseError as exc:
            if db is not None:
                db.close()
            if sqlite_damage(exc):
                raise JournalDamaged(f"{path}: the journal is unreadable ({exc}); rebuild it with `orchestrator "
                                     f"recover {path.parent}` (no provider call), or move it away to start "
                                     "over") from exc
            raise sqlite_unusable(path, exc) from exc
        self._db = db

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    # -- statements: what sqlite says about the machine, in the error tree's words -----------------------------------

    @contextlib.contextmanager
    def _said(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as exc:
            failure = write_failure(self.path, exc)
            if failure is None:
                raise
            raise failure from exc

    def _sql(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self._said():
            return self._db.execute(sql, params)

    def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._said():
            row: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
            return row

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._said():
            return self._db.execute(sql, params).fetchall()

    # -- runs and meta -------------------------------------------------------------------------------------------

    def meta(self, name: str) -> str | None:
        """A stored setting, e.g. the storyboard path."""
        row = self._one("SELECT value FROM meta WHERE name = ?", (name,))
        return None if row is None else str(row["value"])

    def set_meta(self, name: str, value: str) -> None:
        """Store a setting."""
        self._sql("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    def currency(self) -> str | None:
        """The currency of the journal's amounts (its `usd` column): meta `currency`; USD for a journal with takes
        from before regions, which were all on BytePlus; None for a journal with nothing paid yet."""
        recorded = self.meta("currency")
        if recorded is not None:
            return recorded
        return "USD" if self._one("SELECT 1 FROM takes LIMIT 1") else None

    def begin_run(self, storyboard: str) -> int:
        """Record the start of a run and return its number."""
        cur = self._sql("INSERT INTO runs (storyboard, started_at) VALUES (?, ?)", (storyboard, time.time()))
        assert cur.lastrowid is not None
        return cur.lastrowid

    def end_run(self, run: int, exit_code: int, summary: dict[str, Any]) -> None:
        """Record how a run ended."""
        self._sql("UPDATE runs SET ended_at = ?, exit_code = ?, summary = ? WHERE id = ?",
                  (time.time(), exit_code, json.dumps(summary), run))

    def runs(self) -> list[dict[str, Any]]:
        """Every run record, oldest first."""
        return [dict(r) for r in self._rows("SELECT * FROM runs ORDER BY id")]

    def run_count(self) -> int:
        """How many runs were recorded."""
        row = self._one("SELECT COUNT(*) AS n FROM runs")
        return 0 if row is None else int(row["n"])

    def last_run(self) -> dict[str, Any] | None:
        """The newest run record."""
        row = self._one("SELECT * FROM runs ORDER BY id DESC LIMIT 1")
        return None if row is None else dict(row)

    # -- rerolls ---------------------------------------------------------------------------------------------------

    def variant(self, shot: str) -> int:
        """How many times the shot was rerolled."""
        row = self._one("SELECT n FROM variants WHERE shot = ?", (shot,))
        return 0 if row is None else int(row["n"])

    def set_variant(self, shot: str, n: int) -> None:
        """Record a reroll (or a pick: the reroll number whose take is used)."""
        self._sql("INSERT OR REPLACE INTO variants VALUES (?, ?)", (shot, n))

    # -- locks: a shot pinned to the key of the take in use (`orchestrator lock`) ------------------------------------

    def locks(self) -> dict[str, str]:
        """shot -> the key it is locked on."""
        return {str(r["shot"]): str(r["key"]) for r in self._rows("SELECT shot, key FROM locks")}

    def approved(self, shot: str) -> tuple[str, float] | None:
        """(key, when) of the shot's approved take, if one was approved (`orchestrator approve`)."""
        row = self._one("SELECT key, approved_at FROM approvals WHERE shot = ?", (shot,))
        return None if row is None else (str(row["key"]), float(row["approved_at"]))

    def set_approved(self, shot: str, key: str) -> None:
        """Approve the take of this key: a gated shot's children may start from it."""
        self._sql("INSERT OR REPLACE INTO approvals VALUES (?, ?, ?)", (shot, key, time.time()))

    def set_lock(self, shot: str, key: str | None) -> None:
        """Lock a shot on a key, or unlock it (None)."""
        if key is None:
            self._sql("DELETE FROM locks WHERE shot = ?", (shot,))
        else:
            self._sql("INSERT OR REPLACE INTO locks VALUES (?, ?, ?)", (shot, key, time.time()))

    # -- what the provider turned out to do ------------------------------------------------------------------------

    def seed_echo(self, model: str) -> bool | None:
        """Whether tasks of this model were seen to report the seed they were sent (None: not seen yet)."""
        value = self.meta(f"seed_echo:{model}")
        return None if value is None else value == "1"

    def set_seed_echo(self, model: str, echoed: bool) -> None:
        """Remember whether a task of this model reported the seed it was sent."""
        self.set_meta(f"seed_echo:{model}", "1" if echoed else "0")

    # -- takes -----------------------------------------------------------------------------------------------------

    def add_intent(self, shot: str, key: str, params: Params, attempt: int, seed: int, request: dict[str, Any],
                   run: int) -> Take:
        """Write the intent of a create call; must be called before the call is made."""
        now = time.time()
        self._sql("PRAGMA synchronous=FULL")  # this commit syncs the WAL, earlier writes included
        try:
            cur = self._sql(
                "INSERT INTO takes (shot, key, params, attempt, seed, request, state, intent_at, updated_at, run) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (shot, key, canonical(params), attempt, seed, json.dumps(request, sort_keys=True), TakeState.INTENT,
                 now, now, run))
        finally:
            self._sql("PRAGMA synchronous=NORMAL")
        assert cur.lastrowid is not None
        return self._mirrored(cur.lastrowid)

    def set_submitted(self, take: int, task_id: str) -> Take:
        """The create call returned (or reconciliation found) this task id."""
        return self._update(take, state=TakeState.SUBMITTED, task_id=task_id)

    def set_succeeded(self, take: int, video_url: str | None, frame_url: str | None, tokens: int | None,
                      usd: float | None, finished_at: float | None = None) -> Take:
        """The task succeeded: its URLs, what it cost, and when the provider finished it (URLs age from then)."""
        now = time.time()
        return self._update(take, state=TakeState.SUCCEEDED, video_url=video_url, frame_url=frame_url,
                            urls_at=now, tokens=tokens, usd=usd, finished_at=finished_at or now)

    def set_urls(self, take: int, video_url: str | None, frame_url: str | None) -> Take:
        """Fresh URLs from getting the task again."""
        return self._update(take, video_url=video_url, frame_url=frame_url, urls_at=time.time())

    def set_frame(self, take: int, sha: str, size: int) -> Take:
        """The last frame is on disk, verified."""
        return self._update(take, frame_sha=sha, frame_size=size)

    def set_downloaded(self, take: int, sha: str, size: int) -> Take:
        """The clip is on disk, verified: the take is done."""
        return self._update(take, state=TakeState.DOWNLOADED, clip_sha=sha, clip_size=size)

    def set_ended(self, take: int, state: TakeState, code: str | None, message: str | None,
                  retryable: bool) -> Take:
        """The take failed, expired or was cancelled."""
        return self._update(take, state=state, error_code=code, error_message=message, retryable=int(retryable))

    def add_polls(self, take: int, count: int) -> None:
        """Count status requests made for this take."""
        self._sql("UPDATE takes SET polls = polls + ? WHERE id = ?", (count, take))

    def add_posts(self, take: int, count: int) -> Take:
        """Count create requests made for this take."""
        self._sql("UPDATE takes SET posts = posts + ? WHERE id = ?", (count, take))
        return self._mirrored(take)

    def take(self, take_id: int) -> Take:
        """One take by row id."""
        row = self._one("SELECT * FROM takes WHERE id = ?", (take_id,))
        assert row is not None, f"no take {take_id}"
        return _take(row)

    def takes(self, shot: str | None = None) -> list[Take]:
        """Every take (of one shot), oldest first."""
        if shot is None:
            rows = self._rows("SELECT * FROM takes ORDER BY id")
        else:
            rows = self._rows("SELECT * FROM takes WHERE shot = ? ORDER BY id", (shot,))
        return [_take(r) for r in rows]

    def of_key(self, shot: str, key: str) -> list[Take]:
        """The takes of one shot with one key, oldest first."""
        rows = self._rows("SELECT * FROM takes WHERE shot = ? AND key = ? ORDER BY id", (shot, key))
        return [_take(r) for r in rows]

    def task_ids(self) -> set[str]:
        """Every task id the journal owns (never adopt one of these as another shot's orphan)."""
        return {str(r[0]) for r in self._rows("SELECT task_id FROM takes WHERE task_id IS NOT NULL")}

    def _update(self, take: int, **fields: Any) -> Take:
        fields["updated_at"] = time.time()
        names = ", ".join(f"{name} = ?" for name in fields)
        self._sql(f"UPDATE takes SET {names} WHERE id = ?", (*fields.values(), take))
        return self._mirrored(take)

    def _mirrored(self, take_id: int) -> Take:
        take = self.take(take_id)
        if self.mirror is not None:
            self.mirror(take)
        return take

    def restore(self, record: dict[str, Any]) -> Take:
        """Insert a take from its mirror record (recovery); its row id is new, everything else as recorded."""
        data = {k: v for k, v in record.items() if k != "id" and k in _COLUMNS}
        data["params"] = canonical(data["params"])
        data["request"] = json.dumps(data["request"], sort_keys=True)
        names = ", ".join(data)
        cur = self._sql(f"INSERT INTO takes ({names}) VALUES ({', '.join('?' for _ in data)})",
                        tuple(data.values()))
        assert cur.lastrowid is not None
        return self.take(cur.lastrowid)

    def restore_run(self, run: int, storyboard: str, started_at: float) -> None:
        """Record a run number that recovered takes refer to, so new runs are numbered after it."""
        self._sql("INSERT OR IGNORE INTO runs (id, storyboard, started_at, summary) VALUES (?, ?, ?, ?)",
                  (run, storyboard, started_at, json.dumps({"recovered": True})))


_COLUMNS = frozenset(Take.__dataclass_fields__)


def live_take(takes: list[Take]) -> Take | None:
    """The take of a key that counts: the newest downloaded one, else the newest still in progress."""
    done = [t for t in takes if t.state is TakeState.DOWNLOADED]
    if done:
        return done[-1]
    going = [t for t in takes if not t.state.ended_badly]
    return going[-1] if going else None


def _take(row: sqlite3.Row) -> Take:
    data = dict(row)
    data["params"] = json.loads(data["params"])
    data["request"] = json.loads(data["request"])
    data["state"] = TakeState(data["state"])
    data["retryable"] = None if data["retryable"] is None else bool(data["retryable"])
    return Take(**data)


# -- what sqlite says about the machine -----------------------------------------------------------------------------

_UNREADABLE = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_WRITABLE = "make it and its folder writable for this user"
# sqlite's result code -> (reason, fix on opening, fix mid-run); the code's own words are added after the reason.
_SQLITE_CAUSES: dict[str, tuple[str, str, str]] = {
    "SQLITE_FULL": ("no space left on the device", "free some space on its disk", "free some space on its disk"),
    "SQLITE_IOERR": ("an input/output error on the disk", "check the disk", "check the disk"),
    "SQLITE_READONLY": ("cannot be written", f"{_WRITABLE}, or give another --out", f"{_WRITABLE} again"),
    "SQLITE_CANTOPEN": ("cannot be opened read-write", f"{_WRITABLE}, or give another --out", f"{_WRITABLE} again"),
    "SQLITE_PERM": ("permission denied", f"{_WRITABLE}, or give another --out", f"{_WRITABLE} again"),
    "SQLITE_BUSY": ("locked by another program", "close whatever has it open", "close whatever has it open"),
    "SQLITE_LOCKED": ("locked by another program", "close whatever has it open", "close whatever has it open"),
}


def _code(exc: sqlite3.Error) -> str:
    return str(getattr(exc, "sqlite_errorname", "") or "")


def _cause(exc: sqlite3.Error) -> tuple[str, str, str] | None:
    code = _code(exc)
    return next((cause for prefix, cause in _SQLITE_CAUSES.items() if code.startswith(prefix)), None)


def sqlite_damage(exc: sqlite3.Error) -> bool:
    """Whether sqlite cannot read the file as a database (damaged, truncated, not a database at all)."""
    return _code(exc).startswith(_UNREADABLE)


def sqlite_unusable(path: Path, exc: sqlite3.Error) -> Exception:
    """RunDirUnusable for a journal sqlite may not open read-write (permissions, a read-only file system, a full
    disk, another program's lock); `exc` itself for anything else."""
    cause = _cause(exc)
    if cause is None:
        return exc
    reason, fix, _ = cause
    return RunDirUnusable(path, f"{reason} (sqlite: {exc})", fix)


def write_failure(path: Path, exc: sqlite3.Error) -> RunWriteFailed | None:
    """RunWriteFailed for a journal statement that failed on the machine mid-run; None for anything else (a bug)."""
    if sqlite_damage(exc):
        return RunWriteFailed(path.parent, path, f"the journal turned unreadable (sqlite: {exc})",
                              f"rebuild it with `orchestrator recover {path.parent}` (no provider call)",
                              consistent=False)
    cause = _cause(exc)
    if cause is None:
        return None
    reason, _, again = cause
    return RunWriteFailed(path.parent, path, f"{reason} (sqlite: {exc})", again)
