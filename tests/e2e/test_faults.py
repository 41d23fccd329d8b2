"""`orchestrator run` against a misbehaving provider: faults armed on the shared simulator's control plane while the
engine runs. Every run must end with each shot made exactly once on the provider (DESIGN.md §5: never create a task
twice), failures contained to their descendants, and valid films."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.models import frames_for
from orchestrator.simulator.faults import CallFault, TaskFault
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import run_cli
from tests.e2e.conftest import events, probe_film, run, takes

# The cheapest clips the simulator renders: 1.0 pro, 480p, 2 s (49 frames of 864x480).
MODEL = "seedance-1-0-pro-250528"
SECONDS = 2
Shot = dict[str, Any]


def write_storyboard(folder: Path, shots: list[Shot], *, name: str = "faults",
                     outputs: dict[str, list[str]] | None = None, **top: Any) -> Path:
    """A small storyboard file (480p, 2 s shots) under `folder`; `top` adds top-level keys (e.g. budget_usd)."""
    doc: dict[str, Any] = {
        "version": 1, "name": name,
        "defaults": {"model": MODEL, "resolution": "480p", "ratio": "16:9", "duration": SECONDS},
        "shots": [{"prompt": f"Shot {s['id']}: a red apple turns slowly on a wooden table", **s} for s in shots],
    }
    if outputs is not None:
        doc["outputs"] = outputs
    doc.update(top)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def rows_of(run_dir: Path, shot: str) -> list[dict[str, Any]]:
    """The journal rows of one shot, oldest first."""
    return [r for r in takes(run_dir) if r["shot"] == shot]


def last_event(result_events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The last event of a kind."""
    return [e for e in result_events if e["event"] == kind][-1]


def assert_film(path: Path, shots: int) -> None:
    """The film decodes strictly and holds every frame of `shots` unchained 2 s clips."""
    assert probe_film(path).frames == shots * frames_for(SECONDS)


def run_shot(ark: SimulatorServer, tmp_path: Path) -> tuple[list[dict[str, Any]], Path]:
    """Run a one-shot storyboard and check it finished with exactly one task and a valid film."""
    out = tmp_path / "runs"
    result = run(write_storyboard(tmp_path, [{"id": "a"}]), out)
    assert result.code == 0, result.stderr
    assert ark.stats()["counters"]["tasks_created"] == 1
    assert_film(out / "faults" / "outputs" / "main.mp4", 1)
    return events(result), out / "faults"


# -- rate limits -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "retry_after", "code"), [
    ("create", None, None),  # ServerOverloaded, no Retry-After: the client backs off by itself
    ("create", "0.05", "QuotaExceeded"),  # a full queue: the client waits it out (the engine keeps no loop)
    ("get", "0.05", None),
])
def test_429_bursts_are_ridden_out(ark: SimulatorServer, tmp_path: Path, endpoint: str, retry_after: str | None,
                                   code: str | None) -> None:
    ark.arm(CallFault(endpoint=endpoint, kind="429", count=3 if retry_after else 2, retry_after=retry_after,
                      code=code))

    evs, _ = run_shot(ark, tmp_path)

    assert ark.stats()["faults"] == []  # every 429 was served
    finish = last_event(evs, "run_finished")
    if endpoint == "create":
        assert finish["lowest_limit"] < 10, finish  # the in-flight limit shrank on the refusals
    if code == "QuotaExceeded":
        assert finish["lowest_limit"] <= 10 // 2 ** 3, finish  # halved once per refusal
        assert len([e for e in evs if e["event"] == "throttled" and "QuotaExceeded" in e["reason"]]) == 3
        assert ark.stats()["counters"]["requests.create"] == 4  # three refusals, one create: one place retries


# -- server errors and dropped connections ---------------------------------------------------------------------------


def test_server_errors_and_dropped_connections_are_ridden_out(ark: SimulatorServer, tmp_path: Path) -> None:
    ark.arm(CallFault(endpoint="create", kind="500"))  # a 5xx create is ambiguous: look for an orphan, then create
    for kind in ("500", "503", "drop"):  # one after the other, on the same status check or the next ones
        ark.arm(CallFault(endpoint="get", kind=kind))

    run_shot(ark, tmp_path)

    stats = ark.stats()
    assert stats["faults"] == []
    assert stats["counters"]["requests.create"] == 2  # the refused create, then the one that made the task
    assert stats["counters"]["requests.list"] >= 1  # looked before creating again


