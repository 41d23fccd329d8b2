"""The drift figures: CIEDE2000 agrees with Sharma, Wu and Dalal's reference pairs (the values colour-science tests
itself against), sRGB to CIELAB with the standard primaries, and sharpness falls as a picture softens."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from orchestrator.assembly.drift import delta_e2000, drifted, look, sharpness, to_lab

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
