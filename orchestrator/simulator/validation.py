"""The provider's synchronous checks on a create request (reference §3), answering its error codes.

Lenient where the provider is lenient: unknown top-level keys are ignored and `null` means absent. Strict where it
is strict: per-model enums, role and mixing rules, reference counts, image limits. The first problem found is the
answer, as with the real service.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from PIL import Image, UnidentifiedImageError

from orchestrator.simulator import catalog as c
from orchestrator.simulator.catalog import RULES_BY_REGION, ModelRules
from orchestrator.simulator.errors import ProviderError, invalid, missing, model_not_found

_DATA_URL = re.compile(r"^data:image/([A-Za-z0-9.+-]+);base64,(.*)$", re.DOTALL)
_FRAME_ROLES = {"first_frame", "last_frame"}
_BOOL_FIELDS = ("return_last_frame", "generate_audio", "watermark", "camera_fixed", "draft")


@dataclass(frozen=True)
class ImageInput:
    """One image item: where it sits in the request, its role, and its URL (data:, http(s):, asset:)."""

    param: str
    role: str
    url: str


@dataclass(frozen=True)
class CreateSpec:
    """A create request that passed the synchronous checks, with nulls removed."""

    model: ModelRules
    prompt: str
    mode: str  # t2v | i2v | fl2v | reference | draft
    images: tuple[ImageInput, ...]
    videos: tuple[str, ...]
    audios: tuple[str, ...]
    resolution: str
    ratio: str
    duration: int | None
    frames: int | None
    seed: int | None
    generate_audio: bool
    watermark: bool
    return_last_frame: bool
    draft: bool
    draft_task_id: str | None
    service_tier: str
    execution_expires_after: int
    priority: int
    callback_url: str | None
    safety_identifier: str | None
    endpoint: str | None = None  # the ep-... id the request named, when it went through an endpoint


def resolve_model(model_id: str, region: str, endpoints: Mapping[str, str]) -> tuple[ModelRules, str | None]:
    """The rules of the model an id names on this account, and the endpoint it went through; 404 otherwise (an id
    of the other region, an unknown endpoint, or an endpoint serving another region's model)."""
    rules = RULES_BY_REGION[region]
    served = endpoints.get(model_id)
    if served is not None and served in rules:
        return rules[served], model_id
    if model_id in rules:
        return rules[model_id], None
    raise model_not_found(model_id)


def validate_create(body: Any, region: str = "byteplus", endpoints: Mapping[str, str] | None = None) -> CreateSpec:
    """Check a create body as the provider of `region` with these endpoints would; raise ProviderError with the
    provider's code for the first problem."""
    if not isinstance(body, dict):
        raise invalid("body", "the request body must be a JSON object")
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: text that cannot be stored or echoed back
        raise invalid("body", "the request contains text that is not valid UTF-8") from None
    fields = {k: v for k, v in body.items() if v is not None}
    model_id = fields.get("model")
    if model_id is None:
        raise missing("model")
    if not isinstance(model_id, str):
        raise model_not_found(str(model_id))
    model, endpoint = resolve_model(model_id, region, endpoints or {})
    content = fields.get("content")
    if content is None or content == []:
        raise missing("content")
    if not isinstance(content, list):
        raise invalid("content", "content must be an array")
    prompt, images, videos, audios, draft_id = _split_content(content)
    mode = _mode(model, images, videos, audios, draft_id)
    _check_tier_field(model, fields)
    _check_flags(fields)
    return replace(_spec(model, fields, prompt, mode, images, videos, audios, draft_id), endpoint=endpoint)


def _split_content(content: list[Any]) -> tuple[str, list[ImageInput], list[str], list[str], str | None]:
    prompt, draft_id = "", None
    images: list[ImageInput] = []
    videos: list[str] = []
    audios: list[str] = []
    for i, item in enumerate(content):
        param = f"content[{i}]"
        kind = item.get("type") if isinstance(item, dict) else None
        kind = kind if isinstance(kind, str) else None
        if kind == "text":
            prompt = _string(item, "text", param)
        elif kind in {"image_url", "video_url", "audio_url"}:
            url = _url(item, kind, param)
            role = item.get("role")
            if role is not None and not isinstance(role, str):
                raise invalid(f"{param}.role", "role must be a string")
            if kind == "image_url":
                images.append(ImageInput(f"{param}.image_url", role or "", url))
            else:
                # Audio may also travel inline as data:audio/<fmt>;base64 (reference §3.1); video may not.
                inline = kind == "audio_url" and url.startswith("data:audio/")
                if not (inline or url.startswith(("https://", "http://", "asset://"))):
                    raise invalid(f"{param}.{kind}", "the URL must be http(s):// or asset://"
                                  + (" or data:audio/<fmt>;base64" if kind == "audio_url" else ""))
                (videos if kind == "video_url" else audios).append(url)
        elif kind == "draft_task":
            task = item.get("draft_task")
            draft_id = task.get("id") if isinstance(task, dict) else None
            if not isinstance(draft_id, str):
                raise invalid(f"{param}.draft_task", "draft_task.id must be a task id")
        else:
            raise invalid(f"{param}.type", f"unknown content type {kind!r}")
    return prompt, images, videos, audios, draft_id


def _string(item: dict[str, Any], key: str, param: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise invalid(f"{param}.{key}", f"{key} must be a string")
    return value


def _url(item: dict[str, Any], kind: str, param: str) -> str:
    holder = item.get(kind)
    url = holder.get("url") if isinstance(holder, dict) else None
    if not isinstance(url, str) or not url:
        raise ProviderError(400, "InvalidImageURL.EmptyURL", "Empty base64 image url", f"{param}.{kind}")
    if kind == "video_url" and url.startswith("data:"):
        raise invalid(f"{param}.{kind}", "video content must be a URL or an asset id")
    return url


def _mode(model: ModelRules, images: list[ImageInput], videos: list[str], audios: list[str],
          draft_id: str | None) -> str:
    if draft_id is not None:
        if not model.draft:
            raise invalid("content", f"draft tasks are not supported by {model.id}")
        return "draft"
    roles = [img.role for img in images]
    framed = [r for r in roles if r in _FRAME_ROLES]
    referenced = [r for r in roles if r == "reference_image"] or videos or audios
    if framed and referenced:
        raise invalid("content", "first/last frame content cannot be mixed with reference media content")
    if referenced:
        return _reference_mode(model, images, videos, audios)
    if len(images) > 2 or (len(images) == 2 and set(roles) != _FRAME_ROLES):
        raise invalid("content", "role must be specified for image contents" if "" in roles
                      else "expected one first_frame and at most one last_frame image")
    if any(r not in {"", "first_frame", "last_frame"} for r in roles):
        raise invalid("content", f"unknown image role in {roles}")
    if len(images) == 2:
        if not model.first_last_frame:
            raise invalid("content", f"first and last frame mode is not supported by {model.id}")
        return "fl2v"
    if roles == ["last_frame"]:
        raise invalid("content", "a last_frame image needs a first_frame image")
    if not (model.first_frame if images else model.text_to_video):
        raise invalid("content", f"{'image' if images else 'text'}-to-video is not supported by {model.id}")
    return "i2v" if images else "t2v"


def _reference_mode(model: ModelRules, images: list[ImageInput], videos: list[str], audios: list[str]) -> str:
    limits = model.references
    if not limits.offered:
        raise invalid("content", f"reference media is not supported by {model.id}")
    if any(img.role != "reference_image" for img in images):
        raise invalid("content", "role must be specified for image contents")
    for kind, count, limit in (("images", len(images), limits.images), ("videos", len(videos), limits.videos),
                               ("audios", len(audios), limits.audios)):
        if count > limit:
            raise invalid("content", f"expected at most {limit} reference {kind} but got {count} instead")
    if len(images) + len(videos) + len(audios) > limits.items:
        raise invalid("content", f"expected at most {limits.items} reference items")
    if audios and not (images or videos) and not limits.audio_without_visual:
        raise invalid("content", "expected at least one image or video contents with audio contents but got none")
    return "reference"


def _check_tier_field(model: ModelRules, fields: dict[str, Any]) -> None:
    # The 2.x models refuse the field itself, even "default" (create page: "does not support configuring this
    # parameter"); `null` was dropped with the other nulls, since the official SDK sends every unset field as null.
    if "service_tier" in fields and not model.accepts_service_tier:
        raise ProviderError(400, "InvalidParameter.UnsupportedParameter",
                            f"The parameter `service_tier` is not supported by {model.id}.", "service_tier")


def _check_flags(fields: dict[str, Any]) -> None:
    for key in _BOOL_FIELDS:
        if key in fields and not isinstance(fields[key], bool):
            raise invalid(key, f"{key} must be a boolean")
    for key in ("duration", "frames", "seed", "execution_expires_after", "priority"):
        if key in fields and (not isinstance(fields[key], int) or isinstance(fields[key], bool)):
            raise invalid(key, f"{key} must be an integer")
    for key in ("duration", "frames", "seed", "execution_expires_after", "priority"):
        if key in fields and not -(2**63) <= fields[key] < 2**63:
            raise invalid(key, f"{key} is out of range")
    for key in ("resolution", "ratio", "service_tier", "callback_url", "safety_identifier"):
        if key in fields and not isinstance(fields[key], str):
            raise invalid(key, f"{key} must be a string")
    callback = fields.get("callback_url")
    if callback is not None and not callback.startswith(("http://", "https://")):
        raise invalid("callback_url", "callback_url must be an http(s) URL")


def _spec(model: ModelRules, f: dict[str, Any], prompt: str, mode: str, images: list[ImageInput],
          videos: list[str], audios: list[str], draft_id: str | None) -> CreateSpec:
    draft = bool(f.get("draft", False))
    resolution = _resolution(model, f, draft)
    ratio = _ratio(model, f, mode)
    duration, frames = _length(model, f)
    tier = f.get("service_tier", "default")
    if tier not in {"default", "flex"}:
        raise invalid("service_tier", f"{tier} is not one of default, flex")
    if tier == "flex" and not model.flex_tier:
        raise ProviderError(400, "InvalidParameter.UnsupportedParameter",
                            f"The parameter `service_tier` value flex is not supported by {model.id}.", "service_tier")
    priority = f.get("priority", 0)
    if not c.PRIORITY_RANGE[0] <= priority <= c.PRIORITY_RANGE[1] or (priority and tier == "flex"):
        raise invalid("priority", "priority must be in [0, 9] and cannot be used with flex")
    expires = f.get("execution_expires_after", c.EXPIRY_DEFAULT_S)
    if not c.EXPIRY_RANGE_S[0] <= expires <= c.EXPIRY_RANGE_S[1]:
        raise invalid("execution_expires_after", "must be in [3600, 259200]")
    seed = f.get("seed")
    if seed is not None and not c.SEED_RANGE[0] <= seed <= c.SEED_RANGE[1]:
        raise invalid("seed", "seed must be in [-1, 4294967295]")
    if f.get("camera_fixed") and mode == "reference":
        raise invalid("camera_fixed", "camera_fixed is not supported with reference images")
    safety = f.get("safety_identifier")
    if safety is not None and len(safety) > 64:
        raise invalid("safety_identifier", "must be at most 64 characters")
    return CreateSpec(
        model=model, prompt=prompt, mode=mode, images=tuple(images), videos=tuple(videos), audios=tuple(audios),
        resolution=resolution, ratio=ratio, duration=duration, frames=frames,
        seed=None if seed in (None, -1) else seed,
        generate_audio=bool(f.get("generate_audio", True)) and model.generate_audio,
        watermark=bool(f.get("watermark", False)), return_last_frame=bool(f.get("return_last_frame", False)),
        draft=draft, draft_task_id=draft_id, service_tier=tier, execution_expires_after=expires,
        priority=priority if model.priority else 0, callback_url=f.get("callback_url"), safety_identifier=safety,
    )


def _resolution(model: ModelRules, f: dict[str, Any], draft: bool) -> str:
    if draft and not model.draft:
        raise invalid("draft", f"draft is not supported by {model.id}")
    resolution = f.get("resolution", "480p" if draft else model.default_resolution)
    if resolution not in model.resolutions or (draft and resolution != "480p"):
        raise invalid("resolution", f"{resolution} is not supported by {model.id} ({', '.join(model.resolutions)})")
    return str(resolution)


def _ratio(model: ModelRules, f: dict[str, Any], mode: str) -> str:
    default = "16:9" if model.t2v_refuses_adaptive and mode == "t2v" else c.ADAPTIVE
    ratio = f.get("ratio", default)
    if ratio not in c.RATIO_CHOICES:
        raise invalid("ratio", f"{ratio} is not one of {', '.join(c.RATIO_CHOICES)}")
    if ratio == c.ADAPTIVE and mode == "t2v" and model.t2v_refuses_adaptive:
        raise invalid("ratio", f"adaptive is not supported for text-to-video on {model.id}")
    if model.framed_needs_adaptive and mode in {"i2v", "fl2v"} and ratio != c.ADAPTIVE:
        raise invalid("ratio", f"only adaptive is supported with first/last frames on {model.id}")
    return str(ratio)


def _length(model: ModelRules, f: dict[str, Any]) -> tuple[int | None, int | None]:
    if "frames" in f:
        frames = f["frames"]
        if not model.frames:
            raise invalid("frames", f"frames is not supported by {model.id}")
        if not c.frame_count_allowed(frames):
            raise invalid("frames", "frames must be 25+4n in [29, 289]")
        return None, frames
    duration = f.get("duration", model.default_duration)
    if not model.durations.accepts(duration):
        raise invalid("duration", f"{duration} is not supported by {model.id} ({model.durations.describe()})")
    return duration, None


def decode_data_url(url: str, param: str) -> bytes:
    """The bytes of a `data:image/<fmt>;base64,` URL; the format must be lowercase, as the provider requires."""
    match = _DATA_URL.match(url)
    if match is None or match.group(1) != match.group(1).lower():
        raise ProviderError(400, "InvalidImageURL.InvalidFormat", "Invalid base64 image url", param)
    if not match.group(2):
        raise ProviderError(400, "InvalidImageURL.EmptyURL", "Empty base64 image url", param)
    try:
        return base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        raise ProviderError(400, "InvalidImageURL.InvalidFormat", "Invalid base64 image url", param) from None


def check_image(data: bytes, param: str, model: ModelRules, upright: bool = True) -> tuple[int, int]:
    """Format, size and aspect limits of an input image (§3.4); returns its pixel size (as shown when `upright`)."""
    if len(data) >= c.IMAGE_BYTES_BELOW:
        raise invalid(param, "image size must be less than 30 MB")
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height) = (img.format or "").lower(), _upright_size(img) if upright else img.size
            img.load()  # a truncated or corrupt file is refused now, as the provider does, not failed later
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise invalid(param, "image format is not supported or the file is damaged") from None
    fmt = {"mpo": "jpeg"}.get(fmt, fmt)
    if fmt not in model.image_formats:
        raise invalid(param, f"image format {fmt} is not supported")
    if not (min(width, height) > c.IMAGE_SIDE_PX[0] and max(width, height) < c.IMAGE_SIDE_PX[1]):
        raise invalid(param, f"image width and height must be in (300, 6000) px, got {width}x{height}")
    if not c.IMAGE_ASPECT[0] <= width / height <= c.IMAGE_ASPECT[1]:
        raise invalid(param, f"image aspect ratio must be in [0.4, 2.5], got {width / height:.2f}")
    return width, height


def _upright_size(img: Image.Image) -> tuple[int, int]:
    """Size as displayed: EXIF orientations 5-8 turn the image a quarter, swapping width and height."""
    orientation = img.getexif().get(0x0112, 1)
    return (img.height, img.width) if orientation in {5, 6, 7, 8} else (img.width, img.height)
