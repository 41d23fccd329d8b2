"""Turns loaded data into a `Storyboard`, translating pydantic's errors into located, plain-words diagnostics."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from orchestrator.errors import StoryboardInvalid
from orchestrator.storyboard.diagnostics import DataPath, Diagnostic, did_you_mean, unique_sorted
from orchestrator.storyboard.loader import Document
from orchestrator.storyboard.schema import NAME_PATTERN, SHOT_ID_PATTERN, Storyboard, allowed_keys

_KINDS = {
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_PATTERNS = {
    SHOT_ID_PATTERN: "a shot id: lowercase letters, digits, '_' and '-', starting with a letter or digit, 1-63 chars",
    NAME_PATTERN: "a name: lowercase letters, digits, '.', '_' and '-', starting with a letter or digit",
}


def parse_storyboard(doc: Document) -> Storyboard:
    """Validate the document's structure; raise StoryboardInvalid with every problem found."""
    problems = list(doc.problems)
    try:
        storyboard = Storyboard.model_validate(doc.data)
    except ValidationError as exc:
        problems += [_diagnostic(doc, err) for err in exc.errors()]
        raise StoryboardInvalid(unique_sorted(problems)) from None
    if problems:
        raise StoryboardInvalid(unique_sorted(problems))
    return storyboard


def show(value: Any) -> str:
    """A value as the user wrote it in YAML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _diagnostic(doc: Document, err: ErrorDetails) -> Diagnostic:
    loc: DataPath = tuple(err["loc"])
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if loc and loc[-1] == "[key]":  # a dict key failed its constraint: point at the key
        loc = loc[:-1]
        return doc.source.diagnostic(loc, f"{show(loc[-1])} is not {_PATTERNS.get(ctx.get('pattern', ''), 'valid')}",
                                     key=True)
    if kind == "extra_forbidden":
        allowed = allowed_keys(loc[:-1])
        hint = did_you_mean(str(loc[-1]), allowed) or (f" (allowed: {', '.join(allowed)})" if allowed else "")
        return doc.source.diagnostic(loc, f"unknown key '{loc[-1]}'{hint}", key=True)
    return doc.source.diagnostic(loc, _message(loc, kind, value, ctx, err["msg"]))


def _message(loc: DataPath, kind: str, value: Any, ctx: dict[str, Any], fallback: str) -> str:
    if kind == "missing":
        return "required, but missing"
    if loc == ("version",) and kind == "literal_error":
        return f"{show(value)} is not a supported version (this tool reads version 1)"
    if kind == "literal_error":
        return f"{show(value)} is not allowed (expected {ctx['expected']})"
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{show(value)} is not a string (quote it: '{value}')"
    if kind in _KINDS:
        return f"{show(value)} is not {_KINDS[kind]}"
    if kind == "string_pattern_mismatch":
        return f"{show(value)} is not {_PATTERNS.get(ctx.get('pattern', ''), 'valid')}"
    bounds = {"greater_than_equal": ("at least", "ge"), "less_than_equal": ("at most", "le"),
              "greater_than": ("greater than", "gt"), "less_than": ("less than", "lt")}
    if kind in bounds:
        words, key = bounds[kind]
        return f"{show(value)} is not allowed (must be {words} {_number(ctx[key])})"
    if kind in {"too_short", "string_too_short"}:
        return "must not be empty"
    return f"{show(value)}: {fallback}"


def _number(value: Any) -> str:
    """0.0 as 0 and 2147483647 as itself (the :g format would write 2.14748e+09)."""
    return f"{value:g}" if isinstance(value, float) else str(value)
