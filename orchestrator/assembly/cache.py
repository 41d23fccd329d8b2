"""The intermediates cache: files named by what they are made from, sealed with their own sha256, built once.

A file is written under a temporary name, hashed, its seal (`<name>.sha256`) written, and only then renamed: a named
file always has a seal to check, and a crash never leaves a half-written file under a name that would be reused.
Bytes are reused only when they hash to their seal, so a damaged cache file is built again.

Within a process, callers asking for the same file at once share one build: the engine normalises a clip for every
film it appears in, often for two films of the same size at the same moment.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import Awaitable, Callable
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


async def cached(dest: Path, build: Callable[[Path], Awaitable[object]]) -> bool:
    """Make sure `dest` exists and is intact, calling `build(temp_path)` to write it when it is not; True when the
    file was already there (reused). A concurrent caller for the same `dest` waits for this build and reuses it."""
    lock = _building.get(dest)
    if lock is None:
        lock = _building[dest] = asyncio.Lock()
    async with lock:
        seal = _seal(dest)
        if await _intact(dest, seal):
            return True
        dest.parent.mkdir(parents=True, exist_ok=True)
        with temporary(dest) as part:
            await build(part)
            sealed = await asyncio.to_thread(sha256_file, part)
            _write_seal(seal, sealed)
            part.replace(dest)
        _digests.put(dest, sealed)  # only this process knew the part's name: the bytes hashed are the bytes renamed
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
