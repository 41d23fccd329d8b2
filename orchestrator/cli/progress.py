"""Watching a run: a live table on a terminal, JSON lines for programs, plain lines otherwise (DESIGN.md §9)."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from orchestrator.engine.events import Event
from orchestrator.profiles import CURRENCIES, USD, Currency

from .render import Column, fit, fitted_table, left_out

_STATE_OF = {"reused": "reused", "submitted": "queued", "running": "running", "succeeded": "succeeded",
             "downloaded": "done", "retrying": "retrying", "failed": "FAILED", "blocked": "blocked"}
_STYLE = {"done": "green", "reused": "cyan", "FAILED": "bold red", "blocked": "red", "retrying": "yellow",
          "running": "bold", "queued": "dim"}


_MONEY_KEYS = tuple(c.key for c in CURRENCIES.values())  # events name amounts by currency: usd=, cny=

def json_lines(stream: IO[str] | None = None) -> Any:
    """A watcher printing one JSON object per event."""
    out = stream or sys.stdout

    def watch(event: Event) -> None:
        out.write(json.dumps(event) + "\n")
        out.flush()

    return watch


def plain_lines(stream: IO[str] | None = None) -> Any:
    """A watcher printing one short line per shot event (for logs and pipes)."""
    out = stream or sys.stderr

    def watch(event: Event) -> None:
        kind = event["event"]
        if "shot" not in event and kind != "assembled":
            return
        detail = {k: v for k, v in event.items() if k in ("task_id", "reason", "path", "output", *_MONEY_KEYS)}
        text = " ".join(f"{k}={v}" for k, v in detail.items())
        out.write(f"{event.get('shot', '')} {kind} {text}".strip() + "\n")
        out.flush()

    return watch


@dataclass
class LiveTable:
    """Each shot's state and elapsed time, and the run's spend, redrawn as events arrive."""

    console: Console
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    spent: float = 0.0
    money: Currency = USD
    started: float = field(default_factory=time.monotonic)
    live: Live | None = None

    def __enter__(self) -> LiveTable:
        self.live = Live(self._table(), console=self.console, refresh_per_second=4, transient=False)
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self._table())
            self.live.__exit__(None, None, None)

    def __call__(self, event: Event) -> None:
        shot = event.get("shot")
        kind = event["event"]
        if kind == "run_started":
            self.money = CURRENCIES.get(str(event.get("currency")), USD)
            for name, action in event.get("decisions", {}).items():
                self.rows[name] = {"state": "waiting", "action": action, "since": time.monotonic(), "task": ""}
        if shot is not None and kind in _STATE_OF:
            row = self.rows.setdefault(shot, {"action": "", "task": "", "since": time.monotonic()})
            if row.get("state") in (None, "waiting") and kind in ("submitted", "reused"):
                row["since"] = time.monotonic()
            row["state"] = _STATE_OF[kind]
            row["task"] = event.get("task_id", row["task"])
            if kind in ("downloaded", "failed", "reused", "blocked"):
                row["ended"] = time.monotonic()
        if kind == "succeeded":
            self.spent += float(event.get(self.money.key) or 0.0)
        if self.live is not None:
            self.live.update(self._table())

    def _table(self) -> Table:
        now = time.monotonic()
        rows = list(self.rows.items())
        states = [row.get("state", "waiting") for _, row in rows]
        elapsed = [(row.get("ended") or now) - row["since"] if state != "waiting" else 0.0
                   for (_, row), state in zip(rows, states, strict=True)]
        columns = [
            Column("shot", [shot for shot, _ in rows]),
            Column("plan", [row.get("action", "") for _, row in rows]),
            Column("state", [Text(state, style=_STYLE.get(state, "")) for state in states]),
            Column("task", [row.get("task") or "" for _, row in rows], drop=1, name="task id"),
            Column("elapsed", [f"{e:,.0f} s" if e else "" for e in elapsed], short="time", justify="right"),
        ]
        # Redrawn at the terminal's width each time, so a resized terminal is followed.
        layout = fit(columns, self.console.width)
        table = fitted_table(layout, f"spent {self.money.show(self.spent)} · {now - self.started:,.0f} s")
        table.caption = left_out(layout, "orchestrator status --json shows them")
        table.caption_justify = "left"
        return table
