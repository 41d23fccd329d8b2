"""Draw the example storyboards' images: flat shapes and gradients, made for this project.

Run `python storyboards/assets/make_assets.py` (Pillow is the only dependency) to regenerate every PNG
next to this file. The output is deterministic: fixed coordinates, seeded randomness and no noise, which
also keeps the PNGs small. Everything is drawn at SS times the final size and scaled down once, which
gives smooth, anti-aliased edges.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageOps

HERE = Path(__file__).resolve().parent
SS = 3  # supersampling factor

Color = tuple[int, ...]  # RGB, or RGBA for translucent flat fills
Point = tuple[float, float]
Shape = tuple[str, Any, dict[str, Any]]  # (ImageDraw method, coordinates in final pixels, options)


# --- paints: a flat colour, or a gradient rendered over the bounding box of the shape it fills ----


@dataclass(frozen=True)
class Linear:
    start: Color
    end: Color
    horizontal: bool = False

    def render(self, size: tuple[int, int]) -> Image.Image:
        ramp = Image.linear_gradient("L")  # 0 at the top, 255 at the bottom
        if self.horizontal:
            ramp = ramp.transpose(Image.Transpose.TRANSPOSE)
        return ImageOps.colorize(ramp.resize(size, Image.Resampling.BILINEAR), self.start[:3], self.end[:3])


@dataclass(frozen=True)
class Radial:
    inner: Color
    outer: Color
    focus: Point = (0.5, 0.5)  # where the inner colour sits, as a fraction of the box

    def render(self, size: tuple[int, int]) -> Image.Image:
        w, h = size
        disc = Image.radial_gradient("L").resize((2 * w, 2 * h), Image.Resampling.BILINEAR)
        left, top = round(w - self.focus[0] * w), round(h - self.focus[1] * h)
        ramp = disc.crop((left, top, left + w, top + h))
        return ImageOps.colorize(ramp, self.inner[:3], self.outer[:3])


Paint = Color | Linear | Radial


# --- shapes, in final-image pixels ----------------------------------------------------------------


def oval(box: Sequence[float]) -> Shape:
    return ("ellipse", box, {})


def poly(points: Sequence[Point]) -> Shape:
    return ("polygon", points, {})


def rect(box: Sequence[float], radius: float = 0) -> Shape:
    return ("rounded_rectangle", box, {"radius": radius * SS})


def chord(box: Sequence[float], start: float, end: float) -> Shape:
    return ("chord", box, {"start": start, "end": end})


def scaled(coords: Any) -> list[float]:
    """Flatten points or a box into a flat list of supersampled coordinates."""
    flat: list[float] = []
    for item in coords:
        flat.extend(v * SS for v in item) if isinstance(item, tuple) else flat.append(item * SS)
    return flat


class Canvas:
    """A supersampled RGB image with fill/line helpers that take final-image coordinates."""

    def __init__(self, width: int, height: int, background: Paint) -> None:
        self.size = (width, height)
        self.image = Image.new("RGB", (width * SS, height * SS))
        self.draw = ImageDraw.Draw(self.image, "RGBA")  # RGBA mode: translucent fills blend
        self.fill(background, rect((0, 0, width, height)))

    def mask(self, *shapes: Shape) -> Image.Image:
        """The union of the shapes as an 8-bit mask (usable as `clip=`)."""
        mask = Image.new("L", self.image.size, 0)
        pen = ImageDraw.Draw(mask)
        for kind, coords, options in shapes:
            getattr(pen, kind)(scaled(coords), fill=255, **options)
        return mask

    def fill(self, paint: Paint, *shapes: Shape, clip: Image.Image | None = None) -> None:
        """Fill the union of the shapes; gradients span the union's bounding box, `clip` masks the result."""
        if isinstance(paint, tuple) and clip is None:
            for kind, coords, options in shapes:
                getattr(self.draw, kind)(scaled(coords), fill=paint, **options)
            return
        mask = self.mask(*shapes)
        if clip is not None:
            mask = ImageChops.multiply(mask, clip)
        box = mask.getbbox()
        if box is None:
            return
        size = (box[2] - box[0], box[3] - box[1])
        if isinstance(paint, tuple):
            layer = Image.new("RGB", size, paint[:3])
            if len(paint) == 4:
                mask = mask.point(lambda v: v * paint[3] // 255)
        else:
            layer = paint.render(size)
        self.image.paste(layer, box[:2], mask.crop(box))

    def line(self, points: Sequence[Point], color: Color, width: float) -> None:
        self.draw.line(scaled(points), fill=color, width=round(width * SS), joint="curve")

    def glow(self, centre: Point, radius: float, color: Color, rings: int = 24) -> None:
        """A soft halo: stacked translucent discs, no per-pixel noise."""
        x, y = centre
        for i in range(rings):
            r = radius * (1 - i / rings)
            self.fill((*color[:3], color[3] // rings), oval((x - r, y - r, x + r, y + r)))

    def save(self, name: str) -> Path:
        path = HERE / name
        self.image.resize(self.size, Image.Resampling.LANCZOS).save(path, optimize=True)
        return path


# --- reusable props -------------------------------------------------------------------------------


def leaf(base: Point, tip: Point, width: float, steps: int = 24) -> list[Point]:
    """A pointed leaf outline from base to tip."""
    (bx, by), (tx, ty) = base, tip
    dx, dy = tx - bx, ty - by
    length = math.hypot(dx, dy)
    nx, ny = -dy / length, dx / length
    points: list[Point] = []
    for side in (1, -1):
        for i in range(steps + 1):
            t = i / steps if side == 1 else 1 - i / steps
            bulge = side * math.sin(math.pi * t**0.8) * width / 2
            points.append((bx + dx * t + nx * bulge, by + dy * t + ny * bulge))
    return points


def wave(x0: float, x1: float, y: float, amplitude: float, period: float, phase: float = 0) -> list[Point]:
    """Points along a horizontal sine line, left to right."""
    steps = max(8, int((x1 - x0) / 8))
    return [
        (
            x0 + (x1 - x0) * i / steps,
            y + amplitude * math.sin(phase + (x1 - x0) * i / steps / period * math.tau),
        )
        for i in range(steps + 1)
    ]


def star(cx: float, cy: float, r: float) -> list[Point]:
    """A four-pointed sparkle."""
    points: list[Point] = []
    for i in range(8):
        radius = r if i % 2 == 0 else r * 0.28
        angle = math.pi / 4 * i - math.pi / 2
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def drop(c: Canvas, x: float, y: float, s: float) -> None:
    """A water droplet: darker lower rim, clear body, bright specular dot."""
    c.fill((90, 10, 20, 60), oval((x - s, y - s * 0.85, x + s, y + s * 1.2)))
    c.fill((255, 236, 236, 95), oval((x - s, y - s * 1.05, x + s, y + s)))
    c.fill((255, 255, 255, 235), oval((x - s * 0.55, y - s * 0.65, x - s * 0.1, y - s * 0.2)))


def apple_lobes(cx: float, cy: float, r: float) -> list[Shape]:
    """An apple silhouette: two overlapping circles leave a small dip at the stem and at the base."""
    off, rx = r * 0.3, r * 0.9
    return [
        oval((cx - off - rx, cy - r, cx - off + rx, cy + r)),
        oval((cx + off - rx, cy - r, cx + off + rx, cy + r)),
    ]


def draw_apple(c: Canvas, cx: float, cy: float, r: float, *, dew: int = 0, seed: int = 1) -> None:
    """A glossy red apple with stem, leaf, a soft contact shadow and `dew` droplets."""
    off = r * 0.3
    for i in range(6):  # feathered shadow, widest and faintest first
        k = 1.25 - i * 0.06
        c.fill((60, 25, 15, 28), oval((cx - (r + off) * k, cy + r * 0.82, cx + (r + off) * k, cy + r * 1.08)))
    c.fill(Radial((240, 72, 60), (110, 6, 22), focus=(0.32, 0.28)), *apple_lobes(cx, cy, r))
    c.fill((100, 8, 18, 150), oval((cx - r * 0.16, cy - r * 0.97, cx + r * 0.16, cy - r * 0.8)))
    c.line(
        [(cx, cy - r * 0.86), (cx + r * 0.04, cy - r * 1.1), (cx + r * 0.13, cy - r * 1.3)],
        (95, 60, 35),
        r * 0.07,
    )
    base, tip = (cx + r * 0.08, cy - r * 1.1), (cx + r * 0.72, cy - r * 1.4)
    c.fill(Linear((140, 205, 85), (50, 120, 40)), poly(leaf(base, tip, r * 0.3)))
    c.line([base, tip], (205, 238, 165, 170), r * 0.02)
    c.fill((255, 255, 255, 80), oval((cx - off - r * 0.62, cy - r * 0.66, cx - off - r * 0.18, cy - r * 0.2)))
    c.fill((255, 255, 255, 190), oval((cx - off - r * 0.5, cy - r * 0.55, cx - off - r * 0.33, cy - r * 0.4)))
    rng = random.Random(seed)
    placed = 0
    while placed < dew:
        x, y = rng.uniform(cx - off - r * 0.9, cx + off + r * 0.9), rng.uniform(cy - r * 0.75, cy + r * 0.8)
        if min(math.hypot(x - (cx - off), y - cy), math.hypot(x - (cx + off), y - cy)) < r * 0.8:
            drop(c, x, y, r * rng.uniform(0.025, 0.055))
            placed += 1


def draw_cup(c: Canvas, cx: float, top: float, bottom: float, width: float, *, label: bool = True) -> None:
    """A clear, tapered cup of layered pink fruit tea under cream foam, with a straw and a pink-red label."""
    height, base = bottom - top, width * 0.74
    glass = poly(
        [(cx - width / 2, top), (cx + width / 2, top), (cx + base / 2, bottom), (cx - base / 2, bottom)]
    )
    inset = width * 0.035
    inner = c.mask(
        poly(
            [
                (cx - width / 2 + inset, top),
                (cx + width / 2 - inset, top),
                (cx + base / 2 - inset, bottom - inset * 1.5),
                (cx - base / 2 + inset, bottom - inset * 1.5),
            ]
        )
    )
    left, right = cx - width, cx + width
    for i in range(6):  # shadow on the surface
        k = 1.0 - i * 0.07
        c.fill(
            (150, 60, 80, 22),
            oval((cx - base * k, bottom - height * 0.03, cx + base * k, bottom + height * 0.06)),
        )
    c.fill((255, 255, 255, 50), glass)
    c.line(
        [(cx + width * 0.12, top + height * 0.3), (cx + width * 0.3, top - height * 0.22)],
        (235, 70, 110),
        width * 0.05,
    )
    layers = [  # (top of layer as fraction of height, paint), drawn top to bottom so lower layers overlap
        (0.14, Linear((255, 252, 246), (250, 232, 226))),  # cream foam
        (0.33, Linear((250, 186, 198), (242, 140, 165))),  # milky pink tea
        (0.58, Linear((232, 84, 120), (178, 30, 76))),  # apple-red tea base
    ]
    for n, (fraction, paint) in enumerate(layers):
        y = top + height * fraction
        edge = wave(left, right, y, height * 0.012, width * 0.55, phase=n * 1.7)
        c.fill(paint, poly([*edge, (right, bottom), (left, bottom)]), clip=inner)
    rng = random.Random(3)
    for _ in range(7):  # apple cubes and ice in the base layer
        x, y, s = cx + rng.uniform(-0.28, 0.28) * width, top + height * rng.uniform(0.66, 0.9), width * 0.055
        if rng.random() < 0.5:
            c.fill((250, 238, 200), rect((x - s, y - s, x + s, y + s), s * 0.3), clip=inner)
            c.fill((200, 30, 45), rect((x - s, y - s, x + s, y - s * 0.55), s * 0.2), clip=inner)
        else:
            c.fill((255, 255, 255, 90), rect((x - s * 1.2, y - s, x + s * 1.2, y + s), s * 0.35), clip=inner)
    for alpha, x0, x1, margin in (
        (110, -0.4, -0.34, 0.06),
        (60, 0.37, 0.41, 0.09),
    ):  # reflections on the glass
        y0, y1 = top + height * margin, bottom - height * margin
        strip = [(cx + width * x0, y0), (cx + width * x1, y0), (cx + base * x1, y1), (cx + base * x0, y1)]
        c.fill((255, 255, 255, alpha), poly(strip))
    corners = [(cx - width / 2, top), (cx - base / 2, bottom), (cx + base / 2, bottom), (cx + width / 2, top)]
    c.line(corners, (255, 255, 255, 170), width * 0.012)
    c.draw.ellipse(
        scaled((cx - width / 2, top - height * 0.03, cx + width / 2, top + height * 0.03)),
        fill=(255, 255, 255, 40),
        outline=(255, 255, 255, 210),
        width=round(width * 0.012 * SS),
    )
    if label:
        y, w, h = top + height * 0.36, width * 0.5, height * 0.2
        c.fill((255, 255, 255), rect((cx - w / 2 - 4, y - 4, cx + w / 2 + 4, y + h + 4), h * 0.18))
        c.fill(Linear((240, 70, 105), (205, 35, 75)), rect((cx - w / 2, y, cx + w / 2, y + h), h * 0.15))
        r = h * 0.26
        c.fill((255, 248, 240), *apple_lobes(cx, y + h * 0.55, r))
        stem_y = y + h * 0.55 - r
        c.fill(
            (255, 248, 240), poly(leaf((cx + r * 0.1, stem_y), (cx + r * 0.8, stem_y - r * 0.5), r * 0.45))
        )


def tree(c: Canvas, x: float, ground: float, s: float, seed: int) -> None:
    """An apple tree of scale s standing at (x, ground)."""
    c.fill((60, 30, 15, 40), oval((x - 60 * s, ground - 8 * s, x + 60 * s, ground + 10 * s)))
    c.fill(
        Linear((120, 80, 50), (85, 55, 35), horizontal=True),
        rect((x - 9 * s, ground - 80 * s, x + 9 * s, ground)),
    )
    cy = ground - 125 * s
    crown = [
        oval((x + dx * s - r * s, cy + dy * s - r * s, x + dx * s + r * s, cy + dy * s + r * s))
        for dx, dy, r in ((0, -20, 62), (-45, 10, 50), (45, 10, 50), (0, 25, 55))
    ]
    c.fill(Radial((150, 205, 95), (45, 115, 45), focus=(0.38, 0.3)), *crown)
    rng = random.Random(seed)
    for _ in range(9):
        ax, ay = x + rng.uniform(-75, 75) * s, cy + rng.uniform(-55, 55) * s
        c.fill((215, 35, 40), oval((ax - 7 * s, ay - 7 * s, ax + 7 * s, ay + 7 * s)))
        c.fill((255, 255, 255, 150), oval((ax - 4 * s, ay - 4 * s, ax - s, ay - s)))


# --- the images -----------------------------------------------------------------------------------


def make_apple() -> Path:
    """First frame of the tea advert: a dewy red apple on a wooden table."""
    c = Canvas(1280, 720, Linear((252, 238, 218), (236, 198, 168)))
    c.glow((330, 160), 420, (255, 255, 240, 120))
    c.fill(Linear((160, 104, 62), (105, 62, 36)), rect((0, 500, 1280, 720)))
    c.fill((190, 135, 85), rect((0, 496, 1280, 506)))
    for y in (575, 660):
        c.line([(0, y), (1280, y)], (80, 45, 25, 120), 3)
    for x0, y0, x1 in ((60, 540, 420), (760, 610, 1220), (200, 690, 640), (900, 530, 1180)):
        c.line([(x0, y0), (x1, y0 + 4)], (200, 150, 100, 70), 4)
    draw_apple(c, 640, 350, 165, dew=22, seed=7)
    for x, y, s in ((420, 560, 7), (880, 585, 5), (905, 560, 4)):
        drop(c, x, y, s)
    return c.save("apple.png")


def make_cup() -> Path:
    """Product shot and last-frame keyframe: the layered tea in a clear cup, an apple beside it."""
    c = Canvas(1280, 720, Radial((255, 242, 244), (238, 176, 192), focus=(0.5, 0.38)))
    c.fill(Linear((247, 216, 222), (230, 182, 196)), rect((0, 590, 1280, 720)))
    c.fill((255, 236, 240), rect((0, 586, 1280, 594)))
    c.glow((640, 330), 380, (255, 255, 255, 110))
    draw_cup(c, 640, 150, 640, 310)
    draw_apple(c, 920, 560, 72, dew=8, seed=11)
    for x, y in ((355, 610), (420, 625)):
        c.fill((255, 255, 255, 110), rect((x - 26, y - 22, x + 26, y + 22), 10))
        c.fill((255, 255, 255, 200), rect((x - 16, y - 14, x - 4, y - 6), 3))
    for x, y, r in ((330, 200, 22), (980, 250, 16), (1060, 160, 12), (250, 330, 12)):
        c.fill((255, 255, 255, 220), poly(star(x, y, r)))
    return c.save("cup.png")


def make_orchard() -> Path:
    """Scene opener: rows of apple trees along a path on a sunny morning."""
    c = Canvas(1280, 720, Linear((115, 180, 235), (220, 238, 246)))
    c.glow((1010, 120), 170, (255, 245, 200, 220))
    c.fill((255, 250, 225), oval((970, 80, 1050, 160)))
    c.fill((165, 205, 145), poly([*wave(0, 1280, 350, 18, 420, 1.0), (1280, 720), (0, 720)]))
    c.fill((125, 180, 105), poly([*wave(0, 1280, 380, 10, 300, 2.5), (1280, 720), (0, 720)]))
    c.fill(Linear((120, 180, 80), (70, 135, 50)), rect((0, 395, 1280, 720)))
    c.fill(Linear((222, 194, 150), (188, 148, 104)), poly([(615, 395), (665, 395), (930, 720), (350, 720)]))
    rows = (0.22, 0.3, 0.42, 0.58, 0.8, 1.1)
    for i, s in enumerate(rows):  # far to near, so nearer trees overlap
        ground, offset = 395 + 300 * (s - 0.22) / 0.88, 80 + 480 * s
        tree(c, 640 - offset, ground, s, seed=2 * i)
        tree(c, 640 + offset, ground, s, seed=2 * i + 1)
    c.fill(Linear((170, 115, 65), (120, 75, 40)), poly([(880, 640), (1060, 640), (1040, 715), (900, 715)]))
    for x, y in ((925, 628), (975, 622), (1020, 630), (950, 600), (1000, 604)):
        c.fill(
            Radial((235, 70, 60), (140, 10, 25), focus=(0.35, 0.3)), oval((x - 26, y - 24, x + 26, y + 24))
        )
    for y in (660, 685):
        c.line([(886, y), (1054, y)], (95, 60, 30, 160), 3)
    return c.save("orchard.png")


def make_kitchen() -> Path:
    """Scene opener: a bright kitchen counter with a board, an apple, a shaker, a cup and a bowl of apples."""
    c = Canvas(1280, 720, Linear((250, 241, 228), (236, 220, 200)))
    c.fill((243, 235, 225), rect((0, 300, 1280, 470)))
    for x in range(0, 1281, 48):
        c.line([(x, 300), (x, 470)], (222, 208, 194), 2)
    for y in range(300, 471, 34):
        c.line([(0, y), (1280, y)], (222, 208, 194), 2)
    c.fill((250, 250, 246), rect((130, 50, 520, 300), 6))
    c.fill(Linear((150, 200, 240), (225, 242, 250)), rect((145, 65, 505, 285)))
    c.fill(
        (140, 190, 120),
        oval((160, 180, 330, 320)),
        oval((260, 200, 420, 330)),
        clip=c.mask(rect((145, 65, 505, 285))),
    )
    c.fill((250, 250, 246), rect((318, 65, 332, 285)), rect((145, 168, 505, 182)))
    c.fill((255, 250, 220, 45), poly([(145, 285), (505, 285), (760, 470), (300, 470)]))
    c.fill(Linear((170, 125, 80), (140, 98, 60)), rect((800, 175, 1200, 190), 3))
    for x, color in (
        (830, (120, 80, 50)),
        (920, (250, 246, 238)),
        (1010, (240, 150, 160)),
        (1100, (200, 150, 70)),
    ):
        c.fill((255, 255, 255, 90), rect((x, 90, x + 70, 175), 10))
        c.fill(color, rect((x + 6, 118, x + 64, 170), 6))
        c.fill((190, 140, 90), rect((x - 3, 80, x + 73, 96), 5))
    c.line([(660, 0), (660, 40)], (70, 70, 70), 3)
    c.glow((660, 90), 90, (255, 240, 200, 120))
    c.fill(Linear((70, 110, 100), (45, 80, 72)), poly([(625, 40), (695, 40), (730, 85), (590, 85)]))
    c.fill(Linear((236, 233, 228), (214, 208, 202)), rect((0, 470, 1280, 505)))
    c.fill((190, 184, 178), rect((0, 505, 1280, 515)))
    c.fill(Linear((160, 186, 160), (132, 158, 136)), rect((0, 515, 1280, 720)))
    for x in range(10, 1280, 256):
        c.draw.rounded_rectangle(
            scaled((x, 535, x + 236, 700)), radius=8 * SS, outline=(120, 146, 124), width=3 * SS
        )
        c.fill((215, 212, 205), rect((x + 200, 560, x + 210, 620), 4))
    c.fill((120, 80, 50, 50), oval((250, 470, 600, 490)))
    c.fill(Linear((215, 170, 115), (180, 130, 80)), rect((260, 440, 590, 478), 18))
    draw_apple(c, 420, 405, 42)
    c.fill(Linear((150, 155, 162), (245, 246, 248), horizontal=True), rect((650, 330, 735, 470), 10))
    c.fill(Linear((150, 155, 162), (240, 242, 245), horizontal=True), rect((658, 296, 727, 336), 12))
    c.fill((150, 155, 162), rect((680, 280, 705, 300), 6))
    c.fill((255, 255, 255, 130), rect((672, 340, 684, 460), 5))
    draw_cup(c, 840, 372, 470, 82)
    for x, y in ((1060, 395), (1120, 385), (1175, 398)):
        c.fill(
            Radial((235, 70, 60), (140, 10, 25), focus=(0.35, 0.3)), oval((x - 36, y - 34, x + 36, y + 34))
        )
    c.fill(Linear((95, 150, 175), (60, 105, 130)), chord((1000, 330, 1240, 480), 0, 180))
    return c.save("kitchen.png")


def make_street() -> Path:
    """Scene opener: a tea shop with a striped pink awning on a city street at golden hour."""
    c = Canvas(1280, 720, Linear((125, 165, 215), (252, 212, 180)))
    c.glow((200, 420), 300, (255, 210, 150, 120))
    rng = random.Random(5)
    for x, w, h, color in (
        (0, 200, 420, (150, 150, 175)),
        (190, 240, 360, (185, 120, 105)),
        (880, 170, 430, (120, 135, 160)),
        (1040, 240, 330, (200, 175, 150)),
    ):
        c.fill(color, rect((x, 560 - h, x + w, 560)))
        for wx in range(x + 20, x + w - 30, 46):
            for wy in range(580 - h, 520, 58):
                lit = (255, 225, 160, 200) if rng.random() < 0.35 else (255, 255, 255, 60)
                c.fill(lit, rect((wx, wy, wx + 26, wy + 34), 2))
    c.fill(Linear((246, 228, 218), (232, 210, 198)), rect((430, 110, 880, 560)))
    for wx in (480, 600, 720):
        c.fill((150, 180, 205), rect((wx, 160, wx + 80, 270), 4))
        c.fill((255, 255, 255, 120), rect((wx, 160, wx + 80, 170), 2))
    c.fill(Linear((255, 238, 192), (250, 196, 150)), rect((460, 395, 720, 560)))
    for n, x in enumerate((510, 590, 670)):
        draw_cup(c, x, 470, 540, 44, label=n == 1)
    c.fill(Linear((60, 110, 115), (40, 80, 85)), rect((745, 395, 850, 560)))
    c.fill((255, 238, 192, 150), rect((765, 415, 830, 500), 4))
    stripes = 10
    for i in range(stripes):  # striped awning, narrower at the wall than at its lip
        t0, t1 = i / stripes, (i + 1) / stripes
        color = (232, 72, 110) if i % 2 == 0 else (255, 246, 240)
        c.fill(
            color,
            poly(
                [(440 + 430 * t0, 330), (440 + 430 * t1, 330), (415 + 480 * t1, 385), (415 + 480 * t0, 385)]
            ),
        )
        c.fill(color, chord((415 + 480 * t0, 365, 415 + 480 * t1, 405), 0, 180))
    c.line([(880, 280), (950, 280)], (60, 60, 60), 5)
    c.fill((255, 246, 240), oval((905, 282, 985, 362)))
    c.draw.ellipse(scaled((905, 282, 985, 362)), outline=(232, 72, 110), width=5 * SS)
    c.fill((232, 72, 110), *apple_lobes(945, 325, 22))
    c.fill((90, 160, 70), poly(leaf((947, 302), (967, 290), 9)))
    c.fill(Linear((212, 202, 196), (188, 178, 172)), rect((0, 560, 1280, 625)))
    c.fill((150, 142, 138), rect((0, 625, 1280, 635)))
    c.fill(Linear((95, 95, 108), (68, 68, 80)), rect((0, 635, 1280, 720)))
    for x in range(20, 1280, 160):
        c.fill((245, 240, 220), rect((x, 674, x + 90, 684), 3))
    c.line([(300, 560), (300, 330)], (50, 55, 60), 8)
    c.glow((300, 320), 70, (255, 225, 150, 200))
    c.fill((60, 65, 70), poly([(282, 318), (318, 318), (310, 300), (290, 300)]))
    c.fill((150, 110, 80), rect((1110, 515, 1190, 565), 6))
    tree(c, 1150, 520, 0.7, seed=9)
    return c.save("street.png")


def make_logo() -> Path:
    """End card: a badge with an apple that is also a glass of layered tea, and sparkles."""
    c = Canvas(1280, 720, Radial((236, 72, 112), (140, 18, 56), focus=(0.5, 0.5)))
    for i in range(40):
        a = math.tau * i / 40
        x, y = 640 + 270 * math.cos(a), 360 + 270 * math.sin(a)
        c.fill((255, 220, 228), oval((x - 5, y - 5, x + 5, y + 5)))
    c.fill((255, 246, 240), oval((400, 120, 880, 600)))
    c.draw.ellipse(scaled((420, 140, 860, 580)), outline=(232, 72, 110), width=6 * SS)
    c.fill((150, 16, 48), *apple_lobes(640, 385, 150))
    inside = c.mask(*apple_lobes(640, 385, 138))
    for n, (y, paint) in enumerate(
        (
            (250, Linear((255, 252, 246), (250, 232, 226))),
            (330, Linear((250, 180, 195), (240, 130, 158))),
            (420, Linear((232, 84, 120), (178, 30, 76))),
        )
    ):
        c.fill(paint, poly([*wave(440, 840, y, 9, 130, n * 1.9), (840, 560), (440, 560)]), clip=inside)
    c.fill((255, 255, 255, 110), oval((515, 295, 560, 390)))
    c.line([(640, 248), (648, 215), (662, 190)], (95, 60, 35), 11)
    c.fill(Linear((140, 205, 85), (50, 120, 40)), poly(leaf((652, 215), (745, 170), 50)))
    for x, y, r in ((360, 170, 30), (930, 200, 24), (950, 560, 34), (320, 540, 20), (1050, 380, 16)):
        c.fill((255, 246, 240, 230), poly(star(x, y, r)))
    return c.save("logo.png")


def make_bottle() -> Path:
    """Portrait product image (multimodal reference): a chilled bottle of the apple tea."""
    c = Canvas(768, 1024, Linear((255, 244, 236), (250, 212, 206)))
    c.fill(Linear((244, 208, 206), (226, 178, 184)), rect((0, 860, 768, 1024)))
    c.glow((384, 520), 360, (255, 255, 255, 120))
    for i in range(6):
        k = 1 - i * 0.08
        c.fill((140, 60, 70, 24), oval((384 - 190 * k, 890, 384 + 190 * k, 935)))
    silhouette = [
        oval((244, 250, 524, 520)),
        rect((244, 385, 524, 800)),
        rect((244, 600, 524, 910), 70),
        rect((329, 160, 439, 330), 10),
    ]
    c.fill((255, 255, 255, 70), *silhouette)
    c.fill(Linear((246, 160, 178), (186, 32, 78)), rect((0, 290, 768, 1024)), clip=c.mask(*silhouette))
    c.fill((250, 190, 200), rect((329, 285, 439, 296), 4))
    c.fill(Linear((240, 70, 105), (196, 32, 72)), rect((317, 96, 451, 176), 14))
    for x in range(330, 445, 14):
        c.line([(x, 104), (x, 168)], (170, 20, 60, 120), 3)
    c.fill((255, 247, 238), rect((244, 540, 524, 760)))
    c.fill((232, 72, 110), rect((244, 552, 524, 562)), rect((244, 738, 524, 748)))
    c.fill((232, 72, 110), *apple_lobes(384, 655, 48))
    c.fill((90, 160, 70), poly(leaf((388, 608), (430, 585), 20)))
    c.fill((255, 255, 255, 120), rect((270, 300, 292, 880), 11))
    c.fill((255, 255, 255, 60), rect((490, 380, 500, 860), 5))
    rng = random.Random(13)
    for _ in range(26):
        y = rng.uniform(320, 880)
        if not 530 < y < 770:  # keep the label dry
            drop(c, rng.uniform(300, 510), y, rng.uniform(4, 9))
    return c.save("bottle.png")


MAKERS: tuple[Callable[[], Path], ...] = (
    make_apple,
    make_cup,
    make_orchard,
    make_kitchen,
    make_street,
    make_logo,
    make_bottle,
)

if __name__ == "__main__":
    for make in MAKERS:
        path = make()
        print(f"{path.name:12} {Image.open(path).size} {path.stat().st_size // 1024} KB")
