"""Shot keys (DESIGN.md §5): a key names exactly what a take depends on, so it is stable when nothing relevant
changed and moves when any input (prompt, parameter, file bytes, parent frame, reroll) does."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from orchestrator.engine.keys import (
    KEY_VERSION,
    Params,
    canonical,
    changed_fields,
    sha256_path,
    shot_key,
    shot_params,
)
from orchestrator.storyboard.resolve import ShotSpec
from orchestrator.storyboard.schema import SCHEMA_VERSION
from orchestrator.storyboard.validate import check_file
from tests.conftest import REPO, make_image

MODEL = "dreamina-seedance-2-0-260128"
PARENT_SHA = "ab" * 32


def write_board(folder: Path, shots: list[dict[str, Any]], defaults: dict[str, Any] | None = None) -> Path:
    """A storyboard file (JSON is valid YAML) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    body = {"version": 1, "name": "keys", "shots": shots,
            "defaults": {"model": MODEL, "duration": 5, "ratio": "16:9", **(defaults or {})}}
    path = folder / "board.yaml"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def spec_of(path: Path, shot: str = "a") -> ShotSpec:
    return check_file(path).specs[shot]


def params_of(path: Path, shot: str = "a", parent_sha: str | None = None, variant: int = 0) -> Params:
    return shot_params(spec_of(path, shot), path.parent, parent_sha, variant)


def key_of(path: Path, shot: str = "a", parent_sha: str | None = None, variant: int = 0) -> str:
    return shot_key(params_of(path, shot, parent_sha, variant))


def test_sha256_path_is_the_sha256_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"hello world")
    assert sha256_path(path) == hashlib.sha256(b"hello world").hexdigest()


def test_key_is_sha256_of_canonical_sorted_compact_json(tmp_path: Path) -> None:
    board = write_board(tmp_path, [{"id": "a", "prompt": "a red apple"}])
    params = params_of(board)
    text = canonical(params)
    assert text == json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert " " not in text.replace("a red apple", "")
    assert shot_key(params) == hashlib.sha256(text.encode()).hexdigest()
    assert len(shot_key(params)) == 64
    assert params["schema"] == SCHEMA_VERSION
    assert params["key"] == KEY_VERSION
    assert params["model"] == MODEL
    assert params["prompt"] == "a red apple"
    assert (params["resolution"], params["ratio"], params["duration"]) == ("720p", "16:9", 5)
    assert params["parent_frame"] is None
    assert "variant" not in params


def test_key_is_the_same_when_the_storyboard_is_read_again(tmp_path: Path) -> None:
    make_image(tmp_path / "img" / "apple.png", 640, 360)
    board = write_board(tmp_path, [{"id": "a", "prompt": "p", "first_frame": "img/apple.png"}])
    assert key_of(board) == key_of(board)
    assert params_of(board) == params_of(board)


_KEY_SCRIPT = """
import sys
from pathlib import Path
from orchestrator.engine.keys import shot_key, shot_params
from orchestrator.storyboard.validate import check_file
board = Path(sys.argv[1])
spec = check_file(board).specs["a"]
print(shot_key(shot_params(spec, board.parent, None)))
"""


def test_key_is_the_same_in_another_process_with_another_hash_seed(tmp_path: Path) -> None:
    make_image(tmp_path / "apple.png", 640, 360)
    board = write_board(tmp_path, [{"id": "a", "prompt": "p", "first_frame": "apple.png"}], defaults={"seed": 7})
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", _KEY_SCRIPT, str(board)], capture_output=True, text=True,
                         check=True, cwd=REPO, env=env, timeout=60)
    assert out.stdout.strip() == key_of(board)


def test_moving_an_input_file_keeps_the_key(tmp_path: Path) -> None:
    make_image(tmp_path / "one" / "assets" / "apple.png", 640, 360)
    board = write_board(tmp_path / "one", [{"id": "a", "prompt": "p", "first_frame": "assets/apple.png"}])
    before = params_of(board)
    # Move the whole project elsewhere and rename the image: same bytes, so the same key.
    shutil.move(tmp_path / "one", tmp_path / "two")
    (tmp_path / "two" / "assets" / "apple.png").rename(tmp_path / "two" / "assets" / "fruit.png")
    moved = write_board(tmp_path / "two", [{"id": "a", "prompt": "p", "first_frame": "assets/fruit.png"}])
    after = params_of(moved)
    assert after == before
    assert shot_key(after) == shot_key(before)
    digest = hashlib.sha256((tmp_path / "two" / "assets" / "fruit.png").read_bytes()).hexdigest()
    assert after["first_frame"] == "sha256:" + digest


