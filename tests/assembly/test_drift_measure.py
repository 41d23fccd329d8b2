"""The drift figures: CIEDE2000 agrees with Sharma, Wu and Dalal's reference pairs (the values colour-science tests
itself against), sRGB to CIELAB with the standard primaries, and sharpness falls as a picture softens."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from orchestrator.assembly.drift import (
    DELTA_E_LIMIT,
    SHARPNESS_LIMIT,
    Look,
    ShotDrift,
    delta_e2000,
    drift_report,
    drift_warnings,
    drifted,
    look,
    sharpness,
    to_lab,
)

# Sharma, Wu, Dalal (2005), "The CIEDE2000 color-difference formula", Table 1: (Lab 1, Lab 2, Delta E 2000).
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
    ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize(("first", "second", "expected"), SHARMA)
def test_ciede2000_matches_the_reference_pairs(first: tuple[float, float, float], second: tuple[float, float, float],
                                               expected: float) -> None:
    assert delta_e2000(first, second) == pytest.approx(expected, abs=5e-5)
    assert delta_e2000(second, first) == pytest.approx(expected, abs=5e-5)


def test_srgb_primaries_and_white_have_their_cielab_values() -> None:
    lab = to_lab(np.array([[255, 255, 255], [255, 0, 0], [0, 0, 0]], dtype=np.uint8))
    assert lab[0] == pytest.approx([100.0, 0.0, 0.0], abs=0.01)
    assert lab[1] == pytest.approx([53.24, 80.09, 67.20], abs=0.05)  # sRGB red, D65 (published to 2 decimals)
    assert lab[2] == pytest.approx([0.0, 0.0, 0.0], abs=0.01)


def test_a_warmer_softer_frame_drifts_from_its_root() -> None:
    rng = np.random.default_rng(7)
    root = rng.integers(0, 256, size=(90, 160, 3), dtype=np.uint8)
    picture = Image.fromarray(root).filter(ImageFilter.GaussianBlur(1.0))
    warmer = np.asarray(picture, dtype=np.float64) * np.array([1.06, 1.0, 0.94])
    end = np.clip(warmer, 0, 255).astype(np.uint8)
    colour, sharp = drifted(look(root), look(end))
    assert colour > 2.0 and sharp < 0.5
    same, unchanged = drifted(look(root), look(root.copy()))
    assert same == 0.0 and unchanged == 1.0
    assert sharpness(np.zeros((10, 10, 3), dtype=np.uint8)) == 0.0


def _shot(name: str, link: int, delta_e: float, sharp: float, anchored: float | None = None) -> ShotDrift:
    flat = Look((50.0, 0.0, 0.0), (10.0, 2.0, 2.0), 100.0)
    return ShotDrift(name, "a", link, delta_e, sharp, flat, flat, anchored)


def test_a_chain_past_a_limit_is_named_where_it_passes_it_with_what_would_help() -> None:
    found = [_shot("b", 1, 2.0, 0.9), _shot("c", 2, 5.5, 0.8), _shot("d", 3, 7.0, 0.55)]
    report = drift_report(found)
    assert report["limits"] == {"delta_e": DELTA_E_LIMIT, "sharpness": SHARPNESS_LIMIT} == {"delta_e": 5.0,
                                                                                              "sharpness": 0.6}
    assert report["chains"] == [{"root": "a", "shots": ["b", "c", "d"], "links": 3, "delta_e": 7.0,
                                 "sharpness": 0.55, "anchored_delta_e": None, "over": ["colour", "sharpness"]}]
    assert [s["over"] for s in report["shots"]] == [[], ["colour"], ["colour", "sharpness"]]  # type: ignore[index]
    assert drift_warnings(found) == [
        "chain from a: colour drifts past the limit at c (link 2): CIEDE2000 5.5 from a's picture (limit 5); set "
        "assembly.color_anchor: root to grade the chain back toward a's picture in the films",
        "chain from a: detail softens past the limit at d (link 3): sharpness 0.55 of a's (limit 0.6); give a shot "
        "before it a last_frame keyframe, or start a new chain (a shot without after)"]
    # With the anchor on, colour is judged on what the films show.
    graded = [_shot("b", 1, 2.0, 0.9, 0.4), _shot("c", 2, 5.5, 0.8, 0.7)]
    assert drift_warnings(graded, "root") == [] and drift_report(graded, "root")["chains"][0]["over"] == []  # type: ignore[index]
    still = [_shot("c", 2, 9.0, 0.8, 6.1)]
    assert drift_warnings(still, "root") == [
        "chain from a: colour drifts past the limit at c (link 2): CIEDE2000 6.1 from a's picture (limit 5); give a "
        "shot before it a last_frame keyframe, or start a new chain"]
