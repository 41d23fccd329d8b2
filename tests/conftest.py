"""Shared test helpers: run the real command line in-process and capture what it prints and returns."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from orchestrator.cli.app import main

REPO = Path(__file__).resolve().parent.parent
STORYBOARDS = REPO / "storyboards"


@dataclass(frozen=True)
class CliResult:
    """Exit code and the two output streams of one command."""

    code: int
    stdout: str
    stderr: str


def run_cli(*args: str | Path) -> CliResult:
    """Run `orchestrator ARGS...` through the real entry point (error boundary included)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliResult(code, out.getvalue(), err.getvalue())


def make_image(path: Path, width: int, height: int, fmt: str = "PNG") -> Path:
    """Write a flat-colour image of the given size (compresses to almost nothing, even when huge)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), (200, 60, 40)).save(path, fmt)
    return path
