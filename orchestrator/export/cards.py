"""The pictures of an animatic's cards, drawn with Pillow at a shot's exact frame size: one of the shot's own
images fitted to the frame, or the shot's id and prompt on a dark frame. Pure: a picture in, a picture out.

Text is set in the font Pillow ships (`ImageFont.load_default`), never a system font, so a card looks the same on
every machine. That font has printable ASCII and a few quotes only: accents are dropped so Latin text stays legible
(`printable`), and letters of other scripts show as boxes.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

BACKGROUND = (18, 18, 22)  # dark, so a letterboxed picture reads as the picture and the bars as nothing
INK = (236, 236, 240)
DIM = (150, 150, 160)
STRIP = (0, 0, 0)
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
_FOLDS = str.maketrans({"\u2013": "-", "\u2014": "-", "\u00df": "ss", "\u00e6": "ae", "\u00c6": "AE", "\u0153": "oe",
                        "\u0152": "OE", "\u00f8": "o", "\u00d8": "O", "\u0142": "l", "\u0141": "L"})


def font(size: int) -> Font:
    """Pillow's own font at `size` pixels."""
    return ImageFont.load_default(size=size)


def printable(text: str) -> str:
    """`text` as the bundled font can set it: accents dropped (é as e), dashes as '-', ß as ss; a letter it has no
    form for stays (and shows as a box)."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return plain.translate(_FOLDS)


def image_card(source: Path, width: int, height: int, label: str, exif: bool = True) -> Image.Image:
    """`source` fitted whole into a `width`x`height` frame on the dark background (letterboxed), with `label` in a
    small strip in the top-left corner. `exif`: turn a JPEG as its EXIF orientation says, as the provider is taken
    to (Settings.exif_orientation)."""
    with Image.open(source) as opened:
        shown = ImageOps.exif_transpose(opened) if exif else opened
        picture = _rgb(shown)
    scale = min(width / picture.width, height / picture.height)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    card = Image.new("RGB", (width, height), BACKGROUND)
    card.paste(picture.resize(size, Image.Resampling.LANCZOS), ((width - size[0]) // 2, (height - size[1]) // 2))
    _corner_label(card, label)
    return card


def prompt_card(shot_id: str, prompt: str, width: int, height: int, note: str = "") -> Image.Image:
    """The shot id large at the top left of a dark frame, `note` (say, its length) small beside it, and the prompt
    wrapped below; a prompt longer than the frame ends in '...'."""
    shot_id, prompt, note = printable(shot_id), printable(prompt), printable(note)
    card = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(card)
    margin = max(8, width // 20)
    title, body = font(max(16, height // 7)), font(max(12, height // 24))
    draw.text((margin, margin), shot_id, font=title, fill=INK)
    title_bottom = margin + _line_height(title)
    if note:
        beside = margin + draw.textlength(shot_id + "  ", font=title)
        draw.text((beside, margin + _ascent(title) - _ascent(body)), note, font=body, fill=DIM)  # on one baseline
    step = _line_height(body)
    top = title_bottom + step // 2
    room = max(0, (height - margin - top) // step)
    lines = wrap(prompt, body, width - 2 * margin)
    if len(lines) > room:
        lines = lines[:room]
        if lines:
            lines[-1] = _ellipsis(lines[-1], body, width - 2 * margin)
    for i, line in enumerate(lines):
        draw.text((margin, top + i * step), line, font=body, fill=INK)
    return card


def wrap(text: str, face: Font, width: int) -> list[str]:
    """`text` in lines no wider than `width` pixels, broken between words (inside a word only when it is wider than
    a line by itself, as unspaced Chinese or Japanese is)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if face.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for char in word:  # a word wider than the line: broken where it must be
                if line and face.getlength(line + char) > width:
                    lines.append(line)
                    line = ""
                line += char
        lines.append(line)
    return lines


def _ellipsis(line: str, face: Font, width: int) -> str:
    while line and face.getlength(line + "...") > width:
        line = line[:-1]
    return line.rstrip() + "..."


def _line_height(face: Font) -> int:
    size: float = getattr(face, "size", 10)  # the bitmap fallback font has no size: about 10 px
    return round(size * 1.3)


def _ascent(face: Font) -> int:
    return face.getmetrics()[0] if isinstance(face, ImageFont.FreeTypeFont) else 0


def _rgb(image: Image.Image) -> Image.Image:
    """The picture as RGB, transparent parts laid on the card's background."""
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _corner_label(card: Image.Image, label: str) -> None:
    """`label` on a black strip in the top-left corner, small: it stays clear of the picture's centre."""
    face = font(max(10, card.height // 28))
    draw = ImageDraw.Draw(card)
    label = printable(label)
    pad = max(3, card.height // 90)
    if face.getlength(label) > card.width // 3:
        label = _ellipsis(label, face, card.width // 3)
    text_width = int(face.getlength(label))
    draw.rectangle((0, 0, text_width + 2 * pad, _line_height(face) + pad), fill=STRIP)
    draw.text((pad, pad), label, font=face, fill=INK)
