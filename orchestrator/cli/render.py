"""How plans, graphs and diagnostics look on a terminal or as JSON. No decisions here, only presentation."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.console import Console, JustifyMethod
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from orchestrator.engine.decide import Decisions
from orchestrator.engine.inspect import RunStatus
from orchestrator.engine.ledger import Ledger
from orchestrator.engine.plan import Plan
from orchestrator.models import MODELS
from orchestrator.profiles import CURRENCIES, Currency, money_keys
from orchestrator.storyboard.diagnostics import Diagnostic, render_all
from orchestrator.storyboard.graph import ShotGraph

DEFAULT_WIDTH = 100  # piped output without COLUMNS: what a log, a pager or a review tool shows whole
WRAP_MIN = 24  # narrowest a free-text column may get (a task id fits); narrower, it moves under the table
PLAN_HINT = "orchestrator plan --json shows them, as does a wider terminal"
STATUS_HINT = "orchestrator status --json shows them, as does a wider terminal"


def console() -> Console:
    """A stdout console as wide as the terminal (rich honours COLUMNS); DEFAULT_WIDTH when piped without COLUMNS."""
    out = Console(highlight=False, soft_wrap=False)
    if not out.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
        out = Console(highlight=False, soft_wrap=False, width=DEFAULT_WIDTH)
    return out


@dataclass(frozen=True)
class Column:
    """One table column: its header, cells, and what gives way when the terminal is too narrow for it."""

    header: str
    cells: Sequence[str | Text]
    short: str = ""  # abbreviated header, used once full headers do not fit
    justify: JustifyMethod = "left"
    drop: int = 0  # 0: always shown; else left out in this order (1 first) while the table is too wide
    wrap: bool = False  # free text (reasons, paths): takes the width left and wraps, or moves under the table
    name: str = ""  # how a footnote names it when left out (default: the header)

    @cached_property
    def texts(self) -> list[Text]:
        """The cells as rich text (plain strings are never read as markup: ids like shots[2] stay as they are)."""
        return [c if isinstance(c, Text) else Text(c) for c in self.cells]

    def title(self, short: bool) -> str:
        """The header at this level of abbreviation."""
        return self.short if short and self.short else self.header

    def natural(self, short: bool) -> int:
        """Cells needed to show the header and every cell on one line."""
        lines = [line for t in self.texts for line in t.plain.splitlines()]
        return max([cell_len(self.title(short)), *(cell_len(line) for line in lines)])

    def least(self, short: bool) -> int:
        """Cells this column needs at the least: all of them, except free text, which may wrap down to WRAP_MIN
        or its longest word (a path breaks after each '/')."""
        if not self.wrap:
            return self.natural(short)
        words = [w for t in self.texts for w in re.split(r"\s+|(?<=/)", t.plain)]
        return min(self.natural(short), max([WRAP_MIN, *(cell_len(w) for w in words)]))


@dataclass(frozen=True)
class Fit:
    """The layout of a table at a width: the columns shown, abbreviated or not, and what was left out."""

    shown: list[Column]
    short: bool
    dropped: list[Column]
    width: int
    below: Column | None = None  # free text printed under the table, per row, instead of in it

    @property
    def needed(self) -> int:
        """Width of the table at its narrowest: the columns, one space each side, and the rules between."""
        return sum(c.least(self.short) for c in self.shown) + 3 * len(self.shown) + 1

    def column_width(self, column: Column) -> int:
        """Free text gets what the other columns leave; every other column its whole content."""
        if not column.wrap:
            return column.natural(self.short)
        return max(1, min(column.natural(self.short), column.least(self.short) + self.width - self.needed))


def fit(columns: Sequence[Column], width: int) -> Fit:
    """How `columns` fit `width` cells with no cell cut: full headers, else short ones, else the least useful
    columns left out; free text that would cost columns to keep in the table moves under it instead."""
    inside = _fit_inside(list(columns), width)
    wrapped = next((c for c in columns if c.wrap), None)
    if wrapped is None or (not inside.dropped and inside.needed <= width):
        return inside
    under = dataclasses.replace(_fit_inside([c for c in columns if c is not wrapped], width), below=wrapped)
    return min((inside, under), key=lambda f: (f.needed > width, len(f.dropped)))  # a tie keeps it inside


def _fit_inside(columns: list[Column], width: int) -> Fit:
    for short in (False, True):
        whole = Fit(columns, short, [], width)
        if whole.needed <= width:
            return whole
    shown, dropped = list(columns), list[Column]()
    for column in sorted((c for c in columns if c.drop), key=lambda c: c.drop):
        if Fit(shown, True, dropped, width).needed <= width:
            break
        shown.remove(column)
        dropped.append(column)
    whole = Fit(shown, False, dropped, width)  # with columns gone, full headers may fit again
    return whole if whole.needed <= width else dataclasses.replace(whole, short=True)


def fitted_table(layout: Fit, title: str | None = None) -> Table:
    """A table of the columns `layout` shows, each as wide as it chose; nothing is ever cut with an ellipsis."""
    table = Table(title=title, title_justify="left")
    widths = [layout.column_width(c) for c in layout.shown]
    for column, width in zip(layout.shown, widths, strict=True):
        table.add_column(column.title(layout.short), justify=column.justify, width=width, overflow="fold")
    for row in zip(*(c.texts for c in layout.shown), strict=True):
        table.add_row(*(_break_path(cell, w) for cell, w in zip(row, widths, strict=True)))
    return table


def left_out(layout: Fit, hint: str) -> str | None:
    """The footnote naming the columns `layout` left out and where to see them (None: nothing left out)."""
    if not layout.dropped:
        return None
    names = ", ".join(c.name or c.header for c in layout.dropped)
    return f"Not shown at {layout.width} columns: {names} ({hint})"


def print_table(out: Console, columns: Sequence[Column], keys: Sequence[str], hint: str, title: str | None = None,
                notes: Sequence[str] = ()) -> None:
    """`columns` as a table fitted to the console and its `notes`, then what was left out and where to see it,
    then any free text moved under it (one row per key)."""
    layout = fit(columns, out.width)
    out.print(fitted_table(layout, title))
    for line in notes:
        out.print(Text(line))
    note = left_out(layout, hint)
    if note is not None:
        out.print(Text(note))
    if layout.below is not None:
        out.print(Text(f"{layout.below.name or layout.below.header}:"))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(overflow="fold")
        grid.add_column(overflow="fold")
        room = out.width - 2 - max(map(cell_len, keys), default=0) - 2  # indent, key, gap
        for key, text in zip(keys, layout.below.texts, strict=True):
            grid.add_row(Text(key), _break_path(text, room))
        out.print(Padding(grid, (0, 0, 0, 2)))


def print_path(out: Console, label: str, path: str, after: str = "") -> None:
    """`label path after`, the path never cut: on the label's line when it fits there, else on lines of its own
    broken after a '/', so that the lines joined give it back."""
    if cell_len(f"{label} {path}") <= out.width:
        out.print(Text(f"{label} {path}{after}"))
        return
    out.print(Text(label))
    out.print(Text(_path_lines(path, out.width)))
    if after:
        out.print(Text(after.strip()))


def _break_path(cell: Text, width: int) -> Text:
    # A path wider than its column breaks after a '/', where a reader expects it, not at whatever character
    # the column ends on (rich only breaks at spaces, and folds anything else mid-name). Free text keeps rich's
    # wrapping at spaces.
    plain = cell.plain
    if cell_len(plain) <= width or "/" not in plain or re.search(r"\s", plain):
        return cell
    return Text(_path_lines(plain, width), style=cell.style)


def _path_lines(path: str, width: int) -> str:
    """`path` as lines of at most `width` cells, each ending on a '/' where it can (a longer name folds)."""
    lines, line = [], ""
    for part in re.split(r"(?<=/)", path):
        if line and cell_len(line + part) > width:
            lines.append(line)
            line = ""
        line += part
    return "\n".join([*lines, line])


def print_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    """One line per diagnostic on stderr, plain text (paths like shots[2] are not markup)."""
    for line in render_all(list(diagnostics)):
        sys.stderr.write(line + "\n")


def plan_json(plan: Plan, decisions: Decisions | None = None, book: Ledger | None = None) -> str:
    """The plan as one JSON document (with its `currency`); with decisions, each shot's action, reason and cost to
    generate; with the ledger, what all runs spent and their cap."""
    body: dict[str, Any] = dataclasses.asdict(plan)
    body["over_budget"] = plan.over_budget
    if book is not None:
        body["ledger"] = {"spent": book.spent, "pending": book.pending, "runs": book.runs, "budget_total": book.cap}
    if decisions is not None:
        body["decisions"] = [{"shot": d.shot, "action": d.action.value, "reason": d.reason, "amount": d.amount}
                             for d in decisions.shots]
        body["amount_to_generate"] = decisions.amount
    return json.dumps(money_keys(body, plan.currency), indent=2, default=float)  # exact Decimals as numbers


def plan_tables(plan: Plan, out: Console, decisions: Decisions | None = None, book: Ledger | None = None) -> None:
    """The plan as a shot table (with each shot's action when a run exists), an output table and a total line,
    fitted to the console's width."""
    notes: dict[str, int] = {}
    marks = [" ".join(f"[{notes.setdefault(n, len(notes) + 1)}]" for n in s.notes) for s in plan.shots]
    print_table(out, _plan_columns(plan, marks, decisions), [s.id for s in plan.shots], PLAN_HINT,
                title=f"Plan for {plan.name} ({plan.currency})",
                notes=[f"  [{number}] {note}" for note, number in notes.items()])
    outputs = [
        Column("output", [o.name for o in plan.outputs]),
        Column("shots", [str(len(o.shots)) for o in plan.outputs], justify="right"),
        Column("film sec", [f"{o.seconds:.2f}" for o in plan.outputs], short="sec", justify="right"),
        Column("tokens", [f"{o.tokens:,}" for o in plan.outputs], short="tok", justify="right", drop=1),
        Column(plan.currency, [f"{o.amount:.2f}" for o in plan.outputs], justify="right"),
    ]
    print_table(out, outputs, [o.name for o in plan.outputs], PLAN_HINT, title="Outputs")
    out.print(Text(total_line(plan)))
    if decisions is not None:
        counts = {a: sum(1 for d in decisions.shots if d.action.value == a) for a in ("reuse", "resume", "generate")}
        out.print(Text(f"This run: {counts['reuse']} reuse, {counts['resume']} resume, {counts['generate']} "
                       f"generate; to spend: {plan.money.show(decisions.amount)}"))
    if book is not None and (book.runs or book.cap is not None):
        out.print(Text(ledger_line(book, plan.money)))


def ledger_line(book: Ledger, money: Currency) -> str:
    """'All runs: $5.03 spent by 3 runs; cap $20.00, $14.97 left'."""
    line = f"All runs: {money.show(float(book.committed))} spent by {book.runs} run(s)"
    if book.pending:
        line += f" ({money.show(float(book.pending))} of it not billed yet)"
    if book.cap is not None:
        line += f"; cap {money.show(float(book.cap))}, {money.show(float(book.left or 0))} left"
    return line


def _plan_columns(plan: Plan, marks: list[str], decisions: Decisions | None) -> list[Column]:
    # Left out first: what another column already says (# is the row order, res and ratio are in size), then
    # what the totals and --json carry (tokens, size), and the note marks only below 80 columns. Shot, parent,
    # model, seconds and cost always stay.
    shots = plan.shots
    columns = [
        Column("#", [str(s.order) for s in shots], justify="right", drop=1, name="# (order)"),
        Column("shot", [s.id for s in shots]),
        Column("after", [s.parent or "-" for s in shots]),
        Column("model", [_model_label(s.model, s.endpoint) for s in shots]),
        Column("res", [s.resolution for s in shots], drop=2, name="res (resolution)"),
        Column("ratio", [s.ratio for s in shots], drop=3),
        Column("size", [f"{s.width}x{s.height}" for s in shots], justify="right", drop=5),
        Column("sec", [f"{s.seconds:g}" for s in shots], justify="right"),
        Column("tokens", [f"{s.tokens:,}" for s in shots], short="tok", justify="right", drop=4),
        Column(plan.currency, [f"{s.amount:.2f}" for s in shots], justify="right"),
        Column("notes", marks, drop=6, name="notes (the [n] marks of the lines below)"),
    ]
    if decisions is not None:
        chosen = [decisions.of(s.id) for s in shots]
        columns += [Column("action", [d.action.value for d in chosen]),
                    Column("why", [d.reason for d in chosen], wrap=True)]
    return columns


def status_tables(info: RunStatus, out: Console) -> None:
    """A run's directory, its shots (clips named inside the directory) and its films, fitted to the console."""
    print_path(out, "Run directory:", info.run_dir)
    shots = info.shots
    columns = [
        Column("shot", [s.shot for s in shots]),
        Column("state", [s.state for s in shots]),
        Column("task", [s.task_id or "-" for s in shots], drop=1, name="task id"),
        Column("attempts", [str(s.attempts) for s in shots], short="tries", justify="right", drop=3),
        Column("tokens", [f"{s.tokens:,}" for s in shots], short="tok", justify="right", drop=2),
        Column(info.currency, [f"{s.amount:.2f}" for s in shots], justify="right"),
        Column("clip in run directory / error", [_in_run(s.clip, info.run_dir) or s.error or "" for s in shots],
               short="clip / error", wrap=True),
    ]
    print_table(out, columns, [s.shot for s in shots], STATUS_HINT)
    for name, path in info.films.items():
        why = info.stale.get(name)
        kept = info.versions.get(name)
        earlier = f"  ({kept} earlier version{'s' if kept > 1 else ''} in outputs/versions)" if kept else ""
        print_path(out, f"film {name}:", path, (f"  STALE: {why}" if why else "") + earlier)
    money = "simulated, nothing was paid" if info.simulated else f"{info.tokens:,} tokens"
    cap = info.budget_total
    left = f"; cap on all runs {CURRENCIES[info.currency].show(cap)}, " \
        f"{CURRENCIES[info.currency].show(max(cap - info.amount, 0))} left" if cap is not None else ""
    out.print(Text(f"Spent: {CURRENCIES[info.currency].show(info.amount)} by all runs ({money}){left}"))


def _in_run(clip: str | None, run_dir: str) -> str | None:
    # The run directory is printed once above the table; repeating it in every row would make each clip path
    # wrap over several lines, so a clip under it is named from there.
    if clip is None:
        return None
    path = Path(clip)
    return str(path.relative_to(run_dir)) if path.is_relative_to(run_dir) else clip


def total_line(plan: Plan) -> str:
    """'Run total: ...' with the budget and whether prices are confirmed."""
    budget = "no budget set" if plan.budget is None else f"budget {plan.money.show(plan.budget)}"
    if plan.over_budget:
        budget += " - OVER BUDGET"
    estimate = "" if plan.prices_confirmed else " (some prices unconfirmed: see notes)"
    return (f"Run total: {len(plan.shots)} shots, {plan.tokens:,} tokens, {plan.money.show(plan.amount)}"
            f"{estimate}; {budget}")


def _model_label(model_id: str, endpoint: str | None) -> str:
    label = MODELS[model_id].label.removeprefix("Seedance ")
    return label if endpoint is None else f"{label} via {endpoint}"


def mermaid(graph: ShotGraph, labels: dict[str, str]) -> str:
    """Mermaid flowchart source: one node per shot, one arrow per chain edge."""
    names = _node_names(graph)
    lines = ["flowchart LR"]
    lines += [f'    {names[node]}["{labels.get(node, node)}"]' for node in graph.nodes]
    lines += [f"    {names[a]} --> {names[b]}" for a, b in graph.edges]
    return "\n".join(lines) + "\n"


def dot(graph: ShotGraph, labels: dict[str, str], name: str) -> str:
    """Graphviz DOT source: one node per shot, one arrow per chain edge."""
    lines = [f'digraph "{name}" {{', "    rankdir=LR;", "    node [shape=box];"]
    for node in graph.nodes:
        label = labels.get(node, node).replace('"', '\\"').replace("<br/>", "\\n")
        lines.append(f'    "{node}" [label="{label}"];')
    lines += [f'    "{a}" -> "{b}";' for a, b in graph.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node_names(graph: ShotGraph) -> dict[str, str]:
    # By position, not by id: Mermaid ids cannot hold '-', and 'a-b' and 'a_b' must stay two nodes.
    return {node: f"s{index}" for index, node in enumerate(graph.nodes)}
