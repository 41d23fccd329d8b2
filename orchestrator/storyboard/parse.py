"""Turns loaded data into a `Storyboard`, translating pydantic's errors into located, plain-words diagnostics."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from orchestrator.errors import StoryboardInvalid
from orchestrator.profiles import ENDPOINT_PATTERN
from orchestrator.storyboard.diagnostics import DataPath, Diagnostic, did_you_mean, shorten, unique_sorted
from orchestrator.storyboard.limits import SUGGESTIONS_MAX
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
    ENDPOINT_PATTERN: "an endpoint id: ep- then lowercase letters, digits and '-'",
    SHOT_ID_PATTERN: "a shot id: lowercase letters, digits, '_' and '-', starting with a letter or digit, 1-63 chars",
    NAME_PATTERN: "a name: lowercase letters, digits, '.', '_' and '-', starting with a letter or digit, 1-100 "
                  "chars (it becomes a file name)",
}


@dataclass(frozen=True)
class Parsed:
    """A storyboard whose structure is valid, or was made valid by setting broken parts aside.

    Setting aside lets the later rules still run, so one typo does not hide every other error: a broken shot
    becomes a stub the rules skip, broken `defaults` make every shot's rules skip (their values are unknown).
    """

    storyboard: Storyboard
    problems: list[Diagnostic]
    stub_shots: frozenset[int]
    shots_checkable: bool
    assembly_checkable: bool
    outputs_complete: bool


def parse_storyboard(doc: Document) -> Parsed:
    """Validate the document's structure; raise StoryboardInvalid when not even a salvaged version is usable."""
    problems = list(doc.problems)
    data = _absent_if_null(doc.data)
    try:
        return Parsed(Storyboard.model_validate(data), unique_sorted(problems), frozenset(), True, True, True)
    except ValidationError as exc:
        errors = exc.errors()
    problems += [_diagnostic(doc, err, hint=i < SUGGESTIONS_MAX) for i, err in enumerate(errors)]
    salvaged = _salvage(data, errors)
    if salvaged is None:
        raise StoryboardInvalid(unique_sorted(problems))
    clean, stubs, shots_ok, assembly_ok = salvaged
    try:
        storyboard = Storyboard.model_validate(clean)
    except ValidationError:
        raise StoryboardInvalid(unique_sorted(problems)) from None
    outputs_ok = clean.get("outputs") == data.get("outputs")
    return Parsed(storyboard, unique_sorted(problems), frozenset(stubs), shots_ok, assembly_ok, outputs_ok)


def _absent_if_null(data: dict[str, Any]) -> dict[str, Any]:
    """An empty section (`defaults:` with nothing under it) means the section is absent."""
    return {k: v for k, v in data.items()
            if not (v is None and k in {"defaults", "assembly", "outputs", "endpoints"})}


_SHOT_ID = re.compile(SHOT_ID_PATTERN)


def _salvage(data: dict[str, Any], errors: list[ErrorDetails]) -> tuple[dict[str, Any], set[int], bool, bool] | None:
    """Set the broken parts aside; None when what is broken is the frame everything hangs on (shots, version)."""
    clean = copy.deepcopy(data)
    stubs: set[int] = set()
    shots_ok = assembly_ok = True
    for err in errors:
        loc = tuple(err["loc"])
        head = loc[0] if loc else None
        if head == "shots" and len(loc) >= 2 and isinstance(loc[1], int):
            stubs.add(loc[1])
        elif head == "defaults":
            clean["defaults"], shots_ok = {}, False
        elif head == "assembly":
            clean["assembly"], assembly_ok = {}, False
        elif head in {"outputs", "endpoints"} and len(loc) >= 2 and isinstance(clean.get(head), dict):
            clean[head].pop(loc[1], None)
        elif head in {"name", "budget_usd", "budget_cny", "budget_total_usd", "budget_total_cny", "endpoints",
                      "outputs"} or (
                len(loc) == 1 and err["type"] == "extra_forbidden"):
            clean.pop(str(head), None)
        else:
            return None
    shots = clean.get("shots")
    if not isinstance(shots, list):
        return None
    for index in stubs:
        shots[index] = _stub(shots[index], index)
    return clean, stubs, shots_ok, assembly_ok


