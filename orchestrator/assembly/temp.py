"""Temporary files: every file assembly writes is first written under a hidden, unique name beside its final one
and renamed when complete, so no file with a final name is ever partial. A process killed mid-write (SIGKILL gives
no chance to clean up) leaves such temp files behind; `sweep_temp` removes them on the next run.

The names are `.<final name>.<8 hex><suffix>`, with the suffixes below and nothing else, so a sweep can tell ours
from anyone else's. Temp files this process is still writing are never swept.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
from collections.abc import Collection, Iterator
from pathlib import Path

# .part: intermediates, seals, report, contact sheet; .part.mp4: films; .part.jpg: posters; .joined.mov: joins
# before finishing (.joined.mkv before CACHE_VERSION 2); .txt: concat lists; .fuse: folders of crossfaded parts (one
# earlier version, before crossfades went into the cache; swept so its killed runs leave nothing behind).
TEMP_SUFFIXES: tuple[str, ...] = (".part", ".part.mp4", ".joined.mov", ".joined.mkv", ".txt", ".fuse", ".part.jpg")
_TEMP = re.compile(r"\.(?P<final>.+)\.[0-9a-f]{8}(?:" + "|".join(re.escape(s) for s in TEMP_SUFFIXES) + ")")
_LEGACY_SEAL = re.compile(r"\.[0-9a-f]{24}\.sha256\.[0-9a-f]{8}")  # seals' temp names before they had a suffix

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


def is_temp(name: str, finals: Collection[str] | None = None) -> bool:
    """True when `name` is one of our temp names (of one of `finals`, when given)."""
    match = _TEMP.fullmatch(name)
    if match is None:
        return finals is None and _LEGACY_SEAL.fullmatch(name) is not None
    return finals is None or match.group("final") in finals


def sweep_temp(folder: Path, *, finals: Collection[str] | None = None) -> int:
    """Remove the temp files a killed run left in `folder` (only ours; only those of `finals` when given; never
    one this process is writing); return how many. A missing folder has none."""
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.iterdir():
        ours = is_temp(path.name, finals) and str(path.absolute()) not in _live
        if ours and path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed += 1
        elif ours and path.is_dir() and not path.is_symlink() and path.name.endswith(".fuse"):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed
