"""What this process already learned about a file (its probe, its sha256, its audio length), so the final join
does not probe, decode or hash again what the engine handled when each clip arrived (DESIGN.md §7: the final join
is sub-second).

An entry is keyed on the file's identity as `stat` gives it (device, inode, size, mtime and ctime in ns) plus the
question asked, and is found again only while the file still has that identity: a file that is replaced or
written to is looked at anew. (Like make and rsync, it cannot see a same-size rewrite within one tick of the
filesystem clock; every file assembly writes gets a new inode by rename.) Each memo keeps its most recently used
entries, up to a bound.
"""

from __future__ import annotations

import stat
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")

MEMO_ENTRIES = 1024  # per memo: far more clips than a storyboard has, a few hundred kB at most

Identity = tuple[str, int, int, int, int, int]


def identity(path: Path) -> Identity | None:
    """What `path` is right now, or None when it is not a regular file."""
    try:
        st = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return str(path.absolute()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class FileMemo(Generic[T]):
    """Answers about files, kept while the file is unchanged; least recently used entries go first."""

    def __init__(self, entries: int = MEMO_ENTRIES) -> None:
        self._entries: OrderedDict[tuple[Identity, Hashable], T] = OrderedDict()
        self._limit = entries
        _ALL.append(self)

    def get(self, path: Path, question: Hashable = None) -> T | None:
        """The answer recorded for this file as it is now, or None."""
        found = identity(path)
        if found is None:
            return None
        key = (found, question)
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, path: Path, value: T, question: Hashable = None, *, seen: Identity | None = None) -> None:
        """Record an answer, unless the file changed since `seen` (its identity before the answer was worked out)."""
        found = identity(path)
        if found is None or (seen is not None and seen != found):
            return  # written to while we looked: the answer may describe neither version
        self._entries[(found, question)] = value
        self._entries.move_to_end((found, question))
        while len(self._entries) > self._limit:
            self._entries.popitem(last=False)

    async def answer(self, path: Path, work: Callable[[], Awaitable[T]], question: Hashable = None) -> T:
        """The recorded answer, or `work()`'s, recorded."""
        known = self.get(path, question)
        if known is not None:
            return known
        seen = identity(path)
        value = await work()
        self.put(path, value, question, seen=seen)
        return value

    def clear(self) -> None:
        """Forget every answer."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


_ALL: list[FileMemo[Any]] = []


def forget_all() -> None:
    """Forget everything every memo holds: the next call works as a fresh process would (tests, benchmarks)."""
    for memo in _ALL:
        memo.clear()
