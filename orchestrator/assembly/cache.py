"""The intermediates cache: files named by what they are made from, sealed with their own sha256, built once.

A file is written under a temporary name, hashed, its seal (`<name>.sha256`) written, and only then renamed: a named
file always has a seal to check, and a crash never leaves a half-written file under a name that would be reused.
Bytes are reused only when they hash to their seal, so a damaged cache file is built again.

Within a process, callers asking for the same file at once share one build: the engine normalises a clip for every
film it appears in, often for two films of the same size at the same moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import weakref
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from orchestrator.assembly.memo import FileMemo
from orchestrator.assembly.temp import temporary

_HASH_CHUNK = 1 << 20

_digests: FileMemo[str] = FileMemo()
_building: weakref.WeakValueDictionary[Path, asyncio.Lock] = weakref.WeakValueDictionary()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


async def file_sha256(path: Path) -> str:
    """`sha256_file` off the event loop, once per unchanged file."""
    return await _digests.answer(path, lambda: asyncio.to_thread(sha256_file, path))


async def cached(dests: Sequence[Path], build: Callable[[list[Path]], Awaitable[object]]) -> bool:
    """Make sure the files `dests` (one thing, in one or more pieces) exist and are intact, calling
    `build(temp_paths)` to write them all when any is not; True when they were already there (reused). A concurrent
    caller for the same files waits for this build and reuses it."""
    lock = _building.get(dests[0])
    if lock is None:
        lock = _building[dests[0]] = asyncio.Lock()
    async with lock:
        if all([await _intact(dest, _seal(dest)) for dest in dests]):
            return True
        dests[0].parent.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as stack:
            parts = [stack.enter_context(temporary(dest)) for dest in dests]
            await build(parts)
            sealed = [await asyncio.to_thread(sha256_file, part) for part in parts]
            for dest, part, digest in zip(dests, parts, sealed, strict=True):
                _write_seal(_seal(dest), digest)
                part.replace(dest)
        for dest, digest in zip(dests, sealed, strict=True):
            _digests.put(dest, digest)  # only this process knew the parts' names: the bytes hashed are those renamed
        return False


def _seal(path: Path) -> Path:
    return path.with_suffix(".sha256")


def _write_seal(seal: Path, digest: str) -> None:
    with temporary(seal) as tmp:
        tmp.write_text(digest, encoding="ascii")
        tmp.replace(seal)


async def _intact(path: Path, seal: Path) -> bool:
    if not (path.is_file() and seal.is_file()):
        return False
    return await file_sha256(path) == seal.read_text(encoding="ascii").strip()
