"""A seam's verdict in plain words: ok, or check with the reasons, against stated thresholds.

A chained join is the same picture continued, so its frames must be near alike; a cut changes the picture on
purpose, so only a frozen frame or a jump in sound is worth a look there. The figures come from QC (qc.JoinQC).
"""

from __future__ import annotations

from dataclasses import dataclass

CHAINED_SSIM_MIN = 0.90  # below this, a chained join shows a visible jump in the picture
AUDIO_STEP_MAX_DB = 6.0  # a level change larger than this across 50 ms either side is heard as a click or a cut-out

THRESHOLDS = (f"check when a frame is shown twice (a freeze), when a chained join's SSIM is below "
              f"{CHAINED_SSIM_MIN:.2f}, or when the sound level steps more than {AUDIO_STEP_MAX_DB:g} dB across a "
              "join; ok otherwise")


@dataclass(frozen=True)
class Verdict:
    """ok or check, and why."""

    word: str  # "ok" | "check"
    reasons: tuple[str, ...]


def verdict(chained: bool, ssim: float, duplicate: bool, audio_step_db: float) -> Verdict:
    """The verdict on one seam."""
    reasons: list[str] = []
    if duplicate:
        reasons.append("the same frame is shown twice (a freeze)")
    if chained and ssim < CHAINED_SSIM_MIN:
        reasons.append(f"the picture jumps at a chained join (SSIM {ssim:.3f} < {CHAINED_SSIM_MIN:.2f})")
    if abs(audio_step_db) > AUDIO_STEP_MAX_DB:
        reasons.append(f"the sound level steps {audio_step_db:+.1f} dB (more than {AUDIO_STEP_MAX_DB:g})")
    return Verdict("check" if reasons else "ok", tuple(reasons))
