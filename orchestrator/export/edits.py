"""The edits `report.json` records, read and checked: for each output, its clips, the joins between them, the part
kept and the sound, as an editor's timeline holds them (24 fps, the clips' rate).

A report is read as the run left it, never trusted: a field of the wrong type or out of range is one line naming the
report, the output and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.assembly.ffmpeg import FPS
from orchestrator.export.errors import ExportError

EDIT_FPS = FPS  # the clips' rate: every edit is counted in it, whatever rate the film is delivered at
JOIN_KINDS = ("chained", "cut", "crossfade")
AUDIO_MODES = ("clips", "soundtrack", "mute")


@dataclass(frozen=True)
class EditClip:
    """One entry of an edit: the frames [source_in, source_out) of a clip file that the film shows."""

    shot: str
    path: Path
    source_in: int  # 1 for a chained child: its first frame repeats its parent's last and is dropped
    source_out: int  # exclusive
    prompt: str | None = None  # an animatic's report may say what the card shows

    @property
    def frames(self) -> int:
        """How many of the clip's frames the film shows."""
        return self.source_out - self.source_in


@dataclass(frozen=True)
class EditJoin:
    """How two entries meet: chained and cut are plain cuts; a crossfade overlaps `frames` frames of the two."""

    kind: str
    frames: int

    @property
    def fade(self) -> int:
        """The frames the two clips overlap (0 for a cut)."""
        return self.frames if self.kind == "crossfade" else 0


@dataclass(frozen=True)
class Edit:
    """What one film is made of."""

    frames: int  # of the whole edit, before the trim
    trim: tuple[int, int]  # the frames of the edit kept, end exclusive
    clips: tuple[EditClip, ...]
    joins: tuple[EditJoin, ...]  # one fewer than the clips
    audio: str  # clips | soundtrack | mute
    soundtrack: Path | None
    size: tuple[int, int]


@dataclass(frozen=True)
class OutputEdit:
    """One output of the report: its delivered film and its edit."""

    name: str
    film: Path | None
    frames: int | None  # of the delivered film
    fps: int  # of the delivered film
    edit: Edit


def read_report(path: Path, remake: str) -> list[OutputEdit]:
    """Every output of `path` with its edit; `remake` is the command that writes the report again (for the error
    of a report made before edits were recorded)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"{path}: not a readable report ({_reason(exc)}); write it again with `{remake}`") from None
    outputs = data.get("outputs") if isinstance(data, dict) else None
    if not isinstance(outputs, list):
        raise ExportError(f"{path}: no 'outputs' list; write it again with `{remake}`")
    return [_output(path, i, entry, remake) for i, entry in enumerate(outputs)]


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _output(path: Path, index: int, entry: Any, remake: str) -> OutputEdit:
    where = f"{path}: outputs[{index}]"
    if not isinstance(entry, dict):
        raise ExportError(f"{where}: not an object")
    name = _get(entry, "name", str, where)
    where = f"{path}: output {name}"
    if not entry.get("edit"):  # absent, or empty where the film was made without one
        raise ExportError(f"{where} has no 'edit' record (the report was written before exports): write it again "
                          f"with `{remake}`")
    film = entry.get("path")
    frames = entry.get("frames")
    return OutputEdit(name=name, film=Path(film) if isinstance(film, str) else None,
                      frames=frames if isinstance(frames, int) and not isinstance(frames, bool) else None,
                      fps=_get(entry, "fps", int, where) if "fps" in entry else EDIT_FPS,
                      edit=_edit(entry["edit"], f"{where}: edit"))


def _edit(data: Any, where: str) -> Edit:
    if not isinstance(data, dict):
        raise ExportError(f"{where}: not an object")
    fps = _get(data, "fps", int, where)
    if fps != EDIT_FPS:
        raise ExportError(f"{where}.fps: {fps}: an edit is counted at the clips' {EDIT_FPS} fps")
    frames = _get(data, "frames", int, where)
    clips = tuple(_clip(c, f"{where}.clips[{i}]") for i, c in enumerate(_get(data, "clips", list, where)))
    joins = tuple(_join(j, f"{where}.transitions[{i}]") for i, j in enumerate(_get(data, "transitions", list, where)))
    if not clips:
        raise ExportError(f"{where}.clips: empty")
    if len(joins) != len(clips) - 1:
        raise ExportError(f"{where}.transitions: {len(joins)} for {len(clips)} clips (one between each two)")
    trim = _pair(data, "trim", where)
    if not 0 <= trim[0] < trim[1] <= frames:
        raise ExportError(f"{where}.trim: [{trim[0]}, {trim[1]}] is not a part of the edit's {frames} frames")
    audio = _get(data, "audio", str, where)
    if audio not in AUDIO_MODES:
        raise ExportError(f"{where}.audio: {audio!r} is not one of {', '.join(AUDIO_MODES)}")
    soundtrack = data.get("soundtrack")
    if audio == "soundtrack" and not isinstance(soundtrack, str):
        raise ExportError(f"{where}.soundtrack: the audio is a soundtrack, but no file is named")
    size = _pair(data, "size", where)
    return Edit(frames=frames, trim=trim, clips=clips, joins=joins, audio=audio,
                soundtrack=Path(soundtrack) if audio == "soundtrack" and isinstance(soundtrack, str) else None,
                size=size)


def _clip(data: Any, where: str) -> EditClip:
    if not isinstance(data, dict):
        raise ExportError(f"{where}: not an object")
    source_in, source_out = _get(data, "source_in", int, where), _get(data, "source_out", int, where)
    if not 0 <= source_in < source_out:
        raise ExportError(f"{where}: frames [{source_in}, {source_out}) of a clip are not a part of it")
    prompt = data.get("prompt")
    return EditClip(shot=_get(data, "shot", str, where), path=Path(_get(data, "clip", str, where)),
                    source_in=source_in, source_out=source_out, prompt=prompt if isinstance(prompt, str) else None)


def _join(data: Any, where: str) -> EditJoin:
    if not isinstance(data, dict):
        raise ExportError(f"{where}: not an object")
    kind = _get(data, "kind", str, where)
    if kind not in JOIN_KINDS:
        raise ExportError(f"{where}.kind: {kind!r} is not one of {', '.join(JOIN_KINDS)}")
    frames = _get(data, "frames", int, where)
    if frames < 0 or (kind != "crossfade" and frames):
        raise ExportError(f"{where}.frames: {frames} for a {kind} (a crossfade's length, else 0)")
    return EditJoin(kind, frames)


def _pair(data: dict[str, Any], key: str, where: str) -> tuple[int, int]:
    value = data.get(key)
    if not (isinstance(value, list) and len(value) == 2 and all(_is_int(v) for v in value)):
        raise ExportError(f"{where}.{key}: expected two whole numbers, not {json.dumps(value)}")
    return int(value[0]), int(value[1])


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _get(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    wrong = value is None or not isinstance(value, kind) or (kind is int and isinstance(value, bool))
    if wrong:
        shown = "missing" if key not in data else f"{json.dumps(value)} is not {_KIND_WORDS[kind]}"
        raise ExportError(f"{where}.{key}: {shown}")
    return value


_KIND_WORDS: dict[type, str] = {int: "a whole number", str: "a string", list: "a list"}
