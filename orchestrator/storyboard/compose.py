"""YAML text to a node graph, in bounded time and memory: libyaml parses, we count, then libyaml composes.

libyaml is fast (10,000 shots in half a second, against three and a half for pure Python), but its composer is
recursive C, which a megabyte of `[` would overflow. So the events are read first, iteratively, and checked:
nesting depth, and the number of values the aliases would expand to (a ten-line "billion laughs" expands to
10^9 values). Only a text within both bounds is composed.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Protocol

import yaml
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, Event, ScalarEvent
from yaml.nodes import Node

from orchestrator.storyboard.limits import DEPTH_MAX, VALUES_MAX


class TooLarge(Exception):
    """The text nests too deep or its aliases expand too far; located at the event that crossed the bound."""

    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(message)
        self.message, self.line, self.col = message, line, col


_ODD_BREAK = re.compile("[\x85\u2028\u2029]")
_BREAK = re.compile(r"\r\n|\r|\n")


class Mark(Protocol):
    """A position as libyaml reports it (the C and the Python parsers have one class each), 0-based."""

    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...
    @property
    def index(self) -> int: ...


class Locator:
    """1-based line and column of a libyaml mark, as an editor shows them.

    libyaml also breaks lines at U+0085, U+2028 and U+2029 (YAML 1.1); editors and YAML 1.2 do not, so after one of
    them in a prompt every line number would be off. In a text holding one, the position comes from the mark's
    character index instead."""

    def __init__(self, text: str) -> None:
        self.starts = [0, *(m.end() for m in _BREAK.finditer(text))] if _ODD_BREAK.search(text) else None

    def __call__(self, mark: Mark | None) -> tuple[int, int]:
        if mark is None:
            return 1, 1
        if self.starts is None:
            return mark.line + 1, mark.column + 1
        line = bisect.bisect_right(self.starts, mark.index)
        return line, mark.index - self.starts[line - 1] + 1


@dataclass
class _Open:
    """A collection being read: how many values it holds so far, and how deep it goes."""

    anchor: str | None
    values: int = 1
    depth: int = 1


def compose(text: str, loader: type[yaml.CSafeLoader], where: Locator) -> Node | None:
    """The single document in `text` as nodes; raise TooLarge past the bounds, yaml.YAMLError for bad syntax."""
    check_bounds(text, where)
    node: Node | None = yaml.compose(text, Loader=loader)
    return node


def check_bounds(text: str, where: Locator | None = None) -> None:
    """Raise TooLarge when `text` nests too deep or its aliases expand too far (any YAML or JSON file we read)."""
    locate = where or Locator(text)
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (values, depth) of what it names
    stack: list[_Open] = []
    total = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, CollectionStartEvent):
            stack.append(_Open(event.anchor))
            _check_depth(len(stack), event, locate)
            total += 1
            continue  # added to its parent when it ends
        if isinstance(event, CollectionEndEvent):
            done = stack.pop()
            item = (done.values, done.depth)
            if done.anchor is not None:
                sizes[done.anchor] = item
        elif isinstance(event, AliasEvent):
            item = sizes.get(event.anchor or "", (1, 0))  # an alias into a still open anchor is a loop: one value
            _check_depth(len(stack) + item[1], event, locate)
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
                           else f"more than {VALUES_MAX:,} values: is this the right file?", *locate(event.start_mark))


def _check_depth(depth: int, event: Event, locate: Locator) -> None:
    if depth > DEPTH_MAX:
        raise TooLarge(f"nested more than {DEPTH_MAX} levels deep (a storyboard needs 4): is a bracket or an "
                       "indentation wrong?", *locate(event.start_mark))
