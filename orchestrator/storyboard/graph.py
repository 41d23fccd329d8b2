"""The shot graph: a node per shot, an edge parent -> child per `after`, and the structural rules on it."""

from __future__ import annotations

import heapq
from typing import TypeAlias

import networkx as nx

from orchestrator.storyboard.diagnostics import Diagnostic, did_you_mean
from orchestrator.storyboard.limits import SUGGESTIONS_MAX
from orchestrator.storyboard.loader import SourceMap
from orchestrator.storyboard.schema import Storyboard

# nodes: shot ids (attribute `index`); edges: parent -> child. Subscripted only for the type checker:
# networkx's classes are not generic at run time.
ShotGraph: TypeAlias = "nx.DiGraph[str]"


def shot_graph(storyboard: Storyboard) -> ShotGraph:
    """Build the graph; an `after` naming no shot adds no edge (it is reported by `structure_problems`)."""
    graph: ShotGraph = nx.DiGraph()
    for index, shot in enumerate(storyboard.shots):
        if shot.id not in graph:
            graph.add_node(shot.id, index=index)
    for shot in storyboard.shots:
        if shot.after is not None and shot.after in graph:
            graph.add_edge(shot.after, shot.id)
    return graph

_CYCLE_SHOWN = 12  # shots named in a cycle's message; a 9,000-shot loop stays one readable line


def structure_problems(storyboard: Storyboard, graph: ShotGraph, source: SourceMap,
                       cyclic: set[str]) -> list[Diagnostic]:
    """Duplicate ids, unknown parents, cycles (`cyclic`: in_cycles of the graph) and output entries that name no
    shot."""
    problems: list[Diagnostic] = []
    first_index: dict[str, int] = {}
    ids = [s.id for s in storyboard.shots]
    known = set(ids)  # a parent named before its shot is looked up once per shot: a list would be quadratic
    for index, shot in enumerate(storyboard.shots):
        if shot.id in first_index:
            where = f"shots[{first_index[shot.id]}]"
            problems.append(source.diagnostic(("shots", index, "id"), f"duplicate shot id '{shot.id}' (also {where})"))
        first_index.setdefault(shot.id, index)
        if shot.after is not None and shot.after not in known:
            hint = did_you_mean(shot.after, ids) if len(problems) < SUGGESTIONS_MAX else ""
            problems.append(source.diagnostic(("shots", index, "after"), f"'{shot.after}' names no shot{hint}"))
    for cycle in _cycles(graph, cyclic):
        index = min(graph.nodes[n]["index"] for n in cycle)
        start = cycle.index(storyboard.shots[index].id)
        loop = [*cycle[start:], *cycle[:start]]
        half = _CYCLE_SHOWN // 2
        shown = [*loop, loop[0]] if len(loop) <= _CYCLE_SHOWN else \
            [*loop[:half], f"({len(loop) - _CYCLE_SHOWN + 1:,} more)", *loop[1 - half:], loop[0]]
        chain = " -> ".join(shown)  # parent -> child, as the edges run
        problems.append(source.diagnostic(("shots", index, "after"), f"the chain is a cycle: {chain}"))
    for name, output in (storyboard.outputs or {}).items():
        for pos, entry in enumerate(output.shots):
            if entry not in first_index:
                hint = did_you_mean(entry, ids) if len(problems) < SUGGESTIONS_MAX else ""
                problems.append(source.diagnostic(output.entry_path(name, pos), f"'{entry}' names no shot{hint}"))
    return problems


def _cycles(graph: ShotGraph, cyclic: set[str]) -> list[list[str]]:
    # Only the shots caught in cycles are searched: on the whole graph, simple_cycles costs seconds at 10,000 shots.
    return [list(c) for c in nx.simple_cycles(graph.subgraph(cyclic))]


def in_cycles(graph: ShotGraph) -> set[str]:
    """Shots caught in a cycle: they have no well-defined parent. Linear: each walk up the parents stops at a
    shot already seen."""
    if any(degree > 1 for _, degree in graph.in_degree()):  # two shots share an id: the general way
        return {node for part in nx.strongly_connected_components(graph)
                if len(part) > 1 or graph.has_edge(*(next(iter(part)),) * 2) for node in part}
    done: set[str] = set()
    cyclic: set[str] = set()
    for start in graph:
        walk: dict[str, int] = {}  # shot -> its place on this walk
        node: str | None = start
        while node is not None and node not in done and node not in walk:
            walk[node] = len(walk)
            node = next(iter(graph.pred[node]), None)
        if node is not None and node in walk:
            cyclic.update(list(walk)[walk[node]:])
        done.update(walk)
    return cyclic


def with_ancestors(graph: ShotGraph, shots: set[str]) -> set[str]:
    """The shots and every shot they descend from, in one walk up the graph."""
    seen, todo = set(shots), list(shots)
    while todo:
        for parent in graph.predecessors(todo.pop()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def parents_first(storyboard: Storyboard, graph: ShotGraph, cyclic: set[str]) -> list[int]:
    """Shot indices with every parent before its children, else in file order; shots caught in cycles (`cyclic`)
    come last."""
    index = {node: graph.nodes[node]["index"] for node in graph if node not in cyclic}
    waiting = {node: sum(1 for p in graph.pred[node] if p not in cyclic) for node in index}
    ready = [(i, node) for node, i in index.items() if waiting[node] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i, node = heapq.heappop(ready)
        order.append(i)
        for child in graph.succ[node]:
            if child in waiting:
                waiting[child] -= 1
                if waiting[child] == 0:
                    heapq.heappush(ready, (index[child], child))
    placed = set(order)
    return order + [i for i in range(len(storyboard.shots)) if i not in placed]
