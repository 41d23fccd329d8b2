"""Rebuilding a lost or damaged journal from what the run directory still holds: every take keeps a
mirror of its journal row beside its files (`shots/<id>/<key12>/take-<n>.json`), and every finished take its clip,
last frame and the provider's `task.json`. Nothing is asked of the provider and nothing is paid: the next run resumes
from the rebuilt journal as from the lost one (an unanswered create is reconciled, a submitted task polled, a
finished one reused).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.assembly.errors import ClipInvalid
from orchestrator.assembly.probe import probe
from orchestrator.assembly.temp import temporary
from orchestrator.engine.journal import JOURNAL_NAME, Journal, TakeState, write_failure
from orchestrator.engine.keys import sha256_path
from orchestrator.engine.rundir import RunDir, RunLock, journal_problem
from orchestrator.errors import ConfigError
from orchestrator.profiles import PROFILES, Profile, family_of


@dataclass
class Recovery:
    """What a recovery did."""

    run_dir: Path
    problem: str
    kept_as: Path | None  # where the damaged journal was moved (None: there was none)
    takes: dict[str, int] = field(default_factory=dict)  # state -> count
    skipped: list[str] = field(default_factory=list)  # records that could not be read, and why

    def lines(self) -> list[str]:
        """A short report, one line each."""
        counts = ", ".join(f"{n} {state}" for state, n in sorted(self.takes.items())) or "no takes"
        out = [f"{self.run_dir}: journal was {self.problem}; rebuilt from the take records: {counts}"]
        if self.kept_as is not None:
            out.append(f"the damaged journal is kept as {self.kept_as}")
        out += [f"skipped {s}" for s in self.skipped]
        return out


async def recover(run_dir: RunDir, storyboard: str | None) -> Recovery:
    """Rebuild `run_dir`'s journal from its take records (under the run directory's lock)."""
    with RunLock(run_dir):
        problem = journal_problem(run_dir.journal)
        if problem is None:
            raise ConfigError(f"{run_dir.root}: the journal is whole; there is nothing to recover")
        records, skipped = _read_records(run_dir)
        if not records:
            raise ConfigError(f"{run_dir.root}: the journal is {problem} and shots/ holds no take records to rebuild "
                              "it from (runs before this version kept none); move the run directory away to start "
                              "over")
        # Built under a temp name and renamed into place whole: a recovery that fails half-way (a full disk, a kill)
        # must leave the damaged journal to be refused again, never a partial one a run would trust and pay again.
        with temporary(run_dir.journal, ".part") as building:
            try:
                takes = await _rebuild(run_dir, building, storyboard, records)
                _settle_wal(building)
                kept = _set_aside(run_dir.journal)
                building.replace(run_dir.journal)
            finally:
                for suffix in ("-wal", "-shm"):
                    building.with_name(building.name + suffix).unlink(missing_ok=True)
        return Recovery(run_dir.root, problem, kept, takes, skipped)


async def _rebuild(run_dir: RunDir, path: Path, storyboard: str | None,
                   records: list[dict[str, Any]]) -> dict[str, int]:
    """A journal at `path` holding every take record; the count of takes by state."""
    counts: dict[str, int] = {}
    journal = Journal(path)
    try:
        started = _last_started(run_dir) or {}
        source = storyboard or str(started.get("storyboard") or "")
        if source:
            journal.set_meta("storyboard", source)
        profile = _profile(started, records)
        if profile is not None:  # the take records' amounts are in it (events before regions: USD, the default)
            journal.set_meta("region", profile.region.value)
            journal.set_meta("currency", profile.currency.code)
        for run in sorted({int(r["run"]) for r in records}):
            journal.restore_run(run, source, min(float(r["intent_at"]) for r in records if r["run"] == run))
        for record in records:
            record["state"] = (await _verified_state(run_dir, record)).value
            take = journal.restore(record)
            counts[take.state.value] = counts.get(take.state.value, 0) + 1
        for shot, variant in _variants(records).items():
            journal.set_variant(shot, variant)
    finally:
        journal.close()
    return counts


def _settle_wal(path: Path) -> None:
    """Fold the journal's write-ahead log into the file itself, so renaming the file moves every row."""
    try:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        failure = write_failure(path, exc)
        if failure is None:
            raise
        raise failure from exc


