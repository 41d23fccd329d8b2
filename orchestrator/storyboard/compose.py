"""YAML text to a node graph, in bounded time and memory: libyaml parses, we count, then libyaml composes.

libyaml is fast (10,000 shots in half a second, against three and a half for pure Python), but its composer is
recursive C, which a megabyte of `[` would overflow. So the events are read first, iteratively, and checked:
nesting depth, and the number of values the aliases would expand to (a ten-line "billion laughs" expands to
10^9 values). Only a text within both bounds is composed.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, Event, ScalarEvent
from yaml.nodes import Node

from orchestrator.storyboard.limits import DEPTH_MAX, VALUES_MAX


class TooLarge(Exception):
    """The text nests too deep or its aliases expand too far; located at the event that crossed the bound."""

    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(message)
        self.message, self.line, self.col = message, line, col


@dataclass
class _Open:
    """A collection being read: how many values it holds so far, and how deep it goes."""

    anchor: str | None
    values: int = 1
    depth: int = 1


def compose(text: str, loader: type[yaml.CSafeLoader]) -> Node | None:
    """The single document in `text` as nodes; raise TooLarge past the bounds, yaml.YAMLError for bad syntax."""
    check_bounds(text)
    node: Node | None = yaml.compose(text, Loader=loader)
    return node


def check_bounds(text: str) -> None:
    """Raise TooLarge when `text` nests too deep or its aliases expand too far (any YAML or JSON file we read)."""
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (values, depth) of what it names
    stack: list[_Open] = []
    total = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, CollectionStartEvent):
            stack.append(_Open(event.anchor))
            _check_depth(len(stack), event)
            total += 1
            continue  # added to its parent when it ends
        if isinstance(event, CollectionEndEvent):
            done = stack.pop()
            item = (done.values, done.depth)
            if done.anchor is not None:
                sizes[done.anchor] = item
        elif isinstance(event, AliasEvent):
            item = sizes.get(event.anchor or "", (1, 0))  # an alias into a still open anchor is a loop: one value
            _check_depth(len(stack) + item[1], event)
            total += item[0]
        elif isinstance(event, ScalarEvent):
            item = (1, 0)
            total += 1
            if event.anchor is not None:
                sizes[event.anchor] = item
        else:
            continue
        if stack:
            stack[-1].values += item[0]
            stack[-1].depth = max(stack[-1].depth, item[1] + 1)
        if total > VALUES_MAX:
            raise TooLarge(f"aliases expand this file past {VALUES_MAX:,} values (here, *{event.anchor}): write "
                           "the repeated part out once" if isinstance(event, AliasEvent)
                           else f"more than {VALUES_MAX:,} values: is this the right file?", *_where(event))


def _check_depth(depth: int, event: Event) -> None:
    if depth > DEPTH_MAX:
        raise TooLarge(f"nested more than {DEPTH_MAX} levels deep (a storyboard needs 4): is a bracket or an "
                       "indentation wrong?", *_where(event))


def _where(event: Event) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
