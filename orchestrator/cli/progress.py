"""Watching a run: a live table on a terminal, JSON lines for programs, plain lines otherwise (DESIGN.md §9)."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any, Self

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


def plain_lines(stream: IO[str] | None = None, prefixed: bool = False) -> Any:
    """A watcher printing one short line per shot event (for logs and pipes); `prefixed`: each line starts with
    the event's storyboard (a batch)."""
    out = stream or sys.stderr

    def watch(event: Event) -> None:
        kind = event["event"]
        if "shot" not in event and kind != "assembled":
            return
        detail = {k: v for k, v in event.items() if k in ("task_id", "reason", "path", "output", *_MONEY_KEYS)}
        text = " ".join(f"{k}={v}" for k, v in detail.items())
        where = f"{event.get('storyboard', '')}: " if prefixed else ""
        out.write(f"{where}{event.get('shot', '')} {kind} {text}".strip() + "\n")
        out.flush()

    return watch


class Redrawn:
    """A table redrawn in place while its block runs, and left on the terminal at the end."""

    console: Console
    live: Live | None
    refresh: float = 4  # redraws a second

    def _table(self) -> Table:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.live = Live(self._table(), console=self.console, refresh_per_second=self.refresh, transient=False)
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self._table())
            self.live.__exit__(None, None, None)


@dataclass
class LiveTable(Redrawn):
    """Each shot's state and elapsed time, and the run's spend, redrawn as events arrive."""

    console: Console
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    spent: float = 0.0
    money: Currency = USD
    started: float = field(default_factory=time.monotonic)
    live: Live | None = None

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


_BATCH_STATES = ("queued", "running", "done", "reused", "FAILED", "blocked")


@dataclass
class BatchTable(Redrawn):
    """One row per storyboard of a batch: how many of its shots are in each state, and what it spent."""

    console: Console
    names: list[str]
    shots: dict[str, dict[str, str]] = field(default_factory=dict)  # storyboard -> shot -> state
    spent: float = 0.0
    money: Currency = USD
    exits: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    live: Live | None = None

    def __call__(self, event: Event) -> None:
        board, kind, shot = str(event.get("storyboard", "")), event["event"], event.get("shot")
        states = self.shots.setdefault(board, {})
        if kind == "run_started":
            self.money = CURRENCIES.get(str(event.get("currency")), USD)
            for name in event.get("decisions", {}):
                states.setdefault(name, "waiting")
        if shot is not None and kind in _STATE_OF:
            states[shot] = _STATE_OF[kind]
        if kind == "succeeded":
            self.spent += float(event.get(self.money.key) or 0.0)
        if kind == "run_finished":
            self.exits[board] = int(event.get("exit_code", 0))
        if self.live is not None:
            self.live.update(self._table())

    def _table(self) -> Table:
        states = [self.shots.get(name, {}) for name in self.names]
        # A succeeded shot is still downloading: it counts as running until its files are in.
        counts = [[sum(1 for s in shots.values() if s == state or (state, s) == ("running", "succeeded"))
                   for shots in states] for state in _BATCH_STATES]
        ended = [("done" if self.exits[n] == 0 else f"exit {self.exits[n]}") if n in self.exits else ""
                 for n in self.names]
        columns = [Column("storyboard", list(self.names)), Column("shots", [str(len(s)) for s in states],
                                                                  justify="right")]
        columns += [Column(state, [str(n) if n else "" for n in row], justify="right", drop=i + 1)
                    for i, (state, row) in enumerate(zip(_BATCH_STATES, counts, strict=True))]
        columns.append(Column("run", ended))
        layout = fit(columns, self.console.width)
        elapsed = time.monotonic() - self.started
        return fitted_table(layout, f"{len(self.names)} storyboards · spent {self.money.show(self.spent)} · "
                                    f"{elapsed:,.0f} s")
