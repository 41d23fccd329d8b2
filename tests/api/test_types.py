"""Wire types: strict requests whose bodies omit what is unset, lenient responses that survive new fields."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from orchestrator.api import (
    AudioContent,
    CreateTaskRequest,
    ImageContent,
    MediaURL,
    Task,
    TaskPage,
    TaskStatus,
    TextContent,
    VideoContent,
)

MODEL = "dreamina-seedance-2-0-260128"


def test_body_omits_unset_fields() -> None:
    req = CreateTaskRequest(model=MODEL, content=[TextContent(text="a red apple")])
    assert req.body() == {"model": MODEL, "content": [{"type": "text", "text": "a red apple"}]}


def test_body_keeps_every_set_field_including_false_and_zero() -> None:
    req = CreateTaskRequest(
        model=MODEL,
        content=[TextContent(text="go"), ImageContent(image_url=MediaURL(url="https://x/a.png"), role="first_frame")],
        callback_url="https://hook", return_last_frame=True, service_tier="default", execution_expires_after=3600,
        priority=0, generate_audio=False, draft=False, camera_fixed=False, watermark=False, seed=0,
        resolution="720p", ratio="adaptive", duration=5, safety_identifier="user-1",
    )
    body = req.body()
    assert body["content"][1] == {"type": "image_url", "image_url": {"url": "https://x/a.png"}, "role": "first_frame"}
    assert body["generate_audio"] is False and body["priority"] == 0 and body["seed"] == 0
    assert set(body) == {"model", "content", "callback_url", "return_last_frame", "service_tier",
                         "execution_expires_after", "priority", "generate_audio", "draft", "camera_fixed",
                         "watermark", "seed", "resolution", "ratio", "duration", "safety_identifier"}


def test_image_without_role_omits_role() -> None:
    assert ImageContent(image_url=MediaURL(url="data:image/png;base64,AA")).model_dump(exclude_none=True) == {
        "type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}


def test_reference_media_carry_their_roles() -> None:
    video = VideoContent(video_url=MediaURL(url="https://x/v.mp4"))
    audio = AudioContent(audio_url=MediaURL(url="https://x/a.wav"))
    body = CreateTaskRequest(model=MODEL, content=[video, audio]).body()
    assert [c["role"] for c in body["content"]] == ["reference_video", "reference_audio"]


def test_content_parses_from_plain_dicts_by_type() -> None:
    req = CreateTaskRequest.model_validate({"model": MODEL, "content": [
        {"type": "text", "text": "hi"},
        {"type": "image_url", "image_url": {"url": "https://x/i.png"}, "role": "last_frame"},
        {"type": "draft_task", "draft_task": {"id": "cgt-1"}},
    ]})
    assert [type(c).__name__ for c in req.content] == ["TextContent", "ImageContent", "DraftTaskContent"]


@pytest.mark.parametrize(
    "extra",
    [
        {"fps": 24},  # the provider would silently ignore it
        {"camerafixed": True},
        {"duration": "5"},  # strict: no quiet coercion
        {"generate_audio": 1},
        {"service_tier": "offline"},
        {"priority": 10},
        {"execution_expires_after": 60},
        {"frames": 20},
        {"seed": 2**32},
        {"safety_identifier": "x" * 65},
        {"content": []},
    ],
)
def test_request_is_strict(extra: dict[str, Any]) -> None:
    data: dict[str, Any] = {"model": MODEL, "content": [{"type": "text", "text": "hi"}], **extra}
    with pytest.raises(ValidationError):
        CreateTaskRequest.model_validate(data)


@pytest.mark.parametrize(
    "item",
    [
        {"type": "image_url", "image_url": {"url": "https://x"}, "role": "mask"},
        {"type": "image_url", "image_url": {"url": "https://x", "detail": "high"}},
        {"type": "text", "text": "hi", "role": "prompt"},
        {"type": "video_url", "video_url": {"url": "https://x"}, "role": "first_frame"},
        {"type": "picture", "url": "https://x"},
    ],
)
def test_content_items_are_strict(item: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CreateTaskRequest.model_validate({"model": MODEL, "content": [item]})


OFFICIAL_EXAMPLE: dict[str, Any] = {
    "id": "cgt-2025-abcde", "model": MODEL, "status": "succeeded",
    "content": {"video_url": "https://tos/x.mp4"},
    "usage": {"completion_tokens": 108900, "total_tokens": 108900}, "created_at": 1743414619,
    "updated_at": 1743414673, "seed": 10, "resolution": "720p", "ratio": "16:9", "duration": 5,
    "framespersecond": 24, "service_tier": "default", "execution_expires_after": 172800,
    "generate_audio": True, "draft": False, "priority": 0,
}


def test_task_parses_the_official_example() -> None:
    task = Task.model_validate(OFFICIAL_EXAMPLE)
    assert task.status is TaskStatus.SUCCEEDED and task.terminal and task.succeeded
    assert task.content is not None and task.content.video_url == "https://tos/x.mp4"
    assert task.usage is not None and task.usage.completion_tokens == 108900
    assert task.raw_status == "succeeded"


def test_task_keeps_unknown_fields() -> None:
    task = Task.model_validate({**OFFICIAL_EXAMPLE, "revised_prompt": "better", "output_format": "mp4",
                                "usage": {"completion_tokens": 1, "tool_usage": {"web_search": 2}}})
    assert task.model_extra == {"revised_prompt": "better", "output_format": "mp4"}
    assert task.usage is not None and task.usage.model_extra == {"tool_usage": {"web_search": 2}}
    assert task.model_dump()["revised_prompt"] == "better"


@pytest.mark.parametrize("raw", ["paused", "SUCCEEDED", "", 3, None])
def test_unknown_status_is_unknown_and_terminal(raw: object) -> None:
    task = Task.model_validate({"id": "cgt-1", "status": raw})
    assert task.status is TaskStatus.UNKNOWN
    assert task.terminal and not task.succeeded
    assert task.raw_status == (raw if isinstance(raw, str) else None)


def test_task_needs_only_an_id() -> None:
    task = Task.model_validate({"id": "cgt-1"})
    assert task.status is TaskStatus.UNKNOWN and task.content is None and task.error is None
    with pytest.raises(ValidationError):
        Task.model_validate({"status": "queued"})


@pytest.mark.parametrize(
    ("status", "terminal"),
    [("queued", False), ("running", False), ("succeeded", True), ("failed", True), ("cancelled", True),
     ("expired", True)],
)
def test_terminal_states(status: str, terminal: bool) -> None:
    assert Task.model_validate({"id": "t", "status": status}).terminal is terminal


def test_running_task_omits_content_and_failed_task_carries_error() -> None:
    running = Task.model_validate({"id": "t", "model": MODEL, "status": "running", "created_at": 1,
                                   "updated_at": 2, "service_tier": "default", "execution_expires_after": 172800})
    assert running.content is None and running.usage is None
    failed = Task.model_validate({"id": "t", "status": "failed", "error": {
        "code": "OutputVideoSensitiveContentDetected.PolicyViolation", "message": "copyright"}})
    assert failed.error is not None and failed.error.code == "OutputVideoSensitiveContentDetected.PolicyViolation"


def test_non_integer_duration_survives() -> None:
    assert Task.model_validate({"id": "t", "duration": 4.6}).duration == 4.6


def test_task_page() -> None:
    page = TaskPage.model_validate({"total": 2, "items": [{"id": "a", "status": "queued"}, {"id": "b"}],
                                    "next": "x"})
    assert page.total == 2 and [t.id for t in page.items] == ["a", "b"]
    assert TaskPage.model_validate({"total": 0, "items": None}).items == []
    assert TaskPage.model_validate({}).items == []


def test_request_round_trips_through_json() -> None:
    req = CreateTaskRequest(model=MODEL, seed=5, content=[
        TextContent(text="go"), ImageContent(image_url=MediaURL(url="https://x/a.png"), role="first_frame")])
    assert CreateTaskRequest.model_validate_json(req.model_dump_json(exclude_none=True)) == req
