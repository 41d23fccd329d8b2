"""Temp files a killed run leaves behind are swept on the next run: only ours, never one still being written; and
a run killed while normalising, then again while joining, is completed by the next one from what was cached."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from orchestrator.assembly.temp import is_temp, sweep_temp, temporary
from tests.assembly.conftest import make_clip

OURS = [
    ".0123456789abcdef01234567.mov.deadbeef.part",  # an intermediate
    ".0123456789abcdef01234567.sha256.0badcafe.part",  # its seal
    ".0123456789abcdef01234567.sha256.0badcafe",  # a seal, as named before seals had a suffix
    ".main.mp4.12345678.part.mp4",  # a film
    ".main.mp4.12345678.joined.mov",  # a join before finishing
    ".main.mp4.12345678.joined.mkv",  # the same, as named before CACHE_VERSION 2
    "..main.mp4.12345678.part.mp4.9abcdef0.txt",  # a concat list
    ".report.json.00ff00ff.part",
]
THEIRS = [
    "main.mp4", "0123456789abcdef01234567.mov", "0123456789abcdef01234567.sha256", "notes.part", ".hidden",
    ".main.mp4.part", ".main.mp4.1234567.part", ".main.mp4.123456789.part", ".main.mp4.GGGGGGGG.part",
    ".main.mp4.12345678.tmp", ".video.mp4.bdef7bed.tmp", ".settings.12345678",
]


def test_the_sweep_removes_our_temp_files_only(tmp_path: Path) -> None:
    for name in OURS + THEIRS:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / ".dir.12345678.part").mkdir()
    assert sweep_temp(tmp_path) == len(OURS)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*THEIRS, ".dir.12345678.part"])
    assert sweep_temp(tmp_path / "missing") == 0


def test_the_sweep_can_be_held_to_some_final_names(tmp_path: Path) -> None:
    for name in OURS:
        (tmp_path / name).write_bytes(b"x")
    assert sweep_temp(tmp_path, finals=("report.json", "contact_sheet.png")) == 1
    assert not (tmp_path / ".report.json.00ff00ff.part").exists()
    assert is_temp(".contact_sheet.png.00ff00ff.part", ("contact_sheet.png",))
    assert not is_temp(".main.mp4.12345678.part.mp4", ("contact_sheet.png",))


def test_a_temp_file_still_being_written_is_not_swept(tmp_path: Path) -> None:
    with temporary(tmp_path / "film.mp4", ".part.mp4") as part:
        part.write_bytes(b"half a film")
        assert sweep_temp(tmp_path) == 0 and part.exists()
    assert list(tmp_path.iterdir()) == []  # and the block removed it


RUN = """
import asyncio, sys
from pathlib import Path
from orchestrator.assembly.films import assemble_films
from orchestrator.assembly.pipeline import AssemblySettings, OutputClip
run, cache, clips = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
outputs = {"main": [OutputClip(f"s{i}", Path(p), i > 0) for i, p in enumerate(clips)]}
films = asyncio.run(assemble_films(outputs, run, cache, AssemblySettings(loudness_lufs=-14.0)))
print(sum(p.reused for p in films.films["main"].parts), films.films["main"].film.frames)
"""


def _start(run: Path, cache: Path, clips: list[Path]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", RUN, str(run), str(cache), *map(str, clips)],
                            start_new_session=True, stdout=subprocess.PIPE, text=True)


def _kill_when(process: subprocess.Popen[str], folder: Path, what: str) -> list[str]:
    """SIGKILL the run (python and its ffmpegs) the moment a temp file of ours shows in `folder`; what it left."""
    deadline = time.monotonic() + 60
    while not (folder.is_dir() and any(is_temp(p.name) for p in folder.iterdir())):
        assert process.poll() is None and time.monotonic() < deadline, f"never saw a {what} in progress"
        time.sleep(0.002)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return sorted(p.name for p in folder.iterdir() if is_temp(p.name))


def test_runs_killed_while_normalising_and_while_joining_are_completed_by_the_next(tmp_path: Path) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=121, tone=300 + 100 * i) for i in range(3)]
    run, cache, outputs = tmp_path / "run", tmp_path / "cache", tmp_path / "run" / "outputs"
    assert _kill_when(_start(run, cache, clips), cache, "normalisation")  # left a temp in the cache
    for done in cache.glob("*.mov"):  # whatever has its final name is complete
        assert asyncio.run(_frames(done)) in {120, 121}
    left = _kill_when(_start(run, cache, clips), outputs, "join")  # swept the cache, normalised, then died
    assert left and not (outputs / "main.mp4").exists()  # no file with the final name, however far it got
    finished = _start(run, cache, clips)
    reused, frames = map(int, finished.communicate(timeout=120)[0].split())
    assert finished.returncode == 0 and (reused, frames) == (3, 3 * 121 - 2)
    leftovers = [p.name for folder in (run, cache, outputs) for p in folder.iterdir() if is_temp(p.name)]
    assert leftovers == []
    assert sorted(p.name for p in outputs.iterdir()) == ["main.mp4"]
    assert asyncio.run(_frames(outputs / "main.mp4")) == 3 * 121 - 2


async def _frames(film: Path) -> int:
    from orchestrator.assembly.probe import probe

    return (await probe(film)).frames
