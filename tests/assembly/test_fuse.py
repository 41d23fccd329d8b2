"""Crossfades re-encode only what they touch (the edge pieces of the clips either side, or a whole group when a clip
is too short to have them): grouping, argv, the film that comes out, and the temp folder a killed run leaves."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import numpy as np
import pytest

from orchestrator.assembly.ffmpeg import VIDEO_CODEC, concat_list, crossfade_graph, fused_args
from orchestrator.assembly.finish import fade_groups, fuse_group, settled_groups
from orchestrator.assembly.normalize import Intermediate, normalize
from orchestrator.assembly.temp import sweep_temp
from tests.assembly.conftest import FFMPEG, make_clip
from tests.assembly.filtergraph import chain_to, parse


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
    graph, _ = crossfade_graph([12, 12], [True], 12)
    out = str(tmp_path / "out.mov")
    cmd = parse(fused_args([tmp_path / "a.mov", tmp_path / "b.mov"], graph, tmp_path / "out.mov"))
    assert cmd.output(out).items() >= {k: str(v) for k, v in VIDEO_CODEC.items()}.items()  # the film copies it
    assert cmd.output(out)["f"] == "mov" and cmd.output(out)["c:a"] == "pcm_s16le"
    assert cmd.files == [str(tmp_path / "a.mov"), str(tmp_path / "b.mov")]
    assert cmd.graph is not None
    video, audio = (chain_to(cmd.graph, label) for label in cmd.maps(out))
    assert video.filters[0] == "xfade=duration=0.500000:offset=0.000000:transition=fade"
    assert audio.inputs == ("0:a", "1:a") and audio.filters[0] == "acrossfade=c1=tri:c2=tri:d=0.500000"


def test_a_killed_runs_fuse_folder_is_swept(tmp_path: Path) -> None:
    left = tmp_path / ".main.mp4.0123abcd.fuse"
    left.mkdir()
    (left / "fused1.mov").write_bytes(b"partial")
    keep = tmp_path / "fuse"
    keep.mkdir()

    assert sweep_temp(tmp_path) == 1
    assert not left.exists() and keep.is_dir()


def test_a_part_given_as_a_concat_list_is_read_as_one_input(tmp_path: Path) -> None:
    graph, _ = crossfade_graph([12, 12], [True], 12)
    cmd = parse(fused_args([tmp_path / "a.mov", tmp_path / "b.txt"], graph, tmp_path / "out.mov"))
    # a plain file is read as itself, a list by the concat demuxer
    assert cmd.inputs == [(str(tmp_path / "a.mov"), {}), (str(tmp_path / "b.txt"), {"f": "concat", "safe": "0"})]


def _pixels(files: list[Path], folder: Path) -> np.ndarray:
    """The frames of files joined as the film joins them (concat demuxer), decoded to RGB."""
    listing = folder / "list.txt"
    listing.write_text(concat_list([f.resolve() for f in files]), encoding="utf-8")
    run = subprocess.run([FFMPEG, "-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0:v",
                          "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True)
    return np.frombuffer(run.stdout, np.uint8).reshape(-1, 180, 320, 3)


def test_crossfading_only_the_edge_pieces_gives_the_film_a_whole_re_encode_gives(tmp_path: Path) -> None:
    clips = [make_clip(tmp_path / f"c{i}.mp4", frames=48, tone=300 + 100 * i) for i in range(2)]

    async def both() -> tuple[tuple[list[Path], int], tuple[list[Path], int], list[Intermediate]]:
        cut = [await normalize(c, 320, 180, False, tmp_path / "cache", edge_frames=12) for c in clips]
        whole = [await normalize(c, 320, 180, False, tmp_path / "cache") for c in clips]
        return (await fuse_group(cut, 12, tmp_path / "cache"), await fuse_group(whole, 12, tmp_path / "cache"),
                cut)

    (pieces, frames), (anew, frames_anew), cut = asyncio.run(both())
    assert frames == frames_anew == 48 + 48 - 12
    head, tail = cut[0].head, cut[1].tail
    assert head is not None and tail is not None
    assert pieces[0] == head and pieces[-1] == tail and len(pieces) == 5  # head, body, fade, body, tail
    assert len(anew) == 1 and anew[0].name.startswith("fused-")
    a, b = _pixels(pieces, tmp_path), _pixels(anew, tmp_path)
    assert len(a) == len(b) == frames
    # The two differ by encoding noise only (~2.5 of 255 on testsrc2's fine detail): a fade or a piece out of place
    # would differ like frames a step apart do (~6).
    assert max(_mad(x, y) for x, y in zip(a, b, strict=True)) < 4.0
    assert np.mean([_mad(x, y) for x, y in zip(a[1:], b[:-1], strict=True)]) > 5.0


def _mad(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.abs(x.astype(np.int16) - y).mean())
