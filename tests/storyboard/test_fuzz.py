"""Fuzz tests: whatever bytes a storyboard file holds, `orchestrator validate` answers exit 0 (valid) or exit 2 with
located messages, never an exception, and within a bounded time.

Four streams of input, each checked through the real command line (`run_cli`, the error boundary included), as a
.yaml and as a .json file where both make sense:

* random bytes: plain random, random Unicode text, and a soup of YAML/JSON tokens (so the parsers get past line 1);
* the real storyboards in storyboards/ (and each as JSON) mutated as text: bytes flipped, inserted, deleted; lines
  duplicated (up to 50,000 times), deleted, swapped, re-indented; a value replaced by a scalar of another type (huge
  numbers, long and odd strings, escapes of lone surrogates, NUL and control characters, tags, odd paths) or given
  an explicit tag; anchors, aliases and merge keys; deep nesting; document markers and directives;
* the same storyboards mutated as data (keys deleted, renamed, added; values replaced, wrapped, nested, shared so the
  YAML dump holds anchors and aliases), dumped back as YAML and as JSON;
* large files: one to three lines of a real storyboard repeated 20,000 or 50,000 times, kept under the reader's
  4 MiB cap (a few examples by default: such files take seconds even when all is well).

A located message is a line that starts `FILE:LINE:COLUMN: ` with LINE and COLUMN at least 1 and LINE inside the file
(Diagnostic.render), or `FILE: ` for a problem with the file as a whole; lines are split at line feeds and carriage
returns (a terminal shows either as a new line). On exit 0 every stderr line is a located warning; on exit 2 at least
one line is a located error. Each validation must finish within SECONDS_MAX; one still running after HANG_SECONDS is
interrupted (SIGALRM) and fails, so a hang cannot block the suite.

The example count is ORCHESTRATOR_FUZZ_EXAMPLES per test (default small enough for `make test`); the examples are
derandomized (the same every run) unless ORCHESTRATOR_FUZZ_RANDOM=1, which explores new ones and keeps failures in
the Hypothesis database. For example::

    ORCHESTRATOR_FUZZ_EXAMPLES=3000 ORCHESTRATOR_FUZZ_RANDOM=1 .venv/bin/python -m pytest tests/storyboard/test_fuzz.py
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import STORYBOARDS, CliResult, run_cli

EXAMPLES = int(os.environ.get("ORCHESTRATOR_FUZZ_EXAMPLES", "50"))
RANDOM = os.environ.get("ORCHESTRATOR_FUZZ_RANDOM", "") not in {"", "0"}
SECONDS_MAX = 5.0  # one validation of one file
HANG_SECONDS = 3 * SECONDS_MAX  # past this the example is interrupted, so a hang fails instead of blocking the suite
SIZE_MAX = 3_500_000  # what a mutation may grow a file to: just under the reader's cap (FILE_BYTES_MAX, 4 MiB)
SEEDS: dict[str, str] = {p.name: p.read_text(encoding="utf-8") for p in sorted(STORYBOARDS.glob("*.yaml"))}
SEED_DATA: dict[str, Any] = {name: yaml.safe_load(text) for name, text in SEEDS.items()}
# Every seed also as JSON, so the text mutations reach the JSON reader past its first line.
SEEDS |= {name.removesuffix(".yaml") + ".json": json.dumps(data, indent=2, ensure_ascii=False)
          for name, data in SEED_DATA.items()}

_COMMON: dict[str, Any] = {
    "max_examples": EXAMPLES,
    "deadline": timedelta(seconds=2 * SECONDS_MAX),  # an example is two validations; each is also timed on its own
    "derandomize": not RANDOM,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    "print_blob": True,
}
# Derandomized: the same examples every run, nothing read from or saved to the example database.
FUZZ = settings(**_COMMON) if RANDOM else settings(database=None, **_COMMON)
# Files of 20,000-50,000 lines take seconds each even when all is well: a few examples unless asked for more.
FUZZ_LARGE = settings(FUZZ, max_examples=max(2, EXAMPLES // 40))


@pytest.fixture(scope="module")
def board_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of storyboards/ (with its assets), so mutated boards find the media they name."""
    folder = tmp_path_factory.mktemp("fuzz") / "storyboards"
    shutil.copytree(STORYBOARDS, folder)
    return folder