def _read_records(run_dir: RunDir) -> tuple[list[dict[str, Any]], list[str]]:
    records: list[dict[str, Any]] = []
    skipped: list[str] = []
    for path in run_dir.take_records():
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(record, dict) or not {"shot", "key", "state", "run", "intent_at"} <= set(record):
                raise ValueError("not a take record")
            TakeState(record["state"])
        except (OSError, ValueError) as exc:
            skipped.append(f"{path.relative_to(run_dir.root)}: {exc}")
            continue
        records.append(record)
    records.sort(key=lambda r: (float(r["intent_at"]), int(r.get("attempt", 0))))
    return records, skipped


async def _verified_state(run_dir: RunDir, record: dict[str, Any]) -> TakeState:
    """The state the files on disk support: a record may be one step behind the lost journal (a crash between the
    two writes), and a finished take is only finished if its clip and frame are whole."""
    state = TakeState(record["state"])
    if state.ended_badly or state is TakeState.INTENT or record.get("task_id") is None:
        return state
    shot, key = str(record["shot"]), str(record["key"])
    clip, frame = run_dir.clip(shot, key), run_dir.last_frame(shot, key)
    if not (clip.is_file() and _task_of(run_dir.task_json(shot, key)) == record["task_id"]):
        return TakeState.SUCCEEDED if state is TakeState.DOWNLOADED else state
    try:
        await probe(clip, decode=True)
    except ClipInvalid:
        return TakeState.SUCCEEDED
    record.update(clip_sha=sha256_path(clip), clip_size=clip.stat().st_size)
    if frame.is_file():
        record.update(frame_sha=sha256_path(frame), frame_size=frame.stat().st_size)
    return TakeState.DOWNLOADED


def _task_of(task_json: Path) -> str | None:
    try:
        task = json.loads(task_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(task.get("id")) if isinstance(task, dict) and task.get("status") == "succeeded" else None


def _variants(records: list[dict[str, Any]]) -> dict[str, int]:
    """Each shot's reroll number: that of its newest take."""
    newest: dict[str, int] = {}
    for record in records:  # oldest first
        newest[str(record["shot"])] = int((record.get("params") or {}).get("variant", 0))
    return {shot: n for shot, n in newest.items() if n}


def _set_aside(journal: Path) -> Path | None:
    """Move the damaged journal (and its WAL files) out of the way, keeping it for inspection."""
    if not journal.exists():
        return None
    kept = journal.with_name(f"{JOURNAL_NAME}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        part = journal.with_name(journal.name + suffix)
        if part.exists():
            part.replace(kept.with_name(kept.name + suffix))
    return kept


def _last_started(run_dir: RunDir) -> dict[str, Any] | None:
    """The newest run_started event of events.jsonl (its storyboard and currency)."""
    try:
        lines = run_dir.events.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == "run_started" and event.get("storyboard"):
            return event
    return None


def _profile(started: dict[str, Any], records: list[dict[str, Any]]) -> Profile | None:
    """The run's region: as its last run_started event says, else as its take records' model ids say (events.jsonl
    may be lost with the journal), else None (the journal's default)."""
    said = next((p for p in PROFILES.values() if p.currency.code == started.get("currency")), None)
    if said is not None:
        return said
    ids = {str(r["params"].get("serves") or r["params"].get("model") or "") for r in records}
    families = {family for i in ids if i and (family := family_of(i)) is not None}
    return PROFILES[next(iter(families))] if len(families) == 1 else None
