"""The assembly branch of the error tree, hung under `orchestrator.errors.OrchestratorError`::

    OrchestratorError
    └── AssemblyError               exit 1   a film could not be made
        ├── FfmpegFailed                     ffmpeg exited non-zero: carries argv and the tail of stderr
        ├── ClipInvalid                      an input clip is truncated, corrupt or not a video: names the file
        └── FfmpegUnsuitable        exit 2   the ffmpeg in use lacks a filter, codec or format we use, or is too
                                             old: one line naming it, its version, what is missing and the fix
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from orchestrator.errors import OrchestratorError

STDERR_TAIL = 2000


class AssemblyError(OrchestratorError):
    """A film could not be made."""


class FfmpegFailed(AssemblyError):
    """ffmpeg exited non-zero; `argv` and `stderr` (its tail) say what was asked and what it answered."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr[-STDERR_TAIL:]
        super().__init__(f"ffmpeg exited with {returncode}: {' '.join(self.argv)}\n{self.stderr.strip()}")


class ClipInvalid(AssemblyError):
    """An input clip cannot be used as it is."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class FfmpegUnsuitable(AssemblyError):
    """The ffmpeg in use cannot make our films; refused before anything is spent (the message is one line)."""

    exit_code: ClassVar[int] = 2
