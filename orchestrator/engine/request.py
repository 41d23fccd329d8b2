"""A shot's create request, from its resolved spec, its seed and its parent's last frame (DESIGN.md §§4, 6).

Local files travel inline as data URLs of their exact bytes; URLs travel as given. The parent's last frame is never
resized or recompressed: it goes by the provider's own URL while that is fresh, else inline from the stored bytes.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from orchestrator.api.types import (
    AudioContent,
    Content,
    CreateTaskRequest,
    ImageContent,
    MediaURL,
    TextContent,
    VideoContent,
)
from orchestrator.storyboard.media import is_remote
from orchestrator.storyboard.resolve import ShotSpec

HANDOFF_PROMPT = "Image 1 is the first frame of this shot: start exactly on it. "
_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF8", "gif"), (b"BM", "bmp"),
                (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"))


def image_format(data: bytes) -> str:
    """Lower-case image format from the bytes' signature (the provider wants `data:image/<lowercase>`)."""
    for magic, name in _IMAGE_MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypheif"):
        return "heic"
    return "png"


def image_data_url(data: bytes) -> str:
    """`data:image/<sniffed format>;base64,...` of these exact bytes."""
    return f"data:image/{image_format(data)};base64,{base64.b64encode(data).decode('ascii')}"


def _image(source: str, base_dir: Path) -> MediaURL:
    return MediaURL(url=source if is_remote(source) else image_data_url((base_dir / source).read_bytes()))


def _audio(source: str, base_dir: Path) -> MediaURL:
    if is_remote(source):
        return MediaURL(url=source)
    data = (base_dir / source).read_bytes()
    return MediaURL(url=f"data:audio/{audio_format(data)};base64,{base64.b64encode(data).decode('ascii')}")


def audio_format(data: bytes) -> str:
    """Audio format from the bytes' signature (the checker reads files by content too, not by name)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    if data[4:8] == b"ftyp":
        return "mp4"
    if data.startswith(b"OggS"):
        return "ogg"
    if data.startswith(b"fLaC"):
        return "flac"
    return "wav"


def build_request(spec: ShotSpec, base_dir: Path, seed: int, parent_frame: str | None) -> CreateTaskRequest:
    """The create body of one take; `parent_frame` is the parent's last frame as a URL or data URL."""
    shot = spec.shot
    model = spec.model
    assert model is not None, "validated storyboards name known models"
    prompt = shot.prompt or ""
    content: list[Content] = []
    by_reference = parent_frame is not None and spec.handoff == "reference"
    if by_reference:
        prompt = HANDOFF_PROMPT + prompt
    if prompt:
        content.append(TextContent(text=prompt))
    if parent_frame is not None:
        content.append(ImageContent(image_url=MediaURL(url=parent_frame),
                                    role="reference_image" if by_reference else "first_frame"))
    if shot.first_frame:
        content.append(ImageContent(image_url=_image(shot.first_frame, base_dir), role="first_frame"))
    if shot.last_frame:
        content.append(ImageContent(image_url=_image(shot.last_frame, base_dir), role="last_frame"))
    refs = shot.references
    if refs is not None:
        content += [ImageContent(image_url=_image(s, base_dir), role="reference_image") for s in refs.images]
        content += [VideoContent(video_url=MediaURL(url=s)) for s in refs.videos]
        content += [AudioContent(audio_url=_audio(s, base_dir)) for s in refs.audios]
    fields: dict[str, Any] = {
        "resolution": spec.resolution, "ratio": spec.ratio, "seed": seed,
        "frames": spec.frames, "duration": None if spec.frames is not None else spec.duration,
        **{k: spec.explicit(k) for k in ("service_tier", "watermark", "camera_fixed", "execution_expires_after",
                                         "priority")},
    }
    if model.generate_audio:
        fields["generate_audio"] = spec.generate_audio
    # The id sent is the one the storyboard names: the model's id in the run's region, or an endpoint serving it.
    return CreateTaskRequest(model=spec.model_id or model.id, content=content, return_last_frame=True,
                             **{k: v for k, v in fields.items() if v is not None})


def summary(req: CreateTaskRequest) -> dict[str, Any]:
    """The request without its media: what the journal keeps to recognise an orphaned task later."""
    body = req.body()
    body["content"] = [item for item in body["content"] if item.get("type") == "text"]
    return body


def from_summary(body: dict[str, Any]) -> CreateTaskRequest:
    """A request carrying the summary's parameters, for reconciliation (media are not needed to match)."""
    data = dict(body)
    if not data.get("content"):
        data["content"] = [{"type": "text", "text": ""}]
    return CreateTaskRequest.model_validate(data, strict=False)
