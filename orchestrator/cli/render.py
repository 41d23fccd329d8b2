"""How plans, graphs and diagnostics look on a terminal or as JSON. No decisions here, only presentation."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.engine.decide import Decisions
from orchestrator.engine.inspect import RunStatus
from orchestrator.engine.plan import Plan
from orchestrator.models import MODELS
from orchestrator.profiles import CURRENCIES, money_keys
from orchestrator.storyboard.diagnostics import Diagnostic
from orchestrator.storyboard.graph import ShotGraph


def console() -> Console:
    """A stdout console; wide when not a terminal so piped tables are not squeezed to 80 columns."""
    out = Console(highlight=False, soft_wrap=False)
    if not out.is_terminal:
        out = Console(highlight=False, soft_wrap=False, width=160)
    return out


def print_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    """One line per diagnostic on stderr, plain text (paths like shots[2] are not markup)."""
    for d in diagnostics:
        sys.stderr.write(d.render() + "\n")


def plan_json(plan: Plan, decisions: Decisions | None = None) -> str:
    """The plan as one JSON document (with its `currency`); with decisions, each shot's action, reason and cost to
    generate."""
    body: dict[str, Any] = dataclasses.asdict(plan)
    body["over_budget"] = plan.over_budget
    if decisions is not None:
        body["decisions"] = [{"shot": d.shot, "action": d.action.value, "reason": d.reason, "amount": d.amount}
                             for d in decisions.shots]
        body["amount_to_generate"] = decisions.amount
    return json.dumps(money_keys(body, plan.currency), indent=2, default=float)  # exact Decimals as numbers


def plan_tables(plan: Plan, out: Console, decisions: Decisions | None = None) -> None:
    """The plan as a shot table (with each shot's action when a run exists), an output table and a total line."""
    notes: dict[str, int] = {}
    shots = Table(title=f"Plan for {plan.name} ({plan.currency})", title_justify="left")
    for column, justify in (("#", "right"), ("shot", "left"), ("after", "left"), ("model", "left"),
                            ("res", "left"), ("ratio", "left"), ("size", "right"), ("sec", "right"),
                            ("tokens", "right"), (plan.currency, "right"), ("notes", "left")):
        shots.add_column(column, justify=justify)  # type: ignore[arg-type]
    if decisions is not None:
        shots.add_column("action")
        shots.add_column("why")
    for s in plan.shots:
        marks = " ".join(f"[{notes.setdefault(n, len(notes) + 1)}]" for n in s.notes)
        extra = (decisions.of(s.id).action.value, decisions.of(s.id).reason) if decisions is not None else ()
        shots.add_row(*(Text(v) for v in (
            str(s.order), s.id, s.parent or "-", _model_label(s.model, s.endpoint),
            s.resolution, s.ratio, f"{s.width}x{s.height}", f"{s.seconds:g}", f"{s.tokens:,}",
            f"{s.amount:.2f}", marks, *extra,
        )))
    out.print(shots)
    for note, number in notes.items():
        out.print(Text(f"  [{number}] {note}"))
    films = Table(title="Outputs", title_justify="left")
    for column in ("output", "shots", "film sec", "tokens", plan.currency):
        films.add_column(column, justify="left" if column in {"output"} else "right")
    for o in plan.outputs:
        films.add_row(*(Text(v) for v in (o.name, str(len(o.shots)), f"{o.seconds:.2f}", f"{o.tokens:,}",
                                          f"{o.amount:.2f}")))
    out.print(films)
    out.print(Text(total_line(plan)))
    if decisions is not None:
        counts = {a: sum(1 for d in decisions.shots if d.action.value == a) for a in ("reuse", "resume", "generate")}
        out.print(Text(f"This run: {counts['reuse']} reuse, {counts['resume']} resume, {counts['generate']} "
                       f"generate; to spend: {plan.money.show(decisions.amount)}"))


def status_tables(info: RunStatus, out: Console) -> None:
    """A run's shots and films."""
    shots = Table(title=f"Run {info.run_dir}", title_justify="left")
    for column in ("shot", "state", "task", "attempts", "tokens", info.currency, "clip / error"):
        shots.add_column(column, justify="right" if column in {"attempts", "tokens", info.currency} else "left")
    for s in info.shots:
        shots.add_row(*(Text(v) for v in (s.shot, s.state, s.task_id or "-", str(s.attempts), f"{s.tokens:,}",
                                          f"{s.amount:.2f}", s.clip or s.error or "")))
    out.print(shots)
    for name, path in info.films.items():
        why = info.stale.get(name)
        out.print(Text(f"film {name}: {path}" + (f"  STALE: {why}" if why else "")))
    money = "simulated, nothing was paid" if info.simulated else f"{info.tokens:,} tokens"
    out.print(Text(f"Spent: {CURRENCIES[info.currency].show(info.amount)} ({money})"))


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