def test_remote_input_is_fingerprinted_by_its_url(tmp_path: Path) -> None:
    board = write_board(tmp_path, [{"id": "a", "prompt": "p", "first_frame": "https://example.com/apple.png"}])
    assert params_of(board)["first_frame"] == "https://example.com/apple.png"


def test_prompt_edit_changes_the_key_and_is_named(tmp_path: Path) -> None:
    one = write_board(tmp_path / "one", [{"id": "a", "prompt": "a red apple"}])
    two = write_board(tmp_path / "two", [{"id": "a", "prompt": "a green apple"}])
    assert key_of(one) != key_of(two)
    assert changed_fields(params_of(one), params_of(two)) == ["prompt"]


@pytest.mark.parametrize(("field", "before", "after", "model"), [
    ("resolution", "720p", "480p", MODEL),
    ("ratio", "16:9", "4:3", MODEL),
    ("duration", 5, 6, MODEL),
    ("generate_audio", True, False, MODEL),
    ("watermark", False, True, MODEL),
    ("camera_fixed", False, True, "seedance-1-5-pro-251215"),
    ("service_tier", "default", "flex", "seedance-1-5-pro-251215"),
    ("execution_expires_after", 3600, 7200, MODEL),
    ("priority", 1, 2, MODEL),
    ("frames", 29, 33, "seedance-1-0-pro-250528"),
    ("seed", 1, 2, MODEL),
])
def test_every_generation_parameter_changes_the_key(tmp_path: Path, field: str, before: Any, after: Any,
                                                    model: str) -> None:
    def board(folder: str, value: Any) -> Path:
        return write_board(tmp_path / folder, [{"id": "a", "prompt": "p", "model": model, field: value}])

    one, two = board("one", before), board("two", after)
    p1, p2 = params_of(one), params_of(two)
    assert p1[field] == before
    assert p2[field] == after
    assert shot_key(p1) != shot_key(p2)
    assert changed_fields(p1, p2) == [field]


def test_model_change_changes_the_key(tmp_path: Path) -> None:
    one = write_board(tmp_path / "one", [{"id": "a", "prompt": "p"}])
    two = write_board(tmp_path / "two", [{"id": "a", "prompt": "p", "model": "dreamina-seedance-2-0-fast-260128"}])
    assert key_of(one) != key_of(two)
    assert changed_fields(params_of(one), params_of(two)) == ["model"]


def test_a_value_moved_from_shot_to_defaults_keeps_the_key(tmp_path: Path) -> None:
    one = write_board(tmp_path / "one", [{"id": "a", "prompt": "p", "watermark": True}])
    two = write_board(tmp_path / "two", [{"id": "a", "prompt": "p"}], defaults={"watermark": True})
    assert key_of(one) == key_of(two)


def test_seed_counts_only_when_pinned(tmp_path: Path) -> None:
    loose = write_board(tmp_path / "loose", [{"id": "a", "prompt": "p"}])
    assert params_of(loose)["seed"] is None
    in_defaults = write_board(tmp_path / "defaults", [{"id": "a", "prompt": "p"}], defaults={"seed": 42})
    on_shot = write_board(tmp_path / "shot", [{"id": "a", "prompt": "p", "seed": 42}])
    assert params_of(in_defaults)["seed"] == 42
    assert key_of(in_defaults) == key_of(on_shot)
    assert key_of(loose) != key_of(on_shot)
    assert changed_fields(params_of(loose), params_of(on_shot)) == ["seed"]


def _recolour(path: Path, colour: tuple[int, int, int]) -> None:
    with Image.open(path) as img:
        size = img.size
    Image.new("RGB", size, colour).save(path, "PNG")


