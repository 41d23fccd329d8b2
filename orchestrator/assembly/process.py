"""Runs ffmpeg: the only module that starts processes for assembly (DESIGN.md §10 rule 8).

A pipeline bounds its ffmpegs with `ffmpeg_slots` (one semaphore for every ffmpeg it starts, however deep) and
awaits siblings with `run_together`/`task_group`, so that one failure cancels the others; a cancelled run kills
its ffmpeg and waits for it, so nothing keeps writing behind a failed or interrupted assembly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

from orchestrator.assembly.errors import FfmpegFailed
from orchestrator.binaries import ffmpeg_binary

__all__ = ["ask_ffmpeg", "ffmpeg_binary", "ffmpeg_slots", "run_ffmpeg", "run_ffmpeg_stdout", "run_together",
           "task_group"]

T = TypeVar("T")

_slots: ContextVar[asyncio.Semaphore | None] = ContextVar("ffmpeg_slots", default=None)


@contextlib.contextmanager
def ffmpeg_slots(count: int | None = None) -> Iterator[None]:
    """Within this block and the tasks started in it, at most `count` ffmpegs run at once (default: the core
    count). An enclosing block's limit stays in force, so nested pipelines share one."""
    if _slots.get() is not None:
        yield
        return
    token = _slots.set(asyncio.Semaphore(count or os.cpu_count() or 2))
    try:
        yield
    finally:
        _slots.reset(token)


@contextlib.asynccontextmanager
async def task_group() -> AsyncIterator[asyncio.TaskGroup]:
    """`asyncio.TaskGroup` whose first failure cancels the siblings and is raised as itself (not as a group), so
    callers keep catching ClipInvalid or FfmpegFailed."""
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except BaseExceptionGroup as failed:
        raise _first(failed) from None


async def run_together(coros: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Await all, in order; the first failure cancels the rest (killing their ffmpegs) and is raised."""
    async with task_group() as group:
        tasks = [group.create_task(c) for c in coros]
    return [t.result() for t in tasks]


def _first(failed: BaseExceptionGroup[BaseException]) -> BaseException:
    for exc in failed.exceptions:
        return _first(exc) if isinstance(exc, BaseExceptionGroup) else exc
    return failed


async def run_ffmpeg(args: Sequence[str]) -> str:
    """Run `ffmpeg ARGS`; return its stderr (where it reports); raise FfmpegFailed on a non-zero exit."""
    _, stderr = await _run(args, capture_stdout=False)
    return stderr


async def run_ffmpeg_stdout(args: Sequence[str]) -> bytes:
    """Run `ffmpeg ARGS` and return what it writes to stdout (raw samples or frames); FfmpegFailed on failure."""
    stdout, _ = await _run(args, capture_stdout=True)
    return stdout


def ask_ffmpeg(binary: str, question: str, timeout: float) -> str:
    """What `BINARY -hide_banner -QUESTION` (`-version`, `-filters`, ...) prints, asked synchronously: the capability
    check runs before any event loop (the command line) as well as inside one (in a thread). OSError when it cannot
    start, SubprocessError when it fails or takes longer than `timeout` seconds."""
    done = subprocess.run([binary, "-hide_banner", f"-{question}"], capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        raise subprocess.SubprocessError(f"`-{question}` exited with {done.returncode}")
    return done.stdout.decode("utf-8", errors="replace")


async def _run(args: Sequence[str], *, capture_stdout: bool) -> tuple[bytes, str]:
    argv = [ffmpeg_binary(), *args]
    slots = _slots.get()
    if slots is None:
        return await _spawn(argv, capture_stdout=capture_stdout)
    async with slots:
        return await _spawn(argv, capture_stdout=capture_stdout)


async def _spawn(argv: list[str], *, capture_stdout: bool) -> tuple[bytes, str]:
    try:  # a cancellation while starting is handled by asyncio, which kills the half-started process
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE if capture_stdout else asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:  # no such binary, not executable: ORCHESTRATOR_FFMPEG points somewhere wrong
        raise FfmpegFailed(argv, -1, f"cannot start ffmpeg: {exc}") from exc
    try:
        out, err = await process.communicate()
    except BaseException:  # cancelled (a sibling failed, or the run was interrupted): stop writing behind us
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await asyncio.shield(process.wait())
        raise
    stderr = err.decode("utf-8", errors="replace")
    if process.returncode != 0:
        raise FfmpegFailed(argv, process.returncode or -1, stderr)
    return out or b"", stderr
