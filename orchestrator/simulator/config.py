"""Simulator settings: latency model, account limits, URL lifetime, and the provider's undocumented behaviours.

Where the reference documents a behaviour, the default is what it says. Where it is silent (list lag, seed echo,
read-after-write, URL re-signing, lost create answers, bursts of errors), the behaviour is a setting here and its
default is the more hostile plausible choice: the simulator must not share the product's assumptions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

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
    resign_urls: bool = Field(False, description="true: each GET/LIST signs result URLs anew; false: they are "
                              "signed once, at completion, and expire url_ttl_seconds after it whatever GETs happen "
                              "([UNCONFIRMED]; fixed expiry is the harder case for a client)")
    api_key: str | None = Field(None, description="When set, only this bearer key is accepted")
    data_dir: Path | None = Field(None, description="Where rendered files go without a store; default a temporary "
                                  "folder")
    store_dir: Path | None = Field(None, description="Keep task records, their inputs, rendered files and the URL "
                                   "secret in this folder, so a later simulator (or one running beside) sees the "
                                   "tasks, as the provider keeps them for 7 days; None: in memory only. Read when "
                                   "the backend starts")
    render_workers: int = Field(2, ge=1)
    list_qps: float | None = Field(1.0, gt=0, description="List calls per second per account (None: no limit)")
    prerendered: bool = Field(False, description="Serve one small clip rendered once instead of rendering each "
                              "task (for load tests of a client: thousands of tasks, little CPU)")
    render_cache_dir: Path | None = Field(None, description="Keep each render here by what determines it (request, "
                                          "seed, input images) and reuse it for an identical job: benchmarks "
                                          "prepare renders ahead so they measure the client, not the renderer")
    retention_seconds: float = Field(7 * 86_400.0, description="Records older than this vanish (7 days)")
    list_lag_seconds: float = Field(10.0, ge=0, description="A new task is absent from list results (items and "
                                    "total) until this long after its creation (real-service seconds, / speed); "
                                    "[UNCONFIRMED]: list indexes usually lag behind writes")
    read_after_write_seconds: float = Field(5.0, ge=0, description="GET and DELETE of a task answer 404 (as for an "
                                            "unknown id) until this long after its creation (real-service "
                                            "seconds, / speed); [UNCONFIRMED]: replicas may not have it yet")
    echo_seed: bool = Field(False, description="true: the task object's seed is the one sent (or the random one "
                            "chosen); false: a number the simulator picks per task, since the docs do not promise "
                            "that 2.x echoes it. Rendering always uses the sent seed")
    lost_creates: float = Field(0.0, ge=0, le=1, description="Fraction of creates whose answer is lost after the "
                                "task was made: a 500, 502, 503 or dropped connection while the task exists and runs")
    bursts: float = Field(0.0, ge=0, le=1, description="Probability that a request (any endpoint, downloads too) "
                          "starts a burst: burst_length consecutive requests answer 429 (with or without "
                          "Retry-After: 1), 502 or 503 (downloads: 502/503), before any work is done")
    burst_length: int = Field(3, ge=1, description="Requests one burst answers")
    fault_seed: int | None = Field(None, description="Seeds the draws of lost creates and bursts (None: random), "
                                   "so a test sees the same weather every time")
    region: Literal["byteplus", "volcengine"] = Field("byteplus", description="Which provider this is: its model "
                                                      "ids (seedance-/dreamina-seedance- or doubao-seedance-); the "
                                                      "other region's ids are unknown here, as on the real service")
    endpoints: dict[str, str] = Field(default_factory=dict, description="Endpoint ids (ep-...) of the account and "
                                      "the model id each serves; a task made through one reports the model id")
    exif_orientation: Literal["apply", "ignore"] = Field(
        "apply", description="A JPEG's EXIF orientation: apply (the picture as shown: its size decides an adaptive "
        "ratio, and it is cropped upright) or ignore (the stored pixels). The provider's docs do not say; apply is "
        "what image services commonly do")
    annotate: bool = Field(False, description="Burn the prompt caption and a frame counter into the frames; off, "
                           "since a caption would travel into children through the handed-on last frame")
    drift_colour: float = Field(0.0, ge=0, le=0.5, description="The drift model (opt-in; a model of reported "
                                "behaviour, not a measurement): each clip's colour balance shifts warmer along the "
                                "clip, its red gain up and blue down by this fraction at its last frame")
    drift_contrast: float = Field(0.0, ge=-0.5, le=0.5, description="Drift model: each clip's contrast changes by "
                                  "this fraction by its last frame")
    drift_blur: float = Field(0.0, ge=0, le=5, description="Drift model: each clip's detail softens to a Gaussian "
                              "blur of this radius (pixels) by its last frame")

    @classmethod
    def hostile(cls, **overrides: Any) -> SimConfig:
        """Every undocumented behaviour at its hostile setting, with lost create answers and bursts switched on."""
        settings: dict[str, Any] = {
            "list_lag_seconds": 10.0, "read_after_write_seconds": 5.0, "echo_seed": False, "resign_urls": False,
            "lost_creates": 0.25, "bursts": 0.05, "burst_length": 3, "annotate": False,
        }
        return cls(**{**settings, **overrides})

    @classmethod
    def drifting(cls, **overrides: Any) -> SimConfig:
        """The drift model on, "a touch" a link: about 1.3 CIEDE2000 a clip at 864x480, so a chain's colour passes
        the report's limit (5) at link 3-5, and its sharpness falls to about half its root's by link 6."""
        return cls(**{"drift_colour": 0.025, "drift_contrast": 0.015, "drift_blur": 0.25, **overrides})

    def run_time(self, resolution: str, seconds: float, fraction: float) -> float:
        """Run time of one task in real-service seconds (before `speed`); `fraction` in [0, 1) picks the jitter."""
        base = self.run_seconds.get(resolution, 130.0) * max(seconds, 1.0) / 5.0
        return base * (1 + self.jitter * (2 * fraction - 1))
