"""The catalog is data; these tests pin it to the reference's observed values and keep it self-consistent."""

from __future__ import annotations

import pytest

from orchestrator import models as m
from orchestrator.models import CATALOG, PIXEL_SIZES, estimate_tokens, frames_for


@pytest.mark.parametrize(
    ("model_id", "resolution", "ratio", "seconds", "tokens"),
    [
        ("dreamina-seedance-2-0-260128", "720p", "16:9", 5, 108_900),  # observed, 2.0 720p 5 s
        ("dreamina-seedance-2-0-260128", "720p", "1:1", 5, 108_900),  # observed, 960x960
        ("seedance-1-0-pro-250528", "1080p", "16:9", 5, 246_840),  # observed, 1.0 1080p 5 s (1920x1088)
        ("dreamina-seedance-2-0-260128", "720p", "16:9", 4, 87_300),  # observed, 2.0 720p 4 s
        ("seedance-1-5-pro-251215", "720p", "16:9", 5, 108_900),  # 1.5 shares the 2.0 size table
    ],
)
def test_token_estimate_matches_observed_usage(
    model_id: str, resolution: str, ratio: str, seconds: int, tokens: int
) -> None:
    width, height = CATALOG[model_id].size(resolution, ratio)
    assert estimate_tokens(width, height, frames_for(seconds)) == tokens


def test_frames_are_24_per_second_plus_the_first() -> None:
    assert frames_for(5) == 121
    assert frames_for(15) == 361


def test_every_reference_model_is_in_the_catalog() -> None:
    assert set(CATALOG) == {
        "seedance-1-0-pro-250528", "seedance-1-0-pro-fast-251015", "seedance-1-5-pro-251215",
        "dreamina-seedance-2-0-260128", "dreamina-seedance-2-0-fast-260128",
        "dreamina-seedance-2-0-mini-260615", "dreamina-seedance-2-5-260628",
    }


@pytest.mark.parametrize("model", m.MODELS.values(), ids=lambda s: s.id)
def test_every_model_has_sizes_and_prices_for_its_resolutions(model: m.ModelSpec) -> None:
    assert model.default_resolution in model.resolutions
    assert model.durations.allows(model.default_duration)
    for resolution in model.resolutions:
        assert set(PIXEL_SIZES[model.family][resolution]) == set(m.RATIOS)
        assert model.price_for(resolution).per_mtok > 0


def test_unconfirmed_prices_are_marked() -> None:
    confirmed = {model_id for model_id, spec in CATALOG.items() if spec.price_for("720p").confirmed}
    assert confirmed == {"dreamina-seedance-2-0-260128"}
    assert "UNCONFIRMED" in CATALOG["dreamina-seedance-2-5-260628"].price_for("720p").source


@pytest.mark.parametrize(
    ("model_id", "ok", "bad"),
    [
        ("dreamina-seedance-2-0-260128", [4, 15, -1], [3, 16, 0]),
        ("dreamina-seedance-2-5-260628", [4, 30, -1], [31, 2]),
        ("seedance-1-0-pro-250528", [2, 12], [-1, 1, 13]),
        ("seedance-1-5-pro-251215", [4, 12, -1], [13, 3]),
    ],
)
def test_durations_per_model(model_id: str, ok: list[int], bad: list[int]) -> None:
    durations = CATALOG[model_id].durations
    assert all(durations.allows(d) for d in ok)
    assert not any(durations.allows(d) for d in bad)


def test_every_output_size_is_a_valid_next_input() -> None:
    """A last frame must be usable as the next shot's first frame (reference §12)."""
    for table in PIXEL_SIZES.values():
        for sizes in table.values():
            for width, height in sizes.values():
                assert min(width, height) > m.IMAGE_MIN_SIDE_PX
                assert max(width, height) < m.IMAGE_MAX_SIDE_PX
                assert m.IMAGE_MIN_ASPECT <= width / height <= m.IMAGE_MAX_ASPECT


@pytest.mark.parametrize(
    ("size", "ratio"), [((1280, 720), "16:9"), ((768, 1024), "3:4"), ((1000, 1000), "1:1"), ((2100, 900), "21:9")]
)
def test_adaptive_ratio_follows_the_image(size: tuple[int, int], ratio: str) -> None:
    assert m.closest_ratio(*size) == ratio


def test_largest_size_is_an_upper_bound() -> None:
    model = CATALOG["dreamina-seedance-2-0-260128"]
    assert m.largest_size(model, "720p") == (1112, 834)


def test_schema_enums_match_the_catalog() -> None:
    """The schema's literal types are written out for the type checker; they must not drift from the data."""
    from typing import get_args

    from orchestrator.storyboard.schema import Ratio, Resolution

    assert get_args(Resolution) == m.RESOLUTIONS
    assert get_args(Ratio) == m.ALL_RATIOS