@pytest.mark.parametrize("faults", [
    [CallFault(endpoint="create", kind="drop", phase="after")],
    [CallFault(endpoint="create", kind="500", phase="after"), CallFault(endpoint="list", kind="503", count=2),
     CallFault(endpoint="list", kind="500")],
], ids=["drop", "500+list-5xx"])
def test_a_create_whose_answer_was_lost_is_adopted_through_the_list_not_sent_again(
        ark: SimulatorServer, tmp_path: Path, faults: list[CallFault]) -> None:
    for fault in faults:
        ark.arm(fault)
    out = tmp_path / "runs"

    result = run(write_storyboard(tmp_path, [{"id": "a"}]), out)

    assert result.code == 0, result.stderr
    counters = ark.stats()["counters"]
    assert counters["tasks_created"] == 1 and counters["requests.create"] == 1  # adopted, never resent
    assert counters["requests.list"] >= 1 + sum(f.count for f in faults if f.endpoint == "list")
    adopted = [e for e in events(result) if e["event"] == "submitted"]
    assert len(adopted) == 1 and adopted[0]["adopted"] is True
    assert adopted[0]["task_id"] in ark.backend.tasks
    assert [r["task_id"] for r in takes(out / "faults")] == [adopted[0]["task_id"]]
    assert_film(out / "faults" / "outputs" / "main.mp4", 1)


# -- tasks that end badly ----------------------------------------------------------------------------------------------


def test_output_moderation_failure_is_retried_with_a_new_seed(ark: SimulatorServer, tmp_path: Path) -> None:
    ark.arm(TaskFault(outcome="failed"))  # OutputVideoSensitiveContentDetected: often passes when resubmitted
    out = tmp_path / "runs"

    result = run(write_storyboard(tmp_path, [{"id": "a", "seed": 1234}]), out)

    assert result.code == 0, result.stderr
    assert ark.stats()["counters"]["tasks_created"] == 2
    first, second = rows_of(out / "faults", "a")
    assert first["state"] == "failed" and first["error_code"] == "OutputVideoSensitiveContentDetected"
    assert first["seed"] == 1234  # the pinned seed was used first...
    assert second["state"] == "downloaded" and second["seed"] != 1234  # ...and the same output is not asked again
    assert ark.backend.tasks[second["task_id"]].seed == second["seed"]
    assert_film(out / "faults" / "outputs" / "main.mp4", 1)


def test_expired_task_is_retried(ark: SimulatorServer, tmp_path: Path) -> None:
    ark.arm(TaskFault(outcome="expired"))
    out = tmp_path / "runs"

    result = run(write_storyboard(tmp_path, [{"id": "a"}]), out)

    assert result.code == 0, result.stderr
    assert ark.stats()["counters"]["tasks_created"] == 2
    assert [r["state"] for r in rows_of(out / "faults", "a")] == ["expired", "downloaded"]
    assert any(e["event"] == "retrying" and e["shot"] == "a" for e in events(result))


