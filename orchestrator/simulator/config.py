"""Simulator settings: latency model, account limits, URL lifetime. Defaults model the real service."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

# Seconds from running to succeeded for a 5 s clip, by resolution: the reference records ~50-230 s per clip.
REAL_RUN_SECONDS = {"480p": 60.0, "720p": 130.0, "1080p": 200.0, "4k": 400.0}


class SimConfig(BaseModel):
    """Everything that shapes the simulator's behaviour; `speed` divides every latency."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    speed: float = Field(1.0, gt=0, description="Time compression: 100 makes a 130 s run take 1.3 s")
    queue_seconds: float = Field(5.0, ge=0, description="Time a task waits before it may start (real: ~5 s)")
    run_seconds: dict[str, float] = Field(default_factory=lambda: dict(REAL_RUN_SECONDS))
    jitter: float = Field(0.2, ge=0, le=1, description="+- fraction applied to run time, fixed per task id")
    rpm_limit: int = Field(600, ge=1, description="Creates per model per minute (enterprise tier)")
    concurrency: int = Field(10, ge=1, description="Tasks running at once per model; the rest queue")
    queue_cap: int = Field(120, ge=1, description="Queued tasks per account before 429 QuotaExceeded")
    url_ttl_seconds: float = Field(86_400.0, gt=0, description="Lifetime of signed file URLs")
    resign_urls: bool = Field(True, description="Each GET/LIST signs result URLs anew ([UNCONFIRMED]); false: "
                              "they expire url_ttl_seconds after the task finished")
    api_key: str | None = Field(None, description="When set, only this bearer key is accepted")
    data_dir: Path | None = Field(None, description="Where rendered files go; default a temporary folder")
    render_workers: int = Field(2, ge=1)
    list_qps: float | None = Field(1.0, gt=0, description="List calls per second per account (None: no limit)")
    prerendered: bool = Field(False, description="Serve one small clip rendered once instead of rendering each "
                              "task (for load tests of a client: thousands of tasks, little CPU)")
    retention_seconds: float = Field(7 * 86_400.0, description="Records older than this vanish (7 days)")

    def run_time(self, resolution: str, seconds: float, fraction: float) -> float:
        """Run time of one task in real-service seconds (before `speed`); `fraction` in [0, 1) picks the jitter."""
        base = self.run_seconds.get(resolution, 130.0) * max(seconds, 1.0) / 5.0
        return base * (1 + self.jitter * (2 * fraction - 1))
