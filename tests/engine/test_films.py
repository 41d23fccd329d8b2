"""The engine's assembly work while shots generate: each clip normalised as it arrives, and each scene-change
crossfade made as soon as the clips either side of it are there, so the films at the end only join. Real ffmpeg."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from orchestrator.assembly.process import ffmpeg_slots
from orchestrator.engine.films import FilmMaker, output_settings, output_sizes
from orchestrator.engine.journal import Journal
from orchestrator.engine.plan import make_plan
from orchestrator.engine.rundir import CLIP_NAME, RunDir
from orchestrator.simulator.drift import clip_drift
from orchestrator.simulator.render import RenderJob, render
from orchestrator.storyboard.validate import check_file
from tests.assembly.conftest import make_clip
from tests.conftest import STORYBOARDS

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


def _anchored_chain(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """a -> k (ends on a keyframe) -> c, the colour anchor on; drifting simulator clips, each with its last frame
    beside it as a run keeps them."""
    (tmp_path / "assets").mkdir()
    cup = (STORYBOARDS / "assets" / "cup.png").read_bytes()
    (tmp_path / "assets" / "cup.png").write_bytes(cup)
    board = tmp_path / "board.yaml"
    board.write_text(json.dumps({
        "version": 1, "name": "anchored", "defaults": {"model": MODEL, "duration": 4, "ratio": "16:9",
                                                       "resolution": "480p"},
        "shots": [{"id": "a", "prompt": "an orchard"}, {"id": "k", "after": "a", "prompt": "a cup",
                                                        "last_frame": "assets/cup.png"},
                  {"id": "c", "after": "k", "prompt": "the cup is lifted"}],
        "assembly": {"color_anchor": "root", "loudness_lufs": None},
    }), encoding="utf-8")
    clips, first = {}, None
    for i, shot in enumerate("akc"):
        job = RenderJob(320, 176, 25, f"shot {shot}", seed=60 + i, first_frame=first,
                        last_frame=cup if shot == "k" else None, generate_audio=False,
                        drift=clip_drift(0.06, 0.02, 0.0, 60 + i, f"shot {shot}"))
        made = render(job, tmp_path / "takes" / shot)
        clips[shot] = made.video.rename(made.video.with_name(CLIP_NAME))
        first = made.last_frame_png.read_bytes()
    return board, clips


@pytest.mark.long  # two film sets of rendered clips, ~10 s: in make test-matrix (CI runs it)
def test_with_the_anchor_each_clip_is_graded_as_it_arrives_also_after_a_resume(tmp_path: Path) -> None:
    board, clips = _anchored_chain(tmp_path)
    checked = check_file(board)

    async def early(folder: str, reused: str, generated: str) -> list[bool]:
        """A run in `folder` that reuses the clips of `reused` (made by an earlier run) and generates the others:
        which of the film's intermediates it found already made."""
        run_dir = RunDir(tmp_path / folder)
        run_dir.root.mkdir(parents=True)
        with ffmpeg_slots():
            maker = FilmMaker(checked, run_dir, Journal(run_dir.journal), output_sizes(checked, make_plan(checked)),
                              output_settings(checked))
            for shot in reused:
                maker.clip_known(shot, clips[shot])
            for shot in generated:
                maker.clip_ready(shot, clips[shot])
                await maker.settle()
            made = await maker.make(clips)
        assert made is not None
        return [part.reused for part in made.films["main"].parts]

    # Every intermediate the film used was made as its clip arrived, with the grade the film wanted: the keyframed
    # shot too (its grade starts at its parent's end, so it needs its parent's reference).
    assert asyncio.run(early("fresh", "", "akc")) == [True, True, True]
    # a was made by an earlier run: its intermediate is made with the film (it was never "ready" here)
    assert asyncio.run(early("resumed", "a", "kc")) == [False, True, True]
