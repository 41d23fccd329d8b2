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
from typing import Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchestrator.errors import StoryboardUnreadable
from orchestrator.storyboard.compose import Locator, TooLarge, compose
from orchestrator.storyboard.diagnostics import DataPath, Diagnostic, format_path, shorten
from orchestrator.storyboard.limits import DEPTH_MAX
from orchestrator.storyboard.reading import read_text

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"
_DIGITS_MAX = 1000  # Python refuses to convert much longer numbers; no setting needs more than 20


class _Loader(yaml.CSafeLoader):
    """libyaml's SafeLoader with YAML 1.2 core-schema scalars."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in {_BOOL, _INT, _FLOAT, _TIMESTAMP}]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


_YAML_TAG = "tag:yaml.org,2002:"
_JSON_AS_YAML = str.maketrans({"\t": " ", "\u0085": " ", "\u2028": " ", "\u2029": " "})


class Position(NamedTuple):
    """1-based line and column (a tuple: a 10,000-shot file records about 100,000 of them)."""

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
    text = read_text(path, shown)
    problems: list[Diagnostic] = []
    if path.suffix.lower() == ".json":
        return _load_json(path, text, source, problems)
    where = Locator(text)
    try:
        node = compose(text, _Loader, where)
    except TooLarge as exc:
        raise StoryboardUnreadable([Diagnostic(shown, exc.line, exc.col, "", exc.message)]) from None
    except yaml.MarkedYAMLError as exc:
        raise StoryboardUnreadable([_syntax_diagnostic(shown, text, exc, where)]) from None
    except yaml.YAMLError as exc:
        raise StoryboardUnreadable([Diagnostic(shown, 1, 1, "", f"YAML syntax: {exc}")]) from None
    data = _Builder(source, problems, where).build(node, ()) if node is not None else None
    return _document(path, data, source, problems)


def _document(path: Path, data: Any, source: SourceMap, problems: list[Diagnostic]) -> Document:
    if data is None and problems:  # the whole document was a value that could not be read
        raise StoryboardUnreadable(problems)
    if not isinstance(data, dict):
        found = "an empty file" if data is None else f"a {type(data).__name__}"
        raise StoryboardUnreadable(
            [Diagnostic(source.file, 1, 1, "", f"a storyboard is a mapping with 'version' and 'shots', found {found}")]
        )
    return Document(path, data, source, problems)


_SYNTAX_HINTS = {
    "mapping values are not allowed": "a ': ' inside a value starts a new key: put the whole value in quotes",
    "invalid Unicode character escape code": r"\uD800-\uDFFF alone are halves of a UTF-16 pair, not characters: "
    r"write the character itself (or \U0001F600 for a code point above FFFF)",
}


def _syntax_diagnostic(shown: str, text: str, exc: yaml.MarkedYAMLError, where: Locator) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line, col = where(mark)
    what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
    started = where(exc.context_mark)[0] if exc.context_mark is not None else line
    if started != line:
        what += f" (the construct started on line {started})"
    hint = next((h for problem, h in _SYNTAX_HINTS.items() if problem in what), None)
    if hint is None and mark is not None and "cannot start any token" in what and _at(text, mark) == "\t":
        hint = "indent with spaces, not tabs"
    return Diagnostic(shown, line, col, "", f"YAML syntax: {what}" + (f"; {hint}" if hint else ""))


def _at(text: str, mark: yaml.Mark) -> str:
    """The character at a mark (libyaml's marks carry no buffer; their index counts characters)."""
    return text[mark.index:mark.index + 1]


def _load_json(path: Path, text: str, source: SourceMap, problems: list[Diagnostic]) -> Document:
    """JSON is read by json for correctness, then composed as YAML (a JSON superset) for positions only."""
    # Outside strings a JSON tab is just whitespace, which YAML refuses, and YAML counts U+0085/U+2028/U+2029
    # as line breaks where JSON and editors do not; YAML also refuses a lone surrogate escape that JSON reads.
    # Each swap keeps every column in place.
    as_yaml = _LONE_SURROGATE.sub(r"\\u0020", text.translate(_JSON_AS_YAML))
    try:
        where = Locator(as_yaml)
        node = compose(as_yaml, _Loader, where)
    except TooLarge as exc:
        raise StoryboardUnreadable([Diagnostic(source.file, exc.line, exc.col, "", exc.message)]) from None
    except yaml.YAMLError:
        node = None  # positions unknown: diagnostics fall back to line 1
    try:
        data = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise StoryboardUnreadable(
            [Diagnostic(source.file, exc.lineno, exc.colno, "", f"JSON syntax: {exc.msg}")]
        ) from None
    except RecursionError:  # only when the YAML pass could not read the text to find the depth first
        raise StoryboardUnreadable([Diagnostic(source.file, 1, 1, "", f"nested more than {DEPTH_MAX} levels "
                                               "deep: is a bracket wrong?")]) from None
    if node is not None:
        seen: list[Diagnostic] = []
        _Builder(source, seen, where).build(node, ())
        # json keeps the last of two equal keys without a word; the YAML pass found them, with both lines.
        problems += [d for d in seen if d.message.startswith("duplicate key")]
    elif _depth(data) > DEPTH_MAX:
        raise StoryboardUnreadable([Diagnostic(source.file, 1, 1, "", f"nested more than {DEPTH_MAX} levels deep: "
                                               "is a bracket wrong?")])
    problems += _lone_surrogates(data, (), source)
    return _document(path, data, source, problems)


_LONE_SURROGATE = re.compile(r"(?<!\\)\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
                             r"|(?<![dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _json_int(digits: str) -> int | str:
    """Python refuses to convert thousands of digits; such a number stays text and is reported where it is."""
    return int(digits) if len(digits) <= _DIGITS_MAX else digits


def _depth(data: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, todo = 0, [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            todo += [(item, depth + 1) for item in (value.values() if isinstance(value, dict) else value)]
    return deepest


def _lone_surrogates(data: Any, path: DataPath, source: SourceMap) -> list[Diagnostic]:
    """A string holding half of a UTF-16 pair (JSON reads "\\ud800" as one) is not text the provider can take:
    reported where it is, then replaced by U+FFFD so that no later stage trips over it again."""
    found: list[Diagnostic] = []
    todo: list[tuple[Any, DataPath]] = [(data, path)]
    while todo:
        value, where = todo.pop()
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value)) \
            if isinstance(value, list) else []
        for key, item in items:
            if isinstance(key, str) and _SURROGATE.search(key):
                found.append(source.diagnostic((*where, key), f"{_LONE}: write the character itself", key=True))
            if isinstance(item, str) and _SURROGATE.search(item):
                found.append(source.diagnostic((*where, key), f"{_LONE}: write the character itself"))
                value[key] = _SURROGATE.sub("\ufffd", item)
            todo.append((item, (*where, key)))
    return found


_LONE = "holds a lone surrogate escape (\\uD800-\\uDFFF), half of a UTF-16 pair and not a character"
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Builder:
    """Turns composed YAML nodes into plain data, recording positions and duplicate keys."""

    def __init__(self, source: SourceMap, problems: list[Diagnostic], where: Locator) -> None:
        self.source = source
        self.problems = problems
        self.where = where
        self.constructor = _Loader("")
        self.open: set[int] = set()  # nodes being built: an alias back into one of them is a loop

    def build(self, node: Node, path: DataPath) -> Any:
        if path not in self.source.values:  # a mapping sets its values' positions itself
            self.source.values[path] = self._pos(node)
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
        if node.tag == _STR:  # most values: no constructor needed
            return node.value
        if node.tag in {_INT, _FLOAT} and len(node.value) > _DIGITS_MAX:
            self._problem(node, path, f"{shorten(node.value, 20)} is not a usable number")
            return None
        tag = node.tag.replace(_YAML_TAG, "!!")
        if node.tag not in _Loader.yaml_constructors:
            self._problem(node, path, f"the tag {shorten(tag, 40)} means nothing in a storyboard: remove it")
            return None
        try:
            return self.constructor.construct_object(node, deep=True)
        except Exception:  # PyYAML's constructors raise what they meet (`!!int` alone: IndexError)
            self._problem(node, path, f"'{shorten(node.value, 40)}' is not a valid {tag[2:]} (it is tagged {tag}): "
                          "fix the value or remove the tag")
            return None

    def _problem(self, node: Node, path: DataPath, message: str) -> None:
        self.problems.append(Diagnostic(self.source.file, *self.where(node.start_mark), format_path(path), message))

    def _mapping(self, node: MappingNode, path: DataPath) -> dict[str, Any]:
        own = [(k, v) for k, v in node.value if k.tag != _MERGE]
        merged = self._merged([v for k, v in node.value if k.tag == _MERGE], path)
        out: dict[str, Any] = {}
        for key_node, value_node in own:
            # Keys are names: keep the text as written (a `null` key is 'null', not Python's 'None').
            key = key_node.value if isinstance(key_node, ScalarNode) else "<a non-scalar key>"
            child = (*path, key)
            if key in out:
                first = self.source.keys[child]
                self.problems.append(
                    Diagnostic(self.source.file, *self.where(key_node.start_mark), format_path(child),
                               f"duplicate key '{key}' (first set on line {first.line})")
                )
                continue
            self.source.keys[child] = self._pos(key_node)
            self.source.values[child] = self._pos(value_node)
            out[key] = self.build(value_node, child)
        return {**merged, **out}

    def _merged(self, sources: list[Node], path: DataPath) -> dict[str, Any]:
        """The keys `<<:` merges in: the mapping's own keys win, then earlier sources over later ones (YAML 1.1
        merge semantics); merged keys are located where their anchor wrote them."""
        merged: dict[str, Any] = {}
        for value in sources:
            for item in value.value if isinstance(value, SequenceNode) else [value]:
                if not isinstance(item, MappingNode):
                    self._problem(item, path, "<< merges a mapping (or a list of mappings) into this one")
                    continue
                built = self.build(item, path)
                for key, got in (built or {}).items():
                    merged.setdefault(key, got)
        return merged

    def _pos(self, node: Node) -> Position:
        return Position(*self.where(node.start_mark))
