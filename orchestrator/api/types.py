"""Wire types of the Seedance task API (reference/seedance-api.md §§3-5).

Requests are strict (`extra="forbid"`): the provider silently ignores misspelled fields and applies defaults, which
costs money, so a typo must fail here. Responses are lenient (`extra="allow"`, everything optional but `id`): the
provider adds fields between model versions and the SDKs parse without validation too, so an unknown field or status
must never break a run.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from pydantic.functional_validators import ModelWrapValidatorHandler

from orchestrator import models as m


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class MediaURL(_Strict):
    """`{"url": ...}`: an https URL, a `data:<mime>;base64,...` URL, or an `asset://` id."""

    url: str = Field(min_length=1)


class TextContent(_Strict):
    """The prompt."""

    type: Literal["text"] = "text"
    text: str


class ImageContent(_Strict):
    """An image: first frame, last frame, or reference image."""

    type: Literal["image_url"] = "image_url"
    image_url: MediaURL
    role: Literal["first_frame", "last_frame", "reference_image"] | None = None


class VideoContent(_Strict):
    """A reference video (2.x)."""

    type: Literal["video_url"] = "video_url"
    video_url: MediaURL
    role: Literal["reference_video"] = "reference_video"


class AudioContent(_Strict):
    """A reference audio clip (2.x)."""

    type: Literal["audio_url"] = "audio_url"
    audio_url: MediaURL
    role: Literal["reference_audio"] = "reference_audio"


class DraftTaskRef(_Strict):
    """The id of a draft task whose settings the final render reuses."""

    id: str


class DraftTaskContent(_Strict):
    """Step two of draft mode: render a draft task for real."""

    type: Literal["draft_task"] = "draft_task"
    draft_task: DraftTaskRef


Content = Annotated[
    TextContent | ImageContent | VideoContent | AudioContent | DraftTaskContent, Field(discriminator="type")
]


class CreateTaskRequest(_Strict):
    """Body of `POST /contents/generations/tasks`; per-model rules are the storyboard validator's job."""

    model: str = Field(min_length=1)
    content: list[Content] = Field(min_length=1)
    callback_url: str | None = None
    return_last_frame: bool | None = None
    service_tier: Literal["default", "flex"] | None = None
    execution_expires_after: int | None = Field(None, ge=m.EXPIRES_MIN_S, le=m.EXPIRES_MAX_S)
    priority: int | None = Field(None, ge=0, le=m.PRIORITY_MAX)
    generate_audio: bool | None = None
    draft: bool | None = None
    camera_fixed: bool | None = None
    watermark: bool | None = None
    seed: int | None = Field(None, ge=m.SEED_MIN, le=m.SEED_MAX)
    resolution: str | None = None
    ratio: str | None = None
    duration: int | None = None
    frames: int | None = Field(None, ge=m.FRAMES_MIN, le=m.FRAMES_MAX)
    safety_identifier: str | None = Field(None, max_length=64)

    def body(self) -> dict[str, Any]:
        """The JSON body, with every unset field left out (the server then applies its documented default)."""
        return self.model_dump(mode="json", exclude_none=True)


class TaskStatus(StrEnum):
    """Task states; UNKNOWN stands for any state this client does not know."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: object) -> TaskStatus:
        """The member for a wire value; UNKNOWN for anything unrecognised (including missing)."""
        try:
            return cls(value) if isinstance(value, str) else cls.UNKNOWN
        except ValueError:
            return cls.UNKNOWN

    @property
    def terminal(self) -> bool:
        """True when the task will not change any more (an unknown state counts as a terminal failure)."""
        return self not in (TaskStatus.QUEUED, TaskStatus.RUNNING)


class TaskError(_Lenient):
    """Why a task failed (`{code, message}`; HTTP 200 on GET)."""

    code: str | None = None
    message: str | None = None


class TaskOutput(_Lenient):
    """Result URLs; they expire 24 h after the task finishes."""

    video_url: str | None = None
    last_frame_url: str | None = None


class Usage(_Lenient):
    """Billed tokens (`total_tokens` equals `completion_tokens`: inputs are free)."""

    completion_tokens: int | None = None
    total_tokens: int | None = None


class Task(_Lenient):
    """A task as GET or LIST returns it; unknown fields are kept as extras."""

    id: str
    model: str | None = None
    status: TaskStatus = TaskStatus.UNKNOWN
    error: TaskError | None = None
    content: TaskOutput | None = None
    usage: Usage | None = None
    created_at: int | None = None
    updated_at: int | None = None
    seed: int | None = None
    resolution: str | None = None
    ratio: str | None = None
    duration: int | float | None = None  # 2.5 edit outputs may be non-integer
    frames: int | None = None
    framespersecond: int | None = None
    generate_audio: bool | None = None
    draft: bool | None = None
    draft_task_id: str | None = None
    service_tier: str | None = None
    execution_expires_after: int | None = None
    priority: int | None = None
    safety_identifier: str | None = None
    _raw_status: str | None = PrivateAttr(default=None)

    @field_validator("status", mode="before")
    @classmethod
    def _known_or_unknown(cls, value: object) -> TaskStatus:
        return TaskStatus.parse(value)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw_status(cls, data: Any, handler: ModelWrapValidatorHandler[Task]) -> Task:
        task = handler(data)
        if isinstance(data, dict):
            raw = data.get("status")
            task._raw_status = raw if isinstance(raw, str) else None
        return task

    @property
    def raw_status(self) -> str | None:
        """The status string exactly as the server sent it (useful when `status` is UNKNOWN)."""
        return self._raw_status

    @property
    def terminal(self) -> bool:
        """True when polling can stop; an unknown status is treated as a terminal failure."""
        return self.status.terminal

    @property
    def succeeded(self) -> bool:
        """True when the task finished and its outputs can be downloaded."""
        return self.status is TaskStatus.SUCCEEDED


class TaskPage(_Lenient):
    """One page of the list endpoint."""

    total: int = 0
    items: list[Task] = Field(default_factory=list)

    @field_validator("items", mode="before")
    @classmethod
    def _null_is_empty(cls, value: object) -> object:
        return [] if value is None else value
