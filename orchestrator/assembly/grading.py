"""A clip's colour grade as data (the colour anchor's: `anchor` works it out, `graphs` applies it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Levels:
    """value * gain + offset on each of Y', Cb, Cr (code values)."""

    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)
    offsets: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def identity(self) -> bool:
        """Whether these levels change nothing."""
        return self == NO_LEVELS

    def expression(self, channel: int) -> str:
        """ffmpeg lutyuv's expression for one channel. lutyuv truncates the result and clips it to 0..255 (both
        builds, measured), so half a code value is added to round it."""
        return f"val*{self.gains[channel]:.4f}{self.offsets[channel] + 0.5:+.3f}"

    def toward(self, other: Levels, share: float) -> Levels:
        """The levels `share` (0..1) of the way to `other`, on a straight line."""
        gains = tuple(a + (b - a) * share for a, b in zip(self.gains, other.gains, strict=True))
        offsets = tuple(a + (b - a) * share for a, b in zip(self.offsets, other.offsets, strict=True))
        return Levels((gains[0], gains[1], gains[2]), (offsets[0], offsets[1], offsets[2]))


NO_LEVELS = Levels()


@dataclass(frozen=True)
class Grade:
    """One clip's grade: `start` on its first frame, `end` on its last, the straight-line mix of both between."""

    start: Levels
    end: Levels

    @property
    def ramps(self) -> bool:
        """Whether the grade changes along the clip (then ffmpeg needs its ramp's commands)."""
        return self.start != self.end


RAMP_TOLERANCE = 0.5  # code values: how far a frame's grade may lag its exact share of the ramp


def ramp_commands(grade: Grade, frames: int, rate: tuple[int, int], target: str) -> str:
    """ffmpeg sendcmd's commands that move the lutyuv `target` (`lutyuv@NAME`) along the ramp: frame k of `frames`
    (at k / rate seconds, `rate` a fraction) is graded within RAMP_TOLERANCE of k/(frames-1) of the way from
    `grade.start` to `grade.end`, and the last frame exactly at `grade.end`.

    A channel's table is set anew only when its share has moved by the tolerance: each setting makes lutyuv rebuild
    its tables (about 5 ms at 720p, measured), which on every frame would cost seconds a clip. A command is sent
    half a frame early, so a frame's time never falls on the boundary."""
    sent = [(grade.start.gains[c], grade.start.offsets[c]) for c in range(3)]
    lines = []
    for k in range(1, frames):
        exact = grade.start.toward(grade.end, k / (frames - 1))
        now = [(exact.gains[c], exact.offsets[c]) for c in range(3)]
        last = k == frames - 1
        due = [c for c in range(3) if (last and now[c] != sent[c]) or _gap(sent[c], now[c]) >= RAMP_TOLERANCE]
        if not due:
            continue
        for c in due:
            sent[c] = now[c]
        sets = ", ".join(f"{target} {'yuv'[c]} '{exact.expression(c)}'" for c in due)
        lines.append(f"{(k - 0.5) * rate[1] / rate[0]:.6f} {sets};")
    return "".join(line + "\n" for line in lines)


def _gap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The largest difference, over the code values 0..255, between two (gain, offset) settings of one channel."""
    return max(abs((a[0] - b[0]) * value + a[1] - b[1]) for value in (0, 255))