def test_non_retryable_failure_blocks_only_its_descendants(ark: SimulatorServer, tmp_path: Path) -> None:
    # Branch one (x -> y -> z) is the longer chain, so with one slot its root is created first and takes the fault.
    storyboard = write_storyboard(
        tmp_path, [{"id": "x"}, {"id": "y", "after": "x"}, {"id": "z", "after": "y"}, {"id": "p"}],
        outputs={"one": ["x", "y", "z"], "two": ["p"]})
    ark.arm(TaskFault(outcome="failed", code="InputTextSensitiveContentDetected",
                      message="The request failed because the input text may contain sensitive information."))
    out = tmp_path / "runs"

    result = run_cli("run", storyboard, "--out", out, "--yes", "--concurrency", "1")

    assert result.code == 1, result.stderr
    run_dir = out / "faults"
    assert [r["state"] for r in rows_of(run_dir, "x")] == ["failed"]  # not retried: the input is the problem
    assert rows_of(run_dir, "y") == [] and rows_of(run_dir, "z") == []  # never submitted
    assert [r["state"] for r in rows_of(run_dir, "p")] == ["downloaded"]
    assert ark.stats()["counters"]["tasks_created"] == 2
    lines = result.stderr.splitlines()
    assert any(line.startswith("failed: x:") and "InputTextSensitiveContentDetected" in line for line in lines)
    assert any(line.startswith("failed: y:") and "x did not finish" in line for line in lines), result.stderr
    assert any(line.startswith("failed: z:") and "x did not finish" in line for line in lines), result.stderr
    assert_film(run_dir / "outputs" / "two.mp4", 1)
    assert not (run_dir / "outputs" / "one.mp4").exists()
    logged = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    finish = last_event(logged, "run_finished")
    assert set(finish["failed"]) == {"x"} and set(finish["blocked"]) == {"y", "z"}
    (resume,) = [line for line in lines if "resume with: orchestrator run" in line]
    assert str(storyboard) in resume and f"--out {out}" in resume, resume  # the same run directory, not ./runs


# -- downloads ---------------------------------------------------------------------------------------------------------


def test_expired_download_url_is_renewed_by_getting_the_task_again(ark: SimulatorServer, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Each result URL has expired by the time it is first used: the simulator's clock jumps past its lifetime
    just before the first download of each file. Getting the task again must hand out URLs that work."""
    ttl = 5.0
    ark.backend.config.url_ttl_seconds = ttl
    ark.backend.config.resign_urls = True  # a provider whose GET signs URLs anew (the simulator's default: not)
    shift = [0.0]
    real_clock, real_file_for = ark.backend.clock, ark.backend.file_for
    first_use: set[tuple[str, str]] = set()
    lock = threading.Lock()

    def file_for(task_id: str, name: str, expires: str, signature: str) -> Path:
        with lock:
            if (task_id, name) not in first_use:
                first_use.add((task_id, name))
                shift[0] += ttl + 1.0  # time passes between being handed the URL and using it
        return real_file_for(task_id, name, expires, signature)

    monkeypatch.setattr(ark.backend, "clock", lambda: real_clock() + shift[0])
    monkeypatch.setattr(ark.backend, "file_for", file_for)
    out = tmp_path / "runs"

    result = run(write_storyboard(tmp_path, [{"id": "a"}]), out)

    assert first_use, "no download reached the simulator"
    assert result.code == 0, result.stderr
    counters = ark.stats()["counters"]
    assert counters["tasks_created"] == 1
    assert counters["requests.download"] >= 4  # each of the two files: refused once, then fetched
    (take,) = rows_of(out / "faults", "a")
    assert take["state"] == "downloaded"
    assert_film(out / "faults" / "outputs" / "main.mp4", 1)


def test_truncated_downloads_are_fetched_again(ark: SimulatorServer, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The first download of the last frame and the first download of the clip both stop halfway."""
    ark.arm(CallFault(endpoint="download", kind="truncate"))  # the first download: the last frame
    real_file_for = ark.backend.file_for
    clips: list[str] = []

    def file_for(task_id: str, name: str, expires: str, signature: str) -> Path:
        if name == "video.mp4" and not clips:  # the download handler plays faults after finding the file
            clips.append(task_id)
            ark.arm(CallFault(endpoint="download", kind="truncate"))
        return real_file_for(task_id, name, expires, signature)

    monkeypatch.setattr(ark.backend, "file_for", file_for)

    _, run_dir = run_shot(ark, tmp_path)

    assert clips and ark.stats()["faults"] == []
    assert ark.stats()["counters"]["requests.download"] == 2 + 2
    (row,) = takes(run_dir)
    clip = run_dir / "shots" / "a" / str(row["key"])[:12] / "clip.mp4"
    assert clip.stat().st_size == row["clip_size"] == ark.backend.tasks[str(row["task_id"])].files[
        "video.mp4"].stat().st_size
    assert probe_film(clip).frames == frames_for(SECONDS)
