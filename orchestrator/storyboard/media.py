"""Reads just enough of an input file (format, pixel size, duration, bytes) to check it against the provider's limits.

Pillow reads image headers lazily (and `verify` walks chunks without decoding pixels); mutagen reads container
headers. Results are cached per (path, size, mtime), so a file edited while the process runs is read again.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import mutagen
from PIL import Image, UnidentifiedImageError

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heif"}
_PIL_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "WEBP": "webp", "BMP": "bmp", "TIFF": "tiff", "GIF": "gif"}


class MediaKind(StrEnum):
    """What the provider expects at a place in the request."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


@dataclass(frozen=True)
class MediaInfo:
    """What was read from a local file; `problem` says why it could not be read."""

    size_bytes: int
    format: str | None = None
    width: int | None = None
    height: int | None = None
    seconds: float | None = None
    problem: str | None = None


def is_remote(source: str) -> bool:
    """True for URLs the provider fetches itself (https, asset ids); they cannot be checked from here."""
    return source.startswith(("https://", "asset://"))


def remote_is_complete(source: str) -> bool:
    """True when a remote source names a host (https) or an id (asset)."""
    parts = urlsplit(source)
    return bool(parts.netloc) and (parts.scheme == "asset" or "." in parts.netloc or parts.netloc == "localhost")


def inspect_media(path: Path, kind: MediaKind) -> MediaInfo:
    """Read a local image, video or audio file's header (cached while the file is unchanged)."""
    stat = path.stat()
    return _inspect(path, kind, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _inspect(path: Path, kind: MediaKind, size: int, mtime_ns: int) -> MediaInfo:
    if kind is MediaKind.IMAGE:
        return _inspect_image(path, size)
    return _inspect_timed(path, size, kind)


def _inspect_image(path: Path, size: int) -> MediaInfo:
    if _heif_brand(path):
        return MediaInfo(size, format="heic")  # Pillow needs a plugin for HEIF; the size is checked by the provider
    try:
        with Image.open(path) as img:
            fmt = _PIL_FORMATS.get(img.format or "", (img.format or "unknown").lower())
            width, height = img.width, img.height
            img.verify()  # walks the file's structure without decoding pixels: catches truncated uploads
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return MediaInfo(size, problem="not a readable image (unknown format, or damaged/truncated)")
    return MediaInfo(size, format=fmt, width=width, height=height)


def _inspect_timed(path: Path, size: int, kind: MediaKind) -> MediaInfo:
    try:
        parsed = mutagen.File(path)
    except (mutagen.MutagenError, OSError, ValueError):
        parsed = None
    if parsed is None or getattr(parsed, "info", None) is None:
        return MediaInfo(size, problem=f"not a readable {kind.value} file")
    fmt = _container(path, type(parsed).__name__)
    return MediaInfo(size, format=fmt, seconds=float(parsed.info.length))


def _container(path: Path, mutagen_type: str) -> str:
    if mutagen_type == "MP4":
        return "mov" if _ftyp_brand(path) == b"qt  " else "mp4"
    return {"MP3": "mp3", "WAVE": "wav", "FLAC": "flac", "OggVorbis": "ogg", "OggOpus": "ogg"}.get(
        mutagen_type, mutagen_type.lower()
    )


def _ftyp_brand(path: Path) -> bytes | None:
    with path.open("rb") as fh:
        head = fh.read(12)
    return head[8:12] if head[4:8] == b"ftyp" else None


def _heif_brand(path: Path) -> bool:
    return _ftyp_brand(path) in _HEIF_BRANDS