def test_input_file_bytes_change_the_key(tmp_path: Path) -> None:
    image = make_image(tmp_path / "apple.png", 640, 360)
    board = write_board(tmp_path, [{"id": "a", "prompt": "p", "first_frame": "apple.png"}])
    before = params_of(board)
    _recolour(image, (10, 200, 10))
    after = params_of(board)
    assert shot_key(before) != shot_key(after)
    assert after["first_frame"] == "sha256:" + hashlib.sha256(image.read_bytes()).hexdigest()
    assert changed_fields(before, after) == ["first_frame file"]


def test_last_frame_and_reference_files_are_hashed_too(tmp_path: Path) -> None:
    make_image(tmp_path / "start.png", 640, 360)
    end = make_image(tmp_path / "end.png", 640, 360)
    ref = make_image(tmp_path / "ref.png", 500, 500)
    board = write_board(tmp_path, [
        {"id": "a", "prompt": "p", "first_frame": "start.png", "last_frame": "end.png"},
        {"id": "b", "prompt": "q", "references": {"images": ["ref.png", "https://example.com/x.png"]}},
    ])
    a1, b1 = params_of(board, "a"), params_of(board, "b")
    assert b1["references"] == {"images": ["sha256:" + hashlib.sha256(ref.read_bytes()).hexdigest(),
                                           "https://example.com/x.png"], "videos": [], "audios": []}
    _recolour(end, (0, 0, 255))
    _recolour(ref, (0, 255, 0))
    a2, b2 = params_of(board, "a"), params_of(board, "b")
    assert changed_fields(a1, a2) == ["last_frame file"]
    assert changed_fields(b1, b2) == ["reference files"]
    assert shot_key(a1) != shot_key(a2)
    assert shot_key(b1) != shot_key(b2)


def test_parent_frame_sha_changes_the_key_of_a_chained_shot(tmp_path: Path) -> None:
    board = write_board(tmp_path, [{"id": "a", "prompt": "p"}, {"id": "b", "after": "a", "prompt": "q"}])
    one = params_of(board, "b", PARENT_SHA)
    two = params_of(board, "b", "cd" * 32)
    assert one["parent_frame"] == PARENT_SHA
    assert one["handoff"] == "first_frame"
    assert shot_key(one) != shot_key(two)
    assert changed_fields(one, two) == ["parent's last frame"]
    assert shot_key(params_of(board, "b", PARENT_SHA)) == shot_key(one)


def test_handoff_mode_changes_the_key(tmp_path: Path) -> None:
    one = write_board(tmp_path / "one", [{"id": "a", "prompt": "p"}, {"id": "b", "after": "a", "prompt": "q"}])
    two = write_board(tmp_path / "two", [{"id": "a", "prompt": "p"},
                                         {"id": "b", "after": "a", "prompt": "q", "handoff": "reference"}])
    p1, p2 = params_of(one, "b", PARENT_SHA), params_of(two, "b", PARENT_SHA)
    assert p2["handoff"] == "reference"
    assert changed_fields(p1, p2) == ["handoff"]


def test_variant_changes_the_key_and_is_named_reroll(tmp_path: Path) -> None:
    board = write_board(tmp_path, [{"id": "a", "prompt": "p"}])
    zero, one, two = (params_of(board, variant=v) for v in (0, 1, 2))
    assert "variant" not in zero
    assert one["variant"] == 1
    assert len({shot_key(zero), shot_key(one), shot_key(two)}) == 3
    assert changed_fields(zero, one) == ["reroll"]
    assert changed_fields(one, two) == ["reroll"]


def test_changed_fields_lists_several_names_sorted_and_nothing_when_equal(tmp_path: Path) -> None:
    one = write_board(tmp_path / "one", [{"id": "a", "prompt": "p"}, {"id": "b", "after": "a", "prompt": "q"}])
    two = write_board(tmp_path / "two", [{"id": "a", "prompt": "p"}, {"id": "b", "after": "a", "prompt": "r"}])
    before, after = params_of(one, "b", PARENT_SHA), params_of(two, "b", "cd" * 32)
    assert changed_fields(before, after) == ["parent's last frame", "prompt"]
    assert changed_fields(before, dict(before)) == []
