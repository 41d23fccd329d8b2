"""A timeline into a file of one format: the adapter chosen by the format, its text finished where the adapter
falls short (FCPXML), written under a temp name and renamed, so no export with a final name is ever partial."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped]

from orchestrator.assembly.temp import temporary
from orchestrator.export import fcpxml
from orchestrator.export.formats import FORMATS, dressed


def render(timeline: Any, fmt: str) -> str:
    """The text of `timeline` in format `fmt` (otio, fcpxml, xml or edl)."""
    prepared = dressed(timeline, fmt)
    text = str(otio.adapters.write_to_string(prepared, adapter_name=FORMATS[fmt].adapter))
    if fmt == "fcpxml":
        text = fcpxml.finish(text, prepared)
    return text


def destination(folder: Path, output: str, fmt: str) -> Path:
    """`<folder>/<output>.<extension of fmt>`."""
    return folder / f"{output}.{FORMATS[fmt].suffix}"


def write(timeline: Any, fmt: str, dest: Path) -> Path:
    """Write `timeline` to `dest` in format `fmt`, atomically; return `dest`."""
    text = render(timeline, fmt)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with temporary(dest) as part:
        part.write_text(text, encoding="utf-8")
        part.replace(dest)
    return dest
