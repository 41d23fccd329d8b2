"""A phone photo stored landscape with an EXIF "rotate 90°" tag, as the first frame of an adaptive shot: the plan
sizes the shot as the provider will, so the film is the clip's own shape, not pillarboxed.

The provider's docs do not say how it reads EXIF orientation; both sides make it a setting (the product's
ORCHESTRATOR_EXIF_ORIENTATION, the simulator's exif_orientation), `apply` by default, and they must agree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from orchestrator.engine.plan import make_plan
from orchestrator.simulator.server import SimulatorServer
from orchestrator.storyboard.media import MediaKind, inspect_media
from orchestrator.storyboard.validate import check_file
from tests.conftest import run_cli
from tests.e2e.conftest import probe_film, run

ROTATE_90 = 6  # EXIF orientation: the stored picture is shown turned a quarter clockwise


def phone_photo(path: Path) -> Path:
    """A 1280x720 JPEG whose EXIF says it is shown portrait (720x1280)."""
    image = Image.new("RGB", (1280, 720), (40, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = ROTATE_90
    image.save(path, "JPEG", exif=exif.tobytes())
    return path


def storyboard(folder: Path) -> Path:
    phone_photo(folder / "photo.jpg")
    path = folder / "portrait.yaml"
    path.write_text("version: 1\ndefaults: {model: dreamina-seedance-2-0-260128, resolution: 480p, duration: 4}\n"
                    "shots:\n  - id: hero\n    first_frame: photo.jpg\n    prompt: A cup turns slowly\n"
                    "assembly: {loudness_lufs: null}\n", encoding="utf-8")
    return path


def test_the_header_is_read_with_its_orientation(tmp_path: Path) -> None:
    info = inspect_media(phone_photo(tmp_path / "p.jpg"), MediaKind.IMAGE)
    assert (info.width, info.height, info.turned) == (1280, 720, True)
    assert info.shown_size(exif=True) == (720, 1280)
    assert info.shown_size(exif=False) == (1280, 720)


@pytest.mark.parametrize(("exif", "size"), [(True, (496, 864)), (False, (864, 496))])
def test_the_plan_sizes_an_adaptive_shot_as_the_photo_is_shown(tmp_path: Path, exif: bool,
                                                               size: tuple[int, int]) -> None:
    [shot] = make_plan(check_file(storyboard(tmp_path)), exif=exif).shots
    assert (shot.width, shot.height) == size
    assert "sized as " + ("9:16" if exif else "16:9") + " from the image" in " ".join(shot.notes)


@pytest.mark.parametrize(("setting", "size"), [("apply", (496, 864)), ("ignore", (864, 496))])
def test_the_film_has_the_planned_shape_on_either_setting(ark: SimulatorServer, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, setting: str,
                                                          size: tuple[int, int]) -> None:
    ark.backend.config.exif_orientation = setting  # type: ignore[assignment]
    monkeypatch.setenv("ORCHESTRATOR_EXIF_ORIENTATION", setting)
    path = storyboard(tmp_path)
    plan = run_cli("plan", path, "--json", "--out", tmp_path / "runs")
    [planned] = json.loads(plan.stdout)["shots"]

    result = run(path, tmp_path / "runs")

    assert result.code == 0, result.stderr
    assert (planned["width"], planned["height"]) == size
    [task] = ark.backend.tasks.values()
    assert (task.width, task.height) == size  # the provider's clip has the planned shape
    film = probe_film(tmp_path / "runs" / "portrait" / "outputs" / "main.mp4")
    assert (film.width, film.height) == size  # so the film is the clip's shape: no pillarbox
