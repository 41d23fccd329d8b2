"""Fault injection by rule: the next N calls of an endpoint misbehave in a chosen way, or the next N tasks fail.

Rules are data (pydantic), so the HTTP control plane and the Python API accept the same thing.
"""

from __future__ import annotations

import threading
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

Endpoint = Literal["create", "get", "list", "delete", "download", "any"]


class CallFault(BaseModel):
    """The next `count` calls of `endpoint` answer with `kind` instead of (or, phase 'after', after) the real work.

    kind: 429 (with `retry_after` seconds or none), 500, 502 (the gateway's plain-text page, not the provider's
    JSON), 503, `drop` (the connection closes mid-response), `stall` (no answer for `stall_seconds`, past any sane
    client timeout), `truncate` (downloads only: the body stops halfway). phase 'after' on create makes the task
    exist before the fault: an ambiguous create.
    """

    model_config = ConfigDict(extra="forbid")

    endpoint: Endpoint
    kind: Literal["429", "500", "502", "503", "drop", "stall", "truncate"]
    count: int = Field(1, ge=1)
    phase: Literal["before", "after"] = "before"
    retry_after: str | None = None
    code: str | None = None
    stall_seconds: float = Field(30.0, ge=0)

    @model_validator(mode="after")
    def _phase_fits(self) -> CallFault:
        # A download has no work to do "after": its fault would stay armed and never fire.
        if self.phase == "after" and self.endpoint == "download":
            raise ValueError("phase 'after' applies to API calls, not downloads (use kind 'truncate' or 'drop')")
        return self


class TaskFault(BaseModel):
    """The next `count` created tasks (with `prompt_contains`: whose prompt holds it) end `failed` with this error,
    or `expired`."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["failed", "expired"]
    count: int = Field(1, ge=1)
    code: str = "OutputVideoSensitiveContentDetected"
    message: str = "The request failed because the output video may contain sensitive information."
    prompt_contains: str | None = None


_F = TypeVar("_F", CallFault, TaskFault)


class FaultBook:
    """Armed faults, consumed as they fire. Thread-safe: the control plane and the server run on other threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[CallFault] = []
        self._tasks: list[TaskFault] = []

    def arm(self, fault: CallFault | TaskFault) -> None:
        """Add a rule; rules fire in the order they were armed."""
        with self._lock:
            if isinstance(fault, CallFault):
                self._calls.append(fault.model_copy())
            else:
                self._tasks.append(fault.model_copy())

    def clear(self) -> None:
        """Disarm every rule."""
        with self._lock:
            self._calls.clear()
            self._tasks.clear()

    def take_call(self, endpoint: str, phase: str) -> CallFault | None:
        """The fault for this call, if one is armed (and count it down)."""
        with self._lock:
            for fault in self._calls:
                if fault.endpoint in (endpoint, "any") and fault.phase == phase:
                    return self._consume(self._calls, fault)
        return None

    def take_task(self, prompt: str = "") -> TaskFault | None:
        """The outcome forced on a task created now from `prompt`, if any."""
        with self._lock:
            for fault in self._tasks:
                if fault.prompt_contains is None or fault.prompt_contains in prompt:
                    return self._consume(self._tasks, fault)
        return None

    def armed(self) -> list[dict[str, object]]:
        """What is still armed, for the control plane."""
        with self._lock:
            return [f.model_dump() for f in (*self._calls, *self._tasks)]

    @staticmethod
    def _consume(rules: list[_F], fault: _F) -> _F:
        fault.count -= 1
        if fault.count == 0:
            rules.remove(fault)
        return fault.model_copy(update={"count": 1})
