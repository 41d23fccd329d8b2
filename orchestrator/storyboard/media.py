"""Reads just enough of an input file (format, pixel size, duration, bytes) to check it against the provider's limits.

Only regular files are read. An image's header is read first; only when its pixel size is within the provider's
bounds is it decoded, fully and once, so a decompression bomb costs nothing and truncated pixel data is refused
here rather than by the provider at create time. mutagen reads audio and video container headers. Results are
cached per (path, size, mtime), so a file edited while the process runs is read again.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import mutagen
from PIL import Image

from orchestrator import models as m
from orchestrator.storyboard.reading import kind_problem

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
    turned: bool = False  # EXIF orientation 5-8: shown a quarter turn round, width and height swapped

    def shown_size(self, exif: bool) -> tuple[int, int] | None:
        """Pixel size as the picture is shown (EXIF orientation applied when `exif`), or None when unknown."""
        if self.width is None or self.height is None:
            return None
        return (self.height, self.width) if exif and self.turned else (self.width, self.height)


def is_remote(source: str) -> bool:
    """True for URLs the provider fetches itself (https, asset ids); they cannot be checked from here."""
    return source.startswith(("https://", "asset://"))


def remote_is_complete(source: str) -> bool:
    """True when a remote source names a host (https) or an id (asset)."""
    parts = urlsplit(source)
    return bool(parts.netloc) and (parts.scheme == "asset" or "." in parts.netloc or parts.netloc == "localhost")


def inspect_media(path: Path, kind: MediaKind) -> MediaInfo:
    """Read a local image, video or audio file (cached while the file is unchanged); `problem` says why not."""
    try:
        stat = path.stat()
    except (OSError, ValueError) as exc:
        return MediaInfo(0, problem=getattr(exc, "strerror", None) or str(exc))
    problem = kind_problem(stat.st_mode)
    if problem is not None:
        return MediaInfo(0, problem=problem)
    try:
        return _inspect(path, kind, stat.st_size, stat.st_mtime_ns)
    except OSError as exc:  # a regular file the system will not read (permissions, EIO, /proc/self/mem)
        return MediaInfo(0, problem=f"could not be read ({exc.strerror or type(exc).__name__})")


@functools.lru_cache(maxsize=256)
def _inspect(path: Path, kind: MediaKind, size: int, mtime_ns: int) -> MediaInfo:
    if kind is MediaKind.IMAGE:
        return _inspect_image(path, size)
    return _inspect_timed(path, size, kind)


def _inspect_image(path: Path, size: int) -> MediaInfo:
    if _heif_brand(path):
        return MediaInfo(size, format="heic")  # Pillow needs a plugin for HEIF; the size is checked by the provider
    if size >= m.IMAGE_MAX_BYTES:
        return MediaInfo(size)  # refused for its size; no need to read it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # a warning would print; refuse instead
            with Image.open(path) as img:
                fmt = _PIL_FORMATS.get(img.format or "", (img.format or "unknown").lower())
                width, height = img.size
                turned = img.getexif().get(_ORIENTATION, 1) in {5, 6, 7, 8}
                if _decodable(width, height):
                    img.load()  # the one full decode: truncated or short pixel data fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return MediaInfo(size, problem="its header declares more pixels than any image the provider takes "
                         f"(each side less than {m.IMAGE_MAX_SIDE_PX} px); not decoded")
    except Exception as exc:  # a hostile file can make a decoder raise anything; it is still only bad input
        reason = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
        return MediaInfo(size, problem=f"not a readable image (unknown format, or damaged/truncated: {reason})")
    return MediaInfo(size, format=fmt, width=width, height=height, turned=turned)


def _decodable(width: int, height: int) -> bool:
    """Within the provider's bounds, so worth decoding; anything else is refused for its size without a decode."""
    return min(width, height) > m.IMAGE_MIN_SIDE_PX and max(width, height) < m.IMAGE_MAX_SIDE_PX


_ORIENTATION = 0x0112  # EXIF tag


def _inspect_timed(path: Path, size: int, kind: MediaKind) -> MediaInfo:
    try:
        parsed = mutagen.File(path)
    except Exception:  # likewise for a container parser
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
