"""Task records of the simulated provider, and the task object its API returns (reference §4)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.simulator import catalog as c
from orchestrator.simulator.faults import TaskFault
from orchestrator.simulator.render import RenderResult
from orchestrator.simulator.validation import CreateSpec


@dataclass
class MediaBytes:
    """Decoded input images for one task, and the size that decides an adaptive ratio."""

    first: bytes | None = None
    last: bytes | None = None
    like_size: tuple[int, int] | None = None


@dataclass
class SimTask:
    """One task record, as the provider keeps it."""

    id: str
    spec: CreateSpec
    media: MediaBytes
    created_at: float
    seed: int  # what the clip is rendered from: the sent seed, or the random one chosen
    shown_seed: int  # what the task object says: `seed`, or one the simulator picked (SimConfig.echo_seed)
    ratio: str
    width: int
    height: int
    frames: int
    duration: int | None
    run_for: float  # real-service seconds; divided by the current speed when checked, so speed can change live
    forced: TaskFault | None
    status: str = "queued"
    updated_at: float = 0.0
    started_at: float | None = None
    error: dict[str, str] | None = None
    render: Future[RenderResult] | None = None
    files: dict[str, Path] = field(default_factory=dict)
    urls_expire_at: float = 0.0
    rendered_at: float | None = None  # when the clip was ready (a render slower than the latency model delays success)

    def latency(self, queue_seconds: float, speed: float) -> float:
        """Seconds from create to the earliest moment this task could be seen succeeded, were nothing queued ahead
        of it: the latency model, or the render if that took longer. The floor a client cannot beat."""
        modelled = (queue_seconds + self.run_for) / speed
        rendered = (self.rendered_at - self.created_at) if self.rendered_at is not None else 0.0
        return max(modelled, rendered)

    @property
    def tokens(self) -> int:
        """Completion tokens billed when it succeeds."""
        return c.billed_tokens(self.width, self.height, self.frames)


def task_json(task: SimTask, signed_url: Callable[[SimTask, str], str]) -> dict[str, Any]:
    """The task object of GET/LIST/callbacks (reference §4); queued/running tasks carry no content/usage."""
    spec = task.spec
    body: dict[str, Any] = {
        "id": task.id, "model": spec.model.id, "status": task.status, "error": task.error,
        "created_at": int(task.created_at), "updated_at": int(task.updated_at), "seed": task.shown_seed,
        "resolution": spec.resolution, "ratio": task.ratio, "framespersecond": c.FRAME_RATE,
        "service_tier": spec.service_tier, "execution_expires_after": spec.execution_expires_after,
        "draft": spec.draft,
    }
    body.update({"frames": task.frames} if spec.frames else {"duration": task.duration})
    if spec.model.generate_audio:
        body["generate_audio"] = spec.generate_audio
    if spec.model.priority:
        body["priority"] = spec.priority
    if spec.safety_identifier is not None:
        body["safety_identifier"] = spec.safety_identifier
    if task.status == "succeeded":
        body["content"] = {"video_url": signed_url(task, "video.mp4")}
        if spec.return_last_frame and not spec.draft:
            body["content"]["last_frame_url"] = signed_url(task, "last_frame.png")
        body["usage"] = {"completion_tokens": task.tokens, "total_tokens": task.tokens}
    return body