# ---------------------------------------------------------------------------------------------------------------
# The check every example goes through.


class _Hang(BaseException):
    """Raised by the alarm inside a validation that runs too long (BaseException: main() catches Exception)."""


@contextlib.contextmanager
def _interrupt_after(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` (main thread on POSIX only; elsewhere the block just runs)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def ring(signum: int, frame: FrameType | None) -> None:
        raise _Hang

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _line_count(content: bytes) -> int:
    """The most lines any reader could see in the file (every Unicode line break counts)."""
    return len(content.decode("utf-8", errors="replace").splitlines())


@dataclass(frozen=True)
class _Line:
    """One stderr line, read as a located message (line and column None for a file-level one)."""

    text: str
    line: int | None
    col: int | None
    warning: bool


def _located(shown: str, text: str) -> _Line | None:
    """The stderr line as a located message of `shown`, or None when it is not one."""
    match = re.match(rf"{re.escape(shown)}:(?:(\d+):(\d+):)? (warning: )?.", text)  # any message, even " x"
    if match is None:
        return None
    line, col, warning = match.groups()
    return _Line(text, None if line is None else int(line), None if col is None else int(col), warning is not None)


def validate(path: Path, content: bytes) -> CliResult:
    """Write `content` to `path`, run `orchestrator validate PATH` and check exit code, messages and time."""
    path.write_bytes(content)
    shown = str(path)
    started = time.perf_counter()
    try:
        with _interrupt_after(HANG_SECONDS):
            result = run_cli("validate", path)
    except _Hang:
        pytest.fail(f"validate {path.name} was still running after {HANG_SECONDS:g} s; input: {content[:300]!r}")
    elapsed = time.perf_counter() - started
    report = _report(path, content, result, elapsed)
    assert elapsed <= SECONDS_MAX, f"took {elapsed:.1f} s (at most {SECONDS_MAX:g} s)\n{report}"
    assert result.code in {0, 2}, f"exit {result.code}, expected 0 or 2\n{report}"
    for needle in ("internal error", "Traceback"):
        assert needle not in result.stderr, f"stderr holds {needle!r}\n{report}"
    # A terminal starts a new line at a line feed and goes back to column 1 at a carriage return: either one inside
    # a message makes what follows look like a line of its own, without a location.
    lines = [text for text in re.split(r"[\r\n]", result.stderr) if text.strip()]
    located: list[_Line] = []
    last_line = max(1, _line_count(content) + 1)
    for text in lines:
        found = _located(shown, text)
        assert found is not None, f"not a located message: {text[:300]!r}\n{report}"
        if found.line is not None and found.col is not None:
            assert found.line >= 1 and found.col >= 1, f"line and column start at 1: {text[:300]!r}\n{report}"
            assert found.line <= last_line, f"past the end of the file: {text[:300]!r}\n{report}"
        located.append(found)
    if result.code == 0:
        assert result.stdout.startswith(f"{shown}: valid: "), report
        assert all(found.warning for found in located), f"exit 0 with an error message\n{report}"
    else:
        assert any(not found.warning for found in located), f"exit 2 without a located error\n{report}"
    return result


def _report(path: Path, content: bytes, result: CliResult, elapsed: float) -> str:
    shown = content if len(content) <= 2000 else content[:1000] + b"..." + content[-500:]
    return (f"file {path.name} ({len(content)} bytes, {elapsed:.2f} s): {shown!r}\n"
            f"exit {result.code}\nstdout: {result.stdout[:1000]!r}\nstderr: {result.stderr[:3000]!r}")


def validate_both(board_dir: Path, stem: str, yaml_content: bytes, json_content: bytes | None = None) -> None:
    """The content as a .yaml file, then (the same, or `json_content`) as a .json file."""
    validate(board_dir / f"{stem}.yaml", yaml_content)
    validate(board_dir / f"{stem}.json", yaml_content if json_content is None else json_content)


# ---------------------------------------------------------------------------------------------------------------
# Strategy 1: random bytes.

MODEL_IDS = ["dreamina-seedance-2-0-260128", "seedance-1-0-pro-250528", "doubao-seedance-1-0-pro-250528",
             "ep-20250611150425-abcde"]
YAML_TOKENS = [
    ": ", "- ", "-", ":", "? ", "[", "]", "{", "}", ", ", "&a ", "*a", "*b", "<<: ", "<<: *a\n", "!!str ", "!!int ",
    "!!bool ", "!!float ",
    "!!binary ", "!!python/object/apply:os.system ", "!!set ", "!!omap ", "!!timestamp ", "!x ", "%YAML 1.2\n",
    "%TAG ! tag:x,2000:\n", "---\n", "...\n", "# c\n", "'", '"', "|\n", ">-\n", "\n", "\r\n", "\r", "  ", "    ",
    "\t", "\\", "\\uD800", "\\x00", "\\0", "\\U00110000", "\x00", "\x07", "\x1b", "\x7f", "\ufeff", "\u2028", "\x85",
    "\ud7ff", "\ufffe", "version: 1\n", "version: ", "shots:\n", "shots: ", "  - id: a\n", "  - id: b\n",
    "    prompt: p\n", "    after: a\n", "    after: b\n", "    first_frame: assets/apple.png\n",
    "    last_frame: assets/cup.png\n", "defaults:\n", "  model: ", "outputs:\n", "  main: [a, b]\n", "assembly:\n",
    "  soundtrack: ", "references:\n", "    images: [assets/apple.png]\n", "duration", "frames", "ratio", "seed",
    "1", "-1", "0", "5", "1e999", "-.inf", ".nan", "0x1F", "9" * 5000, "null", "true", "no", "~", "\"16:9\"", "16:9",
    "720p", "é", "中文", "🎬", "ok", *MODEL_IDS,
]
JSON_TOKENS = [
    "{", "}", "[", "]", ",", ":", " ", "\n", "\t", "\r", '"version"', '"shots"', '"id"', '"prompt"', '"after"',
    '"defaults"', '"outputs"', '"assembly"', '"a"', '"b"', '"assets/apple.png"', '"first_frame"', "1", "-0", "5",
    "1e400", "-1e400", "1.5", "9" * 5000, "NaN", "Infinity", "-Infinity", "null", "true", "false", '"\\ud800"',
    '"\\udc00x"', '"\\u0000"', '"\\u2028"', '"\x00"', '"', "\\", "\x00", "\ufeff", "\u2028", '"中文"', '"🎬"',
    *(f'"{m}"' for m in MODEL_IDS),
]
ANY_TEXT = st.text(st.characters() | st.characters(categories=["Cs"]), max_size=1000)  # lone surrogates too

random_content = st.one_of(
    st.binary(max_size=4096),
    ANY_TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.lists(st.sampled_from(YAML_TOKENS), max_size=120).map(lambda t: "".join(t).encode("utf-8", "surrogatepass")),
    st.lists(st.sampled_from(JSON_TOKENS), max_size=120).map(lambda t: "".join(t).encode("utf-8", "surrogatepass")),
)


@FUZZ
@given(content=random_content)
def test_random_bytes_get_exit_0_or_2_with_located_messages(board_dir: Path, content: bytes) -> None:
    validate_both(board_dir, "random", content)


# ---------------------------------------------------------------------------------------------------------------
# Strategy 2a: the real storyboards mutated as text.

YAML_TAGS = ["!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!binary", "!!map", "!!seq", "!!set",
             "!!omap", "!!pairs", "!!merge", "!!value", "!!yaml", "!x", "!", "!<tag:yaml.org,2002:int>",
             "!python/name:os.system", "!!python/object:os.system"]
TAGGED_VALUES = ["", "''", '""', "x", "maybe", "yes", "1", "-", "+", "_", "0x", "0b", "0o", ".", "1:2", "1:", "._",
                 "1e", "2024-01-01", "2024-02-30", "2024-01-01T25:00:00", "20240101", "AAAA", "'!!!'", "[]", "{}",
                 "[a]", "{a: 1}", "[{a: 1, b: 2}]", "9" * 5000, "-" + "9" * 5000, "null", "true"]
# Scalars as written in YAML, of every type and some that are no type at all.
YAML_SCALARS = st.one_of(
    st.integers().map(str),
    st.floats().map(repr),
    st.sampled_from([
        "0", "-1", "-0", "+5", "2147483648", "4294967296", "-9223372036854775809", "9" * 4301, "9" * 20000, "1_000",
        "0x1F", "0o17", "0b11", "1e309", "-1e309", "1e-400", "5.", ".5", "5.0", "1e3", ".nan", ".inf", "-.inf",
        "true", "false", "True", "yes", "no", "on", "null", "~", "Null", "", "''", '""',
        "中文提示词", "'日本語の説明'", "🎬🍎✨", "'👨‍👩‍👧'", "\"\\uD800\"", "\"a\\uD800b\"", "\"\\uDFFF\"",
        "\"\\uD83D\\uDE00\"", "\"\\U0010FFFF\"", "\"\\U00110000\"", "\"\\x00\"", "\"\\0\"", "\"a\\0b\"",
        "\"\\a\\b\\e\\v\\f\"", "\"\\N\\_\\L\\P\"", "\"\\x1b[31mred\"", "\"line\\nbreak\"", "\"a\\r\\nb\"",
        "\"a\\u2028b\"", "\"tab\\there\"", "'it''s'", "a\x00b", "a\x01b", "\x7f", "\x1b[2J", "\u202etxt",
        "!!binary AAAA", "!!binary '!!!'", "!!timestamp 2020-13-45", "!!timestamp 2024-01-01", "2024-01-01",
        "!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!!set {a, b}", "!!omap [a: 1]",
        "!!pairs [a: 1]", "!!int abc", "!!float x", "!!str 5", "!!null x", "!!bool maybe", "!!map []", "!!seq {}",
        "!custom x", "!<tag:yaml.org,2002:int> 5", "!!merge x", "!!value x", "!!yaml x",
        "[]", "{}", "[1, 2", "{a: 1", "[[[]]]", "{? a}", "[a, *a]", "{<<: *a}", "? x", "|", ">", "|-", "|+9",
        "&a", "*a", "*nope", "&a *a", "&a [*a]",
        "assets/apple.png", "assets/cup.png", "assets/", "assets", "assets/make_assets.py", "assets/nope.png",
        "/dev/null", "/etc/passwd", "/proc/self/status", "/", "../..", "..", ".", "~/x.png", "assets/apple.png/x",
        "a" * 300 + ".png", "\"assets/apple\\0.png\"", "\"assets/\\uD800.png\"", "'assets/apple.png\x00'",
        "https://", "https://x", "https://example.com/a.png", "asset://", "asset://x", "file:///etc/passwd",
        "http://example.com/a.png", "data:image/png;base64,AAAA",
        "pick", "shake", "Pick", "a" * 64, "-x", "'pick '", "ep-x", "main", "cut", "crossfade", "soundtrack", "duck",
        "clips", "mute", "720p", "4k", "\"16:9\"", "16:9", "adaptive", "first_frame", "reference", "flex",
        *MODEL_IDS,
    ]),
    st.integers(1000, 200_000).map(lambda n: "x" * n),
    st.integers(1, 3000).map(lambda n: "中" * n),
    st.text(max_size=40).map(lambda s: json.dumps(s, ensure_ascii=False)),  # double-quoted, JSON escapes
    st.text(max_size=40).map(json.dumps),
    st.builds("{} {}".format, st.sampled_from(YAML_TAGS), st.sampled_from(TAGGED_VALUES)),  # explicit tags
)
# Values as written in JSON, of every type and some that JSON refuses.
JSON_SCALARS = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from([
        "0", "-0", "-1", "1.0", "5e0", "2147483648", "9" * 4301, "9" * 20000, "-" + "9" * 5000, "1e400", "-1e400",
        "1e-400", "0." + "0" * 5000 + "1", "NaN", "Infinity", "-Infinity", "true", "false", "null", '""', "[]", "{}",
        "[[[]]]", '{"a": 1}', '"\\ud800"', '"a\\ud800b"', '"\\udfff"', '"\\ud83d\\ude00"', '"\\u0000"', '"a\\u0000b"',
        '"\\u001b[31m"', '"line\\nbreak"', '"\\u2028"', '"\\u0085"', '"\x00"', '"\t"', '"\x7f"', '"中文"', '"🎬"',
        '"assets/apple.png"', '"assets/apple\\u0000.png"', '"assets/\\ud800.png"', '"/dev/null"', '"https://x"',
        '"asset://x"', '"pick"', '"16:9"', '"720p"', "01", "+1", ".5", "5.", "0x1F", "'single'", "undefined", "True",
        *(f'"{m}"' for m in MODEL_IDS),
    ]),
    st.integers(1000, 200_000).map(lambda n: '"' + "x" * n + '"'),
    st.text(st.characters() | st.characters(categories=["Cs"]), max_size=40).map(json.dumps),  # \\udXXX escapes
    st.text(max_size=40).map(lambda s: json.dumps(s, ensure_ascii=False)),
)
DEPTHS = st.sampled_from([1, 2, 10, 50, 99, 100, 101, 200, 300, 500, 1000]) | st.integers(1, 1200)
INDENTS = st.sampled_from(["", " ", "  ", "   ", "    ", "      ", "\t", "  \t", " " * 40, "\u3000", "\xa0"])
BYTES = st.sampled_from([b"\x00", b"\xff", b"\xfe", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf",
                         b"\r", b"\t", b"\xef\xbb\xbf", b"\xe2\x80\xa8", b"\xc2\x85", b"\x1b", b"\x0c"])
_VALUE = re.compile(r"^(\s*(?:- )?\"?[A-Za-z_]+\"?:[ ]+)(\S.*?)(,?)$")  # YAML `key: v`, JSON `"key": v,`
_KEY_ONLY = re.compile(r"^(\s*(?:- )?)([A-Za-z_]+):\s*$")

Mutation = Callable[[st.DrawFn, bytes], bytes]


def _is_json(lines: list[str]) -> bool:
    return bool(lines) and lines[0].startswith("{")


def _offset(draw: st.DrawFn, data: bytes, *, end: bool = False) -> int:
    return draw(st.integers(0, len(data) if end else max(0, len(data) - 1)))


def flip_byte(draw: st.DrawFn, data: bytes) -> bytes:
    if not data:
        return data
    at = _offset(draw, data)
    return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]


def insert_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    at = _offset(draw, data, end=True)
    return data[:at] + draw(BYTES | st.binary(min_size=1, max_size=16)) + data[at:]


def delete_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    at = _offset(draw, data)
    return data[:at] + data[at + draw(st.integers(1, 64)):]


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", "surrogateescape").split("\n")


def _joined(lines: list[str]) -> bytes:
    return "\n".join(lines).encode("utf-8", "surrogateescape")


def _line_index(draw: st.DrawFn, lines: list[str]) -> int:
    return draw(st.integers(0, len(lines) - 1))


def duplicate_line(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    i = _line_index(draw, lines)
    lines[i:i] = [lines[i]] * draw(st.integers(1, 3))
    return _joined(lines)


def repeat_lines(draw: st.DrawFn, data: bytes, counts: tuple[int, ...] = (10, 100, 1000)) -> bytes:
    """One to three lines repeated many times: many shots, many unknown or duplicate keys, many messages."""
    lines = _lines(data)
    i = _line_index(draw, lines)
    block = lines[i:i + draw(st.integers(1, 3))]
    size = sum(len(line) + 1 for line in block)
    lines[i:i] = block * min(draw(st.sampled_from(counts)), SIZE_MAX // size)  # kept under the reader's 4 MiB cap
    return _joined(lines)


def delete_lines(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    i = _line_index(draw, lines)
    del lines[i:i + draw(st.integers(1, 4))]
    return _joined(lines)


def swap_lines(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    i, j = _line_index(draw, lines), _line_index(draw, lines)
    lines[i], lines[j] = lines[j], lines[i]
    return _joined(lines)


def reindent(draw: st.DrawFn, data: bytes) -> bytes:
    """One line, or one line and every line after it, with other leading whitespace."""
    lines = _lines(data)
    i = _line_index(draw, lines)
    if draw(st.booleans()):
        lines[i] = draw(INDENTS) + lines[i].lstrip(" ")
    else:
        shift = draw(INDENTS)
        lines[i:] = [shift + line for line in lines[i:]]
    return _joined(lines)


def _value_line(draw: st.DrawFn, lines: list[str]) -> tuple[int, re.Match[str]] | None:
    """A `key: value` line, drawn among the lines that are one; None when there is none."""
    candidates = [i for i, line in enumerate(lines) if _VALUE.match(line)]
    if not candidates:
        return None
    i = draw(st.sampled_from(candidates))
    match = _VALUE.match(lines[i])
    assert match is not None
    return i, match


def replace_scalar(draw: st.DrawFn, data: bytes) -> bytes:
    """A `key: value` line's value replaced by another scalar (often of another type)."""
    lines = _lines(data)
    found = _value_line(draw, lines)
    if found is None:
        return data
    i, match = found
    lines[i] = match.group(1) + draw(JSON_SCALARS if _is_json(lines) else YAML_SCALARS) + match.group(3)
    return _joined(lines)


def tag_value(draw: st.DrawFn, data: bytes) -> bytes:
    """An explicit tag on a `key: value` line's value, or in place of it with a value the tag may not take."""
    lines = _lines(data)
    found = _value_line(draw, lines)
    if found is None:
        return data
    i, match = found
    value = match.group(2) if draw(st.booleans()) else draw(st.sampled_from(TAGGED_VALUES))
    lines[i] = f"{match.group(1)}{draw(st.sampled_from(YAML_TAGS))} {value}{match.group(3)}"
    return _joined(lines)


def anchors_and_aliases(draw: st.DrawFn, data: bytes) -> bytes:
    """An anchor on a value or a mapping, an alias in place of a value, or a merge key."""
    lines = _lines(data)
    name = draw(st.sampled_from(["a", "b", "x" * 200, "中", "a-b.c"]))
    kind = draw(st.sampled_from(["anchor", "alias", "merge", "merge-list", "anchor-mapping", "define-top"]))
    values = [i for i, line in enumerate(lines) if _VALUE.match(line)]
    keys = [i for i, line in enumerate(lines) if _KEY_ONLY.match(line)]
    if kind in {"anchor", "alias"} and values:
        i = draw(st.sampled_from(values))
        match = _VALUE.match(lines[i])
        assert match is not None
        lines[i] = match.group(1) + (f"&{name} {match.group(2)}" if kind == "anchor" else f"*{name}") + match.group(3)
    elif kind == "anchor-mapping" and keys:
        i = draw(st.sampled_from(keys))
        lines[i] = lines[i].rstrip() + f" &{name}"
    elif kind in {"merge", "merge-list"} and (keys or values):
        i = draw(st.sampled_from(keys or values))
        indent = len(lines[i]) - len(lines[i].lstrip(" -")) + (2 if i in keys else 0)
        count = draw(st.integers(1, 50))
        merged = f"*{name}" if kind == "merge" else "[" + ", ".join([f"*{name}"] * count) + "]"
        lines.insert(i + 1, " " * indent + f"<<: {merged}")
    elif kind == "define-top":
        lines.insert(0, f"x-{name}: &{name} " + draw(st.sampled_from(
            ["{model: dreamina-seedance-2-0-260128, duration: 5}", "{}", "[]", "1", f"[*{name}]", f"{{<<: *{name}}}"])))
    return _joined(lines)


def deep_nesting(draw: st.DrawFn, data: bytes) -> bytes:
    """A value replaced by (or a line followed by) a deeply nested flow or block fragment."""
    lines = _lines(data)
    depth = draw(DEPTHS)
    fragment = draw(st.sampled_from(["seq", "map", "mixed", "block", "block-seq", "unclosed"]))
    if fragment == "seq":
        text = "[" * depth + "]" * depth
    elif fragment == "map" and _is_json(lines):
        text = '{"a": ' * depth + "1" + "}" * depth
    elif fragment == "map":
        text = "{a: " * depth + "1" + "}" * depth
    elif fragment == "mixed":
        text = "[{a: " * depth + "1" + "}]" * depth
    elif fragment == "unclosed":
        text = "[" * depth
    else:  # block style, each level indented two more spaces than the line it hangs from
        step = "a:" if fragment == "block" else "-"
        text = "".join("\n{indent}" + " " * (2 * (k + 1)) + step for k in range(min(depth, 400))) + " 1"
    values = [i for i, line in enumerate(lines) if _VALUE.match(line)]
    in_a_value = draw(st.booleans())
    if values and in_a_value:
        i = draw(st.sampled_from(values))
        match = _VALUE.match(lines[i])
        assert match is not None
        indent = " " * (len(match.group(1)) - len(match.group(1).lstrip(" -")))
        lines[i] = match.group(1).rstrip(" ") + " " + text.replace("{indent}", indent) + match.group(3)
    else:
        lines.insert(_line_index(draw, lines), ('"x": ' if _is_json(lines) else "x: ") + text.replace("{indent}", ""))
    return _joined(lines)


def insert_token_line(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    line = "".join(draw(st.lists(st.sampled_from(YAML_TOKENS), min_size=1, max_size=8)))
    lines.insert(draw(st.integers(0, len(lines))), line)
    return _joined(lines)


def document_markers(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    marker = draw(st.sampled_from(["---", "...", "--- !!map", "--- |", "%YAML 1.1", "%YAML 2.0", "%YAML 1.2\n---",
                                   "%TAG ! tag:x,2000:\n---", "--- &a", "# \x00", "\ufeff"]))
    lines.insert(draw(st.integers(0, len(lines))), marker)
    return _joined(lines)


TEXT_MUTATIONS: list[Mutation] = [
    flip_byte, insert_bytes, delete_bytes, duplicate_line, repeat_lines, delete_lines, swap_lines, reindent,
    replace_scalar,
    replace_scalar, tag_value, anchors_and_aliases, anchors_and_aliases, deep_nesting, insert_token_line,
    document_markers,
]


@st.composite
def mutated_texts(draw: st.DrawFn) -> tuple[str, bytes]:
    """A real storyboard (as YAML or as JSON) with one to five text mutations, and its suffix."""
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = SEEDS[name].encode("utf-8")
    for _ in range(draw(st.integers(1, 5))):
        if len(data) > SIZE_MAX:
            break
        data = draw(st.sampled_from(TEXT_MUTATIONS))(draw, data)
    return Path(name).suffix, data


@FUZZ
@given(mutated=mutated_texts())
def test_mutated_storyboard_text_gets_exit_0_or_2_with_located_messages(
        board_dir: Path, mutated: tuple[str, bytes]) -> None:
    suffix, content = mutated
    validate(board_dir / f"mutated{suffix}", content)
    if suffix == ".json":  # JSON is YAML too: the YAML reader gets it as well
        validate(board_dir / "mutated.yaml", content)


# ---------------------------------------------------------------------------------------------------------------
# Strategy 2b: the real storyboards mutated as data, dumped as YAML and as JSON.

KNOWN_KEYS = ["version", "name", "defaults", "shots", "outputs", "assembly", "endpoints", "budget_usd", "budget_cny",
              "id", "prompt", "after", "handoff", "first_frame", "last_frame", "references", "images", "videos",
              "audios", "model", "resolution", "ratio", "duration", "frames", "seed", "generate_audio", "watermark",
              "camera_fixed", "service_tier", "execution_expires_after", "priority", "transition",
              "crossfade_seconds", "audio", "soundtrack", "soundtrack_mix", "loudness_lufs", "main", "<<"]
_TEXT = st.text(st.characters(codec="utf-8"), max_size=30)  # no surrogates: they cannot be dumped
LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(10**400), 10**400), st.floats(), _TEXT,
    st.sampled_from(["", "assets/apple.png", "assets/cup.png", "assets/", "/dev/null", "https://x", "asset://x",
                     "pick", "shake", "a\nb", "a\x00b", "\x1b[31m", "16:9", "adaptive", "720p", "4k", "cut",
                     "crossfade", "soundtrack", "x" * 5000, "中" * 500, "🎬", *MODEL_IDS]),
    st.sampled_from([0, -1, 1, 5, 2**31, 2**63, -(2**63) - 1, 10**4299, 0.0, -0.0, 0.5, 1e308, 1e-320]),
)


def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KNOWN_KEYS) | _TEXT, inner, max_size=4)


VALUES = st.recursive(LEAVES, _nested, max_leaves=12)

Place = tuple[Any, Any]  # (container, key or index)


def _places(data: Any) -> list[Place]:
    """Every (container, key) in the data, outermost first."""
    out: list[Place] = []
    stack: list[Any] = [data]
    seen: set[int] = set()  # a shared value is visited once; a value shared into itself makes a loop
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            items: list[tuple[Any, Any]] = list(node.items())
        else:
            items = list(enumerate(node)) if isinstance(node, list) else []
        for key, value in items:
            out.append((node, key))
            stack.append(value)
    return out


def _nest(value: Any, depth: int, as_map: bool) -> Any:
    for _ in range(depth):
        value = {"a": value} if as_map else [value]
    return value


@st.composite
def mutated_data(draw: st.DrawFn) -> Any:
    """A real storyboard's data with one to five edits."""
    data: Any = copy.deepcopy(SEED_DATA[draw(st.sampled_from(sorted(SEED_DATA)))])
    for _ in range(draw(st.integers(1, 5))):
        places = _places(data)
        op = draw(st.sampled_from(["delete", "replace", "replace", "add", "rename", "duplicate", "reverse", "wrap",
                                   "unwrap", "empty", "share", "nest", "stringify", "root"]))
        if op == "root" or not places:
            data = draw(st.sampled_from([[data], None, 1, "text", [], {}])) if op == "root" else data
            continue
        container, key = draw(st.sampled_from(places))
        value = container[key]
        if op == "delete":
            del container[key]
        elif op == "replace":
            container[key] = draw(VALUES)
        elif op == "add" and isinstance(value, dict):
            value[draw(st.sampled_from(KNOWN_KEYS) | _TEXT)] = draw(VALUES)
        elif op == "add" and isinstance(value, list):
            value.insert(draw(st.integers(0, len(value))), draw(VALUES))
        elif op == "rename" and isinstance(container, dict):
            container[draw(st.sampled_from(KNOWN_KEYS) | _TEXT)] = container.pop(key)
        elif op == "duplicate" and isinstance(value, list) and value:
            value.extend(value[: draw(st.integers(1, len(value)))] * draw(st.integers(1, 3)))
        elif op == "reverse" and isinstance(value, list):
            value.reverse()
        elif op == "wrap":
            name = key if isinstance(key, str) else "a"
            container[key] = draw(st.sampled_from([[value], {"a": value}, {name: value}]))
        elif op == "unwrap" and isinstance(value, dict | list) and value:
            children = list(value.values()) if isinstance(value, dict) else value
            container[key] = draw(st.sampled_from(children))
        elif op == "empty":
            container[key] = draw(st.sampled_from([{}, [], None, ""]))
        elif op == "share":  # the same object in two places: the YAML dump writes an anchor and an alias
            other_container, other_key = draw(st.sampled_from(places))
            other_container[other_key] = value
        elif op == "nest":
            container[key] = _nest(value, draw(DEPTHS), draw(st.booleans()))
        elif op == "stringify" and not isinstance(value, str):
            with contextlib.suppress(ValueError, RecursionError):  # a loop made by `share`, or a deep nesting
                container[key] = json.dumps(value)
    return data


def _dumps(data: Any, draw: st.DrawFn) -> tuple[bytes, bytes]:
    """The data as YAML and as JSON, in randomly chosen styles (None when a dumper cannot write it)."""
    try:
        as_yaml = yaml.safe_dump(
            data, allow_unicode=draw(st.booleans()), sort_keys=False,
            default_flow_style=draw(st.sampled_from([False, None, True])),
            width=draw(st.sampled_from([80, 10_000])), explicit_start=draw(st.booleans()),
        ).encode("utf-8")
    except (yaml.YAMLError, RecursionError, ValueError):
        as_yaml = b""
    try:
        as_json = json.dumps(data, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 2, "\t"])),
                             check_circular=False).encode("utf-8")
    except (RecursionError, ValueError):
        as_json = b""
    return as_yaml, as_json


@st.composite
def dumped_data(draw: st.DrawFn) -> tuple[bytes, bytes]:
    return _dumps(draw(mutated_data()), draw)


@FUZZ
@given(dumped=dumped_data())
def test_mutated_storyboard_data_gets_exit_0_or_2_with_located_messages(
        board_dir: Path, dumped: tuple[bytes, bytes]) -> None:
    as_yaml, as_json = dumped
    validate_both(board_dir, "data", as_yaml, as_json)


# ---------------------------------------------------------------------------------------------------------------
# Strategy 2c: large files made by repeating lines of the real storyboards (well under the reader's size cap).


@st.composite
def repeated_texts(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    return Path(name).suffix, repeat_lines(draw, SEEDS[name].encode("utf-8"), (20_000, 50_000))


@FUZZ_LARGE
@given(repeated=repeated_texts())
def test_large_storyboards_get_exit_0_or_2_within_the_time_bound(board_dir: Path, repeated: tuple[str, bytes]) -> None:
    suffix, content = repeated
    validate(board_dir / f"large{suffix}", content)


def test_the_seeds_are_valid(board_dir: Path) -> None:
    """The storyboards the mutations start from validate (exit 0), so a failure above comes from a mutation."""
    for name, text in SEEDS.items():
        assert validate(board_dir / f"seed-{name}", text.encode("utf-8")).code == 0, name
