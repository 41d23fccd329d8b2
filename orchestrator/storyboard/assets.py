"""The rules on a shot's files: each image, audio or video reference read and checked against the provider's
limits (seedance-api.md §3.4), and the request body they add up to."""

from __future__ import annotations

from orchestrator import models as m
from orchestrator.models import ModelSpec
from orchestrator.storyboard.context import RuleContext
from orchestrator.storyboard.diagnostics import DataPath
from orchestrator.storyboard.media import MediaInfo, MediaKind
from orchestrator.storyboard.resolve import ShotSpec


def check_media(spec: ShotSpec, model: ModelSpec | None, ctx: RuleContext) -> int:
    body = len((spec.shot.prompt or "").encode()) + 4096
    audio_seconds = 0.0
    for path, raw, kind in _media_of(spec):
        found = ctx.local_file(path, raw, kind)
        if found is None:
            continue
        _, info = found
        if kind is MediaKind.IMAGE:
            _check_image(path, raw, info, model, ctx)
        elif kind is MediaKind.VIDEO:
            ctx.error(path, f"{raw}: the provider fetches reference videos only from https:// or asset:// URLs; "
                      "upload the file and give its URL")
            continue
        else:
            audio_seconds += _check_audio(path, raw, info, model, ctx)
        body += inline_size(info.size_bytes)
    if model is not None and audio_seconds > model.references.audio_seconds_total:
        ctx.error((*spec.path, "references", "audios"), f"{audio_seconds:.1f} s of reference audio; at most "
                  f"{model.references.audio_seconds_total:g} s in all")
    return body


def _media_of(spec: ShotSpec) -> list[tuple[DataPath, str, MediaKind]]:
    shot, base = spec.shot, spec.path
    found: list[tuple[DataPath, str, MediaKind]] = []
    if shot.first_frame is not None:
        found.append(((*base, "first_frame"), shot.first_frame, MediaKind.IMAGE))
    if shot.last_frame is not None:
        found.append(((*base, "last_frame"), shot.last_frame, MediaKind.IMAGE))
    if shot.references is not None:
        for kind, items in ((MediaKind.IMAGE, shot.references.images), (MediaKind.VIDEO, shot.references.videos),
                            (MediaKind.AUDIO, shot.references.audios)):
            found += [((*base, "references", f"{kind.value}s", i), raw, kind) for i, raw in enumerate(items)]
    return found


def _check_image(path: DataPath, raw: str, info: MediaInfo, model: ModelSpec | None, ctx: RuleContext) -> None:
    formats = model.image_formats if model else m.HEIF_IMAGE_FORMATS
    if info.format is not None and info.format not in formats:
        ctx.error(path, f"{raw}: {info.format} images are not accepted ({', '.join(sorted(formats))})")
    if info.size_bytes >= m.IMAGE_MAX_BYTES:
        ctx.error(path, f"{raw}: {info.size_bytes / 1e6:.1f} MB is too large (under 30 MB)")
    if info.width is None or info.height is None:
        return
    size = f"{info.width}x{info.height} px"
    if min(info.width, info.height) <= m.IMAGE_MIN_SIDE_PX:
        ctx.error(path, f"{raw}: {size} is too small (each side more than {m.IMAGE_MIN_SIDE_PX} px)")
    if max(info.width, info.height) >= m.IMAGE_MAX_SIDE_PX:
        ctx.error(path, f"{raw}: {size} is too large (each side less than {m.IMAGE_MAX_SIDE_PX} px)")
    aspect = info.width / info.height
    if not m.IMAGE_MIN_ASPECT <= aspect <= m.IMAGE_MAX_ASPECT:
        ctx.error(path, f"{raw}: aspect ratio {aspect:.2f} ({size}) is outside "
                  f"{m.IMAGE_MIN_ASPECT}..{m.IMAGE_MAX_ASPECT}")


def _check_audio(path: DataPath, raw: str, info: MediaInfo, model: ModelSpec | None, ctx: RuleContext) -> float:
    if info.format not in m.AUDIO_FORMATS:
        ctx.error(path, f"{raw}: {info.format} audio is not accepted (mp3, wav)")
    if info.size_bytes > m.AUDIO_MAX_BYTES:
        ctx.error(path, f"{raw}: {info.size_bytes / 1e6:.1f} MB is too large (at most 15 MB)")
    seconds = info.seconds or 0.0
    if model is not None:
        low, high = model.references.audio_seconds_each
        if not low <= seconds <= high:
            ctx.error(path, f"{raw}: {seconds:.1f} s is not allowed ({low:g}..{high:g} s)")
    return seconds


def inline_size(size: int) -> int:
    return (size + 2) // 3 * 4 + 32
