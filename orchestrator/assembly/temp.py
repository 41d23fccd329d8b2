"""Temporary files: every file assembly writes is first written under a hidden, unique name beside its final one
and renamed when complete, so no file with a final name is ever partial. A process killed mid-write (SIGKILL gives
no chance to clean up) leaves such temp files behind.

The names are `.<final name>.<8 hex><suffix>`, with the suffixes below and nothing else.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

# .part: intermediates, seals, report, contact sheet; .part.mp4: films; .joined.mkv: joins before finishing;
# .txt: concat lists.
TEMP_SUFFIXES: tuple[str, ...] = (".part", ".part.mp4", ".joined.mkv", ".txt")

_live: set[str] = set()  # absolute paths of the temp files this process is writing now


def temp_beside(dest: Path, suffix: str) -> Path:
    """A hidden, unique name next to `dest` (same filesystem, so the final rename is atomic)."""
    if suffix not in TEMP_SUFFIXES:
        raise ValueError(f"{suffix!r} is not one of the temp suffixes a sweep knows: {TEMP_SUFFIXES}")
    return dest.with_name(f".{dest.name}.{secrets.token_hex(4)}{suffix}")


@contextlib.contextmanager
def temporary(dest: Path, suffix: str = ".part") -> Iterator[Path]:
    """A temp name beside `dest` for the block; whatever is left under it afterwards is removed."""
    path = temp_beside(dest, suffix)
    _live.add(str(path.absolute()))
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
        _live.discard(str(path.absolute()))
