"""Crossfades re-encode only the parts they touch: grouping, argv, and the temp folder a killed run leaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.assembly.ffmpeg import VIDEO_CODEC_ARGS, fused_args
from orchestrator.assembly.finish import fade_groups, settled_groups
from orchestrator.assembly.temp import sweep_temp


@pytest.mark.parametrize(("fades", "groups"), [
    ([], [[0]]),
    ([False, False], [[0], [1], [2]]),
    ([True], [[0, 1]]),
    ([False, True, False], [[0], [1, 2], [3]]),
    ([True, True, False, True], [[0, 1, 2], [3, 4]]),
])
def test_parts_joined_by_fades_are_grouped(fades: list[bool], groups: list[list[int]]) -> None:
    assert fade_groups(fades) == groups


def test_a_crossfade_is_settled_once_its_parts_exist_and_are_long_enough() -> None:
    chained = [False, True, False, True, False]  # scenes [0, 1] [2, 3] [4]: fades at the joins 1|2 and 3|4
    assert settled_groups(chained, {1: 121, 2: 120}, 12) == [[1, 2]]
    assert settled_groups(chained, {1: 121}, 12) == []  # part 2 not normalised yet
    assert settled_groups(chained, {1: 121, 2: 24}, 12) == []  # too short for two fades: the plan may cut one
    assert settled_groups(chained, {1: 25, 2: 25, 3: 25, 4: 25}, 12) == [[1, 2], [3, 4]]
    assert settled_groups([False, True, True], {0: 99, 1: 99, 2: 99}, 12) == []  # all chained: nothing fades


def test_a_fused_part_is_encoded_like_every_intermediate(tmp_path: Path) -> None:
    argv = fused_args([tmp_path / "a.mov", tmp_path / "b.mov"], "GRAPH", tmp_path / "out.mov")
    start = argv.index(VIDEO_CODEC_ARGS[0])
    assert tuple(argv[start:start + len(VIDEO_CODEC_ARGS)]) == VIDEO_CODEC_ARGS  # so the film joins it by copy
    assert argv[argv.index("-filter_complex") + 1] == "GRAPH"
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-i"] == [str(tmp_path / "a.mov"), str(tmp_path / "b.mov")]
    assert argv[-3:] == ["-f", "mov", str(tmp_path / "out.mov")]


def test_a_killed_runs_fuse_folder_is_swept(tmp_path: Path) -> None:
    left = tmp_path / ".main.mp4.0123abcd.fuse"
    left.mkdir()
    (left / "fused1.mov").write_bytes(b"partial")
    keep = tmp_path / "fuse"
    keep.mkdir()

    assert sweep_temp(tmp_path) == 1
    assert not left.exists() and keep.is_dir()
