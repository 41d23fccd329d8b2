"""Run events: one record per step, appended to `events.jsonl` and handed to whoever watches (table, JSON lines).

Kinds: run_started, reused, submitted, running, succeeded, downloaded (with `received`: when the clip was on disk,
before its checks), retrying, throttled (a 429 the client rides out; the in-flight limit shrinks), failed, blocked,
assembled (a film in place and verified; its QC and the report follow), run_finished. Every event has `event`,
`time` (unix seconds) and, for shot events, `shot`; in a batch, the JSON lines also carry `storyboard`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

Event = dict[str, Any]
Watcher = Callable[[Event], None]


@dataclass
class EventLog:
    """Writes each event to the run's events.jsonl and passes it to the watchers."""

    path: Path | None = None
    watchers: list[Watcher] = field(default_factory=list)
    _fh: IO[str] | None = None

    def open(self) -> EventLog:
        """Start appending to the file."""
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        return self

    def close(self) -> None:
        """Stop appending."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def emit(self, kind: str, shot: str | None = None, /, **data: Any) -> Event:
        """Record one event."""
        event: Event = {"event": kind, "time": round(time.time(), 3)}
        if shot is not None:
            event["shot"] = shot
        event.update(data)
        if self._fh is not None:
            self._fh.write(json.dumps(event, sort_keys=False) + "\n")
            self._fh.flush()
        for watch in self.watchers:
            watch(event)
        return event
