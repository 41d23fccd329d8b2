"""Diagnostics: one problem in one file, located by line, column and data path, rendered as one line."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from orchestrator.storyboard.limits import PROBLEMS_SHOWN

DataPath = tuple[str | int, ...]
_CUTOFF = 0.6  # how alike (difflib ratio) a choice must be to be suggested
_SHOWN = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters a terminal would act on rather than show: controls, line and paragraph separators, and the
# bidirectional overrides that can make a line read differently from what it holds.
_HIDDEN = {"Cc", "Zl", "Zp"}
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class Severity(StrEnum):
    """Errors stop the run; warnings are printed and the run goes on."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem, e.g. `tea.yaml:12:15: shots[2].duration: 20 is not allowed for ... (4..15 or -1)`."""

    file: str
    line: int
    col: int
    path: str
    message: str
    severity: Severity = field(default=Severity.ERROR, compare=False)

    def render(self) -> str:
        """The one-line form printed to the user."""
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        where = f"{self.path}: " if self.path else ""
        return printable(f"{self.file}:{self.line}:{self.col}: {prefix}{where}{self.message}")


def printable(text: str) -> str:
    """`text` with every character a terminal would act on written as an escape, so a message quoting a hostile
    key or name stays one line and shows what is really there."""
    if text.isprintable():
        return text
    return "".join(_escape(c) for c in text)


def _escape(char: str) -> str:
    if char in _SHOWN:
        return _SHOWN[char]
    if char in _BIDI or unicodedata.category(char) in _HIDDEN:
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def render_all(diagnostics: Sequence[Diagnostic], shown: int = PROBLEMS_SHOWN) -> list[str]:
    """One line per diagnostic, the first `shown` of them, then one line counting the rest."""
    lines = [d.render() for d in diagnostics[:shown]]
    rest = diagnostics[shown:]
    if rest:
        errors = len(errors_in(rest))
        lines.append(f"{diagnostics[0].file}: {len(rest):,} more problems not shown ({errors:,} errors, "
                     f"{len(rest) - errors:,} warnings): fix the ones above and validate again")
    return lines


def format_path(path: DataPath) -> str:
    """('shots', 2, 'duration') -> 'shots[2].duration'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = shorten(part, 40)  # a key of a thousand characters stays short
            out += f".{name}" if out else name
    return out


def shorten(text: str, keep: int = 60) -> str:
    """A long value cut so its message stays one readable line (line and column find the rest); newlines shown."""
    flat = text.replace("\n", "\\n").replace("\r", "\\r")
    return flat if len(flat) <= keep else f"{flat[:keep]}... ({len(text):,} characters)"


def did_you_mean(word: str, choices: Iterable[str], key: Callable[[str], str] | None = None) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close.

    `key` compares what matters, not how it is written (e.g. model ids without case, separators or date): a choice
    whose key equals the word's wins, else the closest key; ties go to the first choice.
    """
    if key is None:
        close = difflib.get_close_matches(word, list(choices), n=1, cutoff=_CUTOFF)
        return f" (did you mean '{close[0]}'?)" if close else ""
    wanted, best, best_score = key(word), None, 0.0
    for choice in choices:
        score = 2.0 if key(choice) == wanted else difflib.SequenceMatcher(None, wanted, key(choice)).ratio()
        if score >= _CUTOFF and score > best_score:
            best, best_score = choice, score
    return f" (did you mean '{best}'?)" if best is not None else ""


def errors_in(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """Only the diagnostics that are errors."""
    return [d for d in diagnostics if d.severity is Severity.ERROR]


def unique_sorted(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Drop repeats (a bad default is seen by every shot) and order by position in the file."""
    seen: dict[tuple[str, int, int, str, str], Diagnostic] = {}
    for d in diagnostics:
        seen.setdefault((d.file, d.line, d.col, d.path, d.message), d)
    return sorted(seen.values())
