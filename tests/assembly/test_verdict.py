"""A seam's verdict against its stated thresholds, as a table."""

from __future__ import annotations

import pytest

from orchestrator.assembly.verdict import AUDIO_STEP_MAX_DB, CHAINED_SSIM_MIN, verdict


@pytest.mark.parametrize(
    ("chained", "ssim", "duplicate", "step", "word", "reasons"),
    [
        (True, 0.998, False, 0.1, "ok", 0),
        (False, 0.12, False, -3.0, "ok", 0),  # a cut changes the picture on purpose
        (True, CHAINED_SSIM_MIN - 0.001, False, 0.0, "check", 1),
        (True, CHAINED_SSIM_MIN, False, AUDIO_STEP_MAX_DB, "ok", 0),  # the thresholds themselves pass
        (False, 0.5, False, -(AUDIO_STEP_MAX_DB + 0.1), "check", 1),
        (True, 0.999, True, 0.0, "check", 1),
        (True, 0.2, True, 9.0, "check", 3),
    ],
)
def test_verdict(chained: bool, ssim: float, duplicate: bool, step: float, word: str, reasons: int) -> None:
    found = verdict(chained, ssim, duplicate, step)
    assert (found.word, len(found.reasons)) == (word, reasons)
