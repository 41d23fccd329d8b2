"""The render cache: an identical job takes the kept files (same bytes, no render); any difference renders anew."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.simulator import rendercache
from orchestrator.simulator.render import RenderJob, render
from tests.conftest import APPLE


def test_an_identical_job_is_served_from_the_cache_and_a_changed_one_is_rendered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = RenderJob(width=320, height=192, frames=25, prompt="a kite", seed=7, first_frame=APPLE.read_bytes(),
                    last_frame=None, generate_audio=True)
    renders: list[RenderJob] = []

    def counted(j: RenderJob, out: Path) -> object:
        renders.append(j)
        return render(j, out)

    monkeypatch.setattr(rendercache, "render", counted)
    cache = tmp_path / "cache"

    first = rendercache.cached_render(job, tmp_path / "t1", cache)
    second = rendercache.cached_render(job, tmp_path / "t2", cache)
    other = rendercache.cached_render(replace(job, seed=8), tmp_path / "t3", cache)

    assert len(renders) == 2  # the job, then the other seed; the repeat was a copy
    assert second.video.read_bytes() == first.video.read_bytes()
    assert second.last_frame_png.read_bytes() == first.last_frame_png.read_bytes()
    assert other.last_frame_png.read_bytes() != first.last_frame_png.read_bytes()
    assert rendercache.job_key(job) != rendercache.job_key(replace(job, first_frame=b"other"))
