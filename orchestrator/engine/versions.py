"""Film versions: `outputs/<name>.mp4` is always the latest film; each one it replaces is kept as
`outputs/versions/<name>.v<N>.mp4`, with a line in `outputs/versions/<name>.json` saying what the next version
changed (which shots moved to which take, or the assembly settings).

The film about to be replaced is hard-linked under its version name before the new film is renamed over it (a
copy where the filesystem has no links), so no moment exists without both; a failed assembly takes the link back.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.engine.journal import Journal
from orchestrator.engine.review import shot_takes
from orchestrator.engine.rundir import RunDir

VERSIONS_DIR = "versions"


@dataclass(frozen=True)
class Kept:
    """A film set aside before it is replaced."""

    name: str
    number: int
    path: Path


def versions_dir(run_dir: RunDir) -> Path:
    """Where earlier films are kept."""
    return run_dir.root / "outputs" / VERSIONS_DIR


def history(run_dir: RunDir, name: str) -> list[dict[str, Any]]:
    """The kept versions of one film, oldest first (each: version, file, made_at, replaced_at, changed)."""
    path = versions_dir(run_dir) / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else []


def keep(run_dir: RunDir, name: str) -> Kept | None:
    """Set the current film aside under its next version name (None when there is no film yet)."""
    film = run_dir.film(name)
    if not film.is_file():
        return None
    folder = versions_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    # Past every recorded version and every file: one a killed run left unrecorded may hold the only copy of a film.
    on_disk = [int(m.group(1)) for p in folder.glob(f"{name}.v*.mp4")
               if (m := re.fullmatch(rf"{re.escape(name)}\.v(\d+)\.mp4", p.name))]
    number = 1 + max([int(v.get("version", 0)) for v in history(run_dir, name)] + on_disk, default=0)
    target = folder / f"{name}.v{number}.mp4"
    try:
        os.link(film, target)
    except OSError:
        shutil.copy2(film, target)
    return Kept(name, number, target)


def replaced(run_dir: RunDir, kept: Kept) -> bool:
    """Whether the film the version was taken from is no longer the one in `outputs/` (or is gone)."""
    try:
        return not kept.path.samefile(run_dir.film(kept.name))
    except OSError:
        return True


def give_back(kept: Kept) -> None:
    """The assembly failed before replacing the film: the film is still in place, so its version copy goes."""
    with contextlib.suppress(FileNotFoundError):
        kept.path.unlink()


def record(run_dir: RunDir, journal: Journal, kept: Kept, before: dict[str, str], after: dict[str, str],
           made_at: float | None) -> None:
    """Note a kept version and what the film that replaced it changed (`before`/`after`: shot -> clip key)."""
    entries = history(run_dir, kept.name)
    entries.append({"version": kept.number, "file": f"{VERSIONS_DIR}/{kept.path.name}", "made_at": made_at,
                    "replaced_at": time.time(), "changed": changes(journal, before, after)})
    path = versions_dir(run_dir) / f"{kept.name}.json"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def changes(journal: Journal, before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What the new film changed, in words: 'pour: take 1 -> take 2', 'cup: added', or the assembly settings."""
    said: list[str] = []
    for shot in dict.fromkeys([*before, *after]):
        old, new = before.get(shot), after.get(shot)
        if old == new:
            continue
        if old is None or new is None:
            said.append(f"{shot}: {'added' if old is None else 'removed'}")
            continue
        said.append(f"{shot}: take {_number(journal, shot, old)} -> take {_number(journal, shot, new)}")
    if not before:
        return ["not recorded (made before film versions were kept)"]
    return said or ["assembly settings or soundtrack"]


def _number(journal: Journal, shot: str, key: str) -> str:
    return next((str(t.number) for t in shot_takes(journal, shot) if t.key.startswith(key)), "?")


def clip_keys(clips: dict[str, Path], shots: list[str]) -> dict[str, str]:
    """shot -> the short key of the take its clip belongs to (`shots/<id>/<key12>/clip.mp4`)."""
    return {shot: clips[shot].parent.name for shot in shots}
