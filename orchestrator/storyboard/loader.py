"""Reads a YAML or JSON storyboard into plain data plus a source map of where every key and value sits.

YAML is read with YAML 1.2 style scalars: `ratio: 16:9` stays the string "16:9" (YAML 1.1 would make it the
sexagesimal integer 969) and only true/false are booleans (so `no` stays a string). Duplicate keys are errors,
not silent overwrites.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchestrator.errors import StoryboardUnreadable
from orchestrator.storyboard.diagnostics import DataPath, Diagnostic, format_path

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in {_BOOL, _INT, _FLOAT, _TIMESTAMP}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


_JSON_AS_YAML = str.maketrans({"\t": " ", "\u0085": " ", "\u2028": " ", "\u2029": " "})


@dataclass(frozen=True)
class Position:
    """1-based line and column."""

    line: int
    col: int


@dataclass
class SourceMap:
    """Where each data path's key and value start in the file."""

    file: str
    values: dict[DataPath, Position] = field(default_factory=dict)
    keys: dict[DataPath, Position] = field(default_factory=dict)

    def locate(self, path: DataPath, *, key: bool = False) -> Position:
        """Position of `path` (its key if asked), else of the nearest enclosing path that is known."""
        table = self.keys if key else self.values
        for depth in range(len(path), -1, -1):
            found = table.get(path[:depth]) or self.values.get(path[:depth])
            if found is not None:
                return found
        return Position(1, 1)

    def diagnostic(self, path: DataPath, message: str, *, key: bool = False, **kw: Any) -> Diagnostic:
        """A diagnostic located at `path` in this file."""
        pos = self.locate(path, key=key)
        return Diagnostic(self.file, pos.line, pos.col, format_path(path), message, **kw)


@dataclass
class Document:
    """A parsed storyboard file: its data, where everything is, and problems found while reading."""

    path: Path
    data: Any
    source: SourceMap
    problems: list[Diagnostic]


def load_document(path: Path, display: str | None = None) -> Document:
    """Parse a storyboard file; raise StoryboardUnreadable when it is not readable YAML/JSON at all."""
    shown = display if display is not None else str(path)
    source = SourceMap(shown)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not content
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StoryboardUnreadable([Diagnostic(shown, 1, 1, "", f"cannot read the storyboard: {reason}")]) from None
    problems: list[Diagnostic] = []
    if path.suffix.lower() == ".json":
        return _load_json(path, text, source, problems)
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = _Builder(source, problems).build(node, ()) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        raise StoryboardUnreadable([_syntax_diagnostic(shown, exc)]) from None
    except yaml.YAMLError as exc:
        raise StoryboardUnreadable([Diagnostic(shown, 1, 1, "", f"YAML syntax: {exc}")]) from None
    return _document(path, data, source, problems)


def _document(path: Path, data: Any, source: SourceMap, problems: list[Diagnostic]) -> Document:
    if not isinstance(data, dict):
        found = "an empty file" if data is None else f"a {type(data).__name__}"
        raise StoryboardUnreadable(
            [Diagnostic(source.file, 1, 1, "", f"a storyboard is a mapping with 'version' and 'shots', found {found}")]
        )
    return Document(path, data, source, problems)


def _syntax_diagnostic(shown: str, exc: yaml.MarkedYAMLError) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
    if exc.context_mark is not None and exc.context_mark.line + 1 != line:
        what += f" (the construct started on line {exc.context_mark.line + 1})"
    return Diagnostic(shown, line, col, "", f"YAML syntax: {what}")


def _load_json(path: Path, text: str, source: SourceMap, problems: list[Diagnostic]) -> Document:
    """JSON is read by json for correctness, then composed as YAML (a JSON superset) for positions only."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoryboardUnreadable(
            [Diagnostic(source.file, exc.lineno, exc.colno, "", f"JSON syntax: {exc.msg}")]
        ) from None
    # Outside strings a JSON tab is just whitespace, which YAML refuses, and YAML counts U+0085/U+2028/U+2029
    # as line breaks where JSON and editors do not. Swapping each for one space keeps every column in place.
    try:
        node = yaml.compose(text.translate(_JSON_AS_YAML), Loader=_Loader)
        if node is not None:
            _Builder(source, problems).build(node, ())
    except yaml.YAMLError:
        source.values.clear()  # positions unknown: diagnostics fall back to line 1
        source.keys.clear()
    return _document(path, data, source, problems)


class _Builder:
    """Turns composed YAML nodes into plain data, recording positions and duplicate keys."""

    def __init__(self, source: SourceMap, problems: list[Diagnostic]) -> None:
        self.source = source
        self.problems = problems
        self.constructor = _Loader("")
        self.open: set[int] = set()  # nodes being built: an alias back into one of them is a loop

    def build(self, node: Node, path: DataPath) -> Any:
        self.source.values.setdefault(path, _pos(node))
        if id(node) in self.open:
            self._problem(node, path, "an alias refers to a node that contains it (a loop)")
            return None
        self.open.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            return self._scalar(node, path)
        finally:
            self.open.discard(id(node))

    def _scalar(self, node: Node, path: DataPath) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, TypeError, yaml.constructor.ConstructorError) as exc:
            self._problem(node, path, f"cannot read this value ({node.tag}): {str(exc).splitlines()[0]}")
            return None

    def _problem(self, node: Node, path: DataPath, message: str) -> None:
        self.problems.append(Diagnostic(self.source.file, *_xy(node), format_path(path), message))

    def _mapping(self, node: MappingNode, path: DataPath) -> dict[str, Any]:
        self.constructor.flatten_mapping(node)  # resolves `<<:` merge keys
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            # Keys are names: keep the text as written (a `null` key is 'null', not Python's 'None').
            key = key_node.value if isinstance(key_node, ScalarNode) else "<a non-scalar key>"
            child = (*path, key)
            if key in out:
                first = self.source.keys[child]
                self.problems.append(
                    Diagnostic(self.source.file, *_xy(key_node), format_path(child),
                               f"duplicate key '{key}' (first set on line {first.line})")
                )
                continue
            self.source.keys[child] = _pos(key_node)
            self.source.values[child] = _pos(value_node)
            out[key] = self.build(value_node, child)
        return out


def _xy(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _pos(node: Node) -> Position:
    return Position(*_xy(node))
