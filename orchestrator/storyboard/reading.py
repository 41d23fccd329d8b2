"""Reads a storyboard's bytes safely: regular files only, a size cap, UTF-8, and only characters YAML allows.

Every refusal is one located diagnostic: the file for what it is, `line:col` for a bad byte or character.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from orchestrator.errors import StoryboardUnreadable
from orchestrator.storyboard.diagnostics import Diagnostic
from orchestrator.storyboard.limits import FILE_BYTES_MAX

# YAML 1.2 §5.1 printable set (JSON text is a subset): tab, line breaks, and everything else but the C0/C1
# controls, surrogates and the two non-characters U+FFFE/U+FFFF.
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BOM = "\ufeff"


def not_a_regular_file(path: Path) -> str | None:
    """Why `path` is no file to read (missing, a folder, a device, a pipe), or None for a regular file."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        return exc.strerror or str(exc)
    except ValueError as exc:  # a NUL in the path
        return str(exc)
    return kind_problem(mode)


def kind_problem(mode: int) -> str | None:
    """Why a file of this mode is not read: only regular files are."""
    if stat.S_ISREG(mode):
        return None
    kinds = {stat.S_ISDIR: "a directory", stat.S_ISFIFO: "a named pipe (FIFO)", stat.S_ISCHR: "a character device",
             stat.S_ISBLK: "a block device", stat.S_ISSOCK: "a socket"}
    kind = next((name for test, name in kinds.items() if test(mode)), "not a regular file")
    return f"is {kind}; only regular files are read"


def read_text(path: Path, shown: str, what: str = "storyboard") -> str:
    """The file's text without a byte-order mark; raise StoryboardUnreadable, located, for anything unreadable."""
    data = _read_bytes(path, shown, what)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(data[: exc.start].decode("utf-8", "replace"))
        raise _unreadable(shown, f"byte 0x{data[exc.start]:02x} is not UTF-8: save the file as UTF-8", line, col) \
            from None
    text = text.removeprefix(_BOM)
    bad = _NOT_PRINTABLE.search(text)
    if bad is not None:
        line, col = _line_col(text[: bad.start()])
        char = bad.group()
        raise _unreadable(shown, f"{char_name(char)} is not allowed in a text file: delete it", line, col)
    return text


def char_name(char: str) -> str:
    """'a NUL byte', 'the control character U+001B'."""
    return "a NUL byte" if char == "\0" else f"the control character U+{ord(char):04X}"


def _read_bytes(path: Path, shown: str, what: str) -> bytes:
    # Opened without blocking, then checked on the open file: a FIFO must not hang us, and a file swapped for a
    # device between a check and the open must not slip through.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        reason = "file not found" if isinstance(exc, FileNotFoundError) else (exc.strerror or str(exc))
        raise _unreadable(shown, f"cannot read the {what}: {reason}") from None
    except ValueError as exc:
        raise _unreadable(shown, f"cannot read the {what}: {exc}") from None
    problem = kind_problem(os.fstat(fd).st_mode)
    if problem is not None:
        os.close(fd)
        raise _unreadable(shown, f"cannot read the {what}: it {problem}")
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(FILE_BYTES_MAX + 1)
    if len(data) > FILE_BYTES_MAX:
        raise _unreadable(shown, f"the file is larger than {FILE_BYTES_MAX // (1024 * 1024)} MiB; a {what} is a "
                          "few kilobytes of text: is this the right file?")
    return data


def _line_col(before: str) -> tuple[int, int]:
    """1-based line and column of the character that follows `before`."""
    line = before.count("\n") + 1
    return line, len(before) - (before.rfind("\n") + 1) + 1


def _unreadable(shown: str, message: str, line: int = 1, col: int = 1) -> StoryboardUnreadable:
    return StoryboardUnreadable([Diagnostic(shown, line, col, "", message)])
