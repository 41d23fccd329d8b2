"""The engine's assembly work while shots generate: each clip normalised as it arrives, and each scene-change
crossfade made as soon as the clips either side of it are there, so the films at the end only join. Real ffmpeg."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from orchestrator.assembly.process import ffmpeg_slots
from orchestrator.engine.films import FilmMaker, output_settings, output_sizes
from orchestrator.engine.journal import Journal
from orchestrator.engine.plan import make_plan
from orchestrator.engine.rundir import RunDir
from orchestrator.storyboard.validate import check_file
from tests.assembly.conftest import make_clip

MODEL = "dreamina-seedance-2-0-260128"


def test_a_scene_change_is_crossfaded_as_soon_as_both_of_its_clips_are_there(tmp_path: Path) -> None:
    board = tmp_path / "board.yaml"
    board.write_text(json.dumps({
        "version": 1, "name": "early", "defaults": {"model": MODEL, "duration": 5, "ratio": "16:9",
                                                    "resolution": "480p"},
        "shots": [{"id": "a", "prompt": "an orchard"}, {"id": "b", "after": "a", "prompt": "a hand picks an apple"},
                  {"id": "c", "prompt": "a kitchen"}],
        "outputs": {"main": ["a", "b", "c"]},
        "assembly": {"transition": "crossfade", "crossfade_seconds": 0.5, "loudness_lufs": None},
    }), encoding="utf-8")
    checked = check_file(board)
    run_dir = RunDir(tmp_path / "run")
    run_dir.root.mkdir(parents=True)
    maker = FilmMaker(checked, run_dir, Journal(run_dir.journal), output_sizes(checked, make_plan(checked)),
                      output_settings(checked))
    clips = {shot: make_clip(tmp_path / f"{shot}.mp4", frames=48, tone=300 + 100 * i)
             for i, shot in enumerate("abc")}

    def crossfades() -> int:
        return len(list(run_dir.cache.glob("fade-*.mov")))

    async def scenario() -> tuple[int, int, int, int]:
        with ffmpeg_slots():
            maker.clip_ready("a", clips["a"])
            maker.clip_ready("c", clips["c"])
            await maker.settle()
            before_b = crossfades()  # the fade is b -> c: b is not there yet
            maker.clip_ready("b", clips["b"])
            await maker.settle()
            after_b = crossfades()
            made = await maker.make(clips)
        assert made is not None
        return before_b, after_b, crossfades(), made.films["main"].film.frames

    before_b, after_b, at_the_end, frames = asyncio.run(scenario())
    assert (before_b, after_b, at_the_end) == (0, 1, 1)  # made early, and the film used it rather than another
    assert frames == 48 + 47 + 48 - 12  # b's repeated first frame dropped; one 12-frame crossfade