def _stub(shot: Any, index: int) -> dict[str, Any]:
    """A placeholder keeping the broken shot's id and parent, so other shots' references to it still resolve."""
    fields = shot if isinstance(shot, dict) else {}
    raw_id, after = fields.get("id"), fields.get("after")
    stub: dict[str, Any] = {"id": raw_id if isinstance(raw_id, str) and _SHOT_ID.match(raw_id) else f"shot-{index}"}
    if isinstance(after, str):
        stub["after"] = after
    return stub


def show(value: Any) -> str:
    """A value as the user wrote it in YAML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"'{shorten(value)}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return shorten(str(value))


def _diagnostic(doc: Document, err: ErrorDetails, hint: bool) -> Diagnostic:
    loc: DataPath = _as_written(doc, tuple(err["loc"]))
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if loc and loc[-1] == "[key]":  # a dict key failed its constraint: point at the key
        loc = loc[:-1]
        return doc.source.diagnostic(loc, f"{show(loc[-1])} is not {_PATTERNS.get(ctx.get('pattern', ''), 'valid')}",
                                     key=True)
    if kind == "extra_forbidden":
        allowed = allowed_keys(loc[:-1]) if hint else []
        tail = (did_you_mean(str(loc[-1]), allowed) or f" (allowed: {', '.join(allowed)})") if allowed else ""
        return doc.source.diagnostic(loc, f"unknown key '{loc[-1]}'{tail}", key=True)
    return doc.source.diagnostic(loc, _message(loc, kind, value, ctx, err["msg"]))


def _as_written(doc: Document, loc: DataPath) -> DataPath:
    """An output written as a plain list is checked as `{shots: [...]}`: point at the list's entry itself."""
    if len(loc) >= 3 and loc[0] == "outputs" and loc[2] == "shots":
        outputs = doc.data.get("outputs") if isinstance(doc.data, dict) else None
        if isinstance(outputs, dict) and isinstance(outputs.get(loc[1]), list):
            return (*loc[:2], *loc[3:])
    return loc


def _message(loc: DataPath, kind: str, value: Any, ctx: dict[str, Any], fallback: str) -> str:
    if kind == "missing":
        return "required, but missing"
    if loc == ("version",) and kind == "literal_error":
        return f"{show(value)} is not a supported version (this tool reads version 1)"
    if kind == "literal_error":
        return f"{show(value)} is not allowed (expected {ctx['expected']})"
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{show(value)} is not a string (quote it: '{shorten(str(value))}')"
    if isinstance(value, str) and (unquoted := _unquoted(kind, value)) is not None:
        return f"{show(value)} is a string: write {unquoted} without quotes"
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
    if kind == "string_too_long":
        why = "; the provider reads about 500 Chinese characters or 1000 English words" if loc[-1] == "prompt" else ""
        return f"{len(value):,} characters; at most {ctx['max_length']:,}{why}"
    if kind == "too_long":
        return f"{ctx['actual_length']:,} items; at most {ctx['max_length']:,}"
    return f"{show(value)}: {fallback}"


_WHOLE = re.compile(r"[-+]?[0-9]+")
_DECIMAL = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_UNQUOTED = {"int_type": _WHOLE, "int_from_float": _WHOLE, "float_type": _DECIMAL,
             "bool_type": re.compile(r"true|false", re.IGNORECASE)}


def _unquoted(kind: str, value: str) -> str | None:
    """How a quoted value is written so that it has the kind the field wants ('8' -> 8), or None when it cannot be."""
    pattern, text = _UNQUOTED.get(kind), value.strip()
    if pattern is None or len(text) > 40 or not pattern.fullmatch(text):
        return None
    return text.lower() if kind == "bool_type" else text


def _number(value: Any) -> str:
    """0.0 as 0 and 2147483647 as itself (the :g format would write 2.14748e+09)."""
    return f"{value:g}" if isinstance(value, float) else str(value)
