"""Run-directory safety and money, end to end over a real socket: a deleted lock file does not let a second process
in, a damaged journal is refused (nothing paid again, no take overwritten) and rebuilt by `orchestrator recover`,
budgets compare exact amounts, and a storm of create 500s never reaches the user as a list 429 nor as a second task."""

from __future__ import annotations

import hashlib
import json
import signal
from pathlib import Path

import pytest

from orchestrator.models import frames_for
from orchestrator.simulator.errors import ProviderError
from orchestrator.simulator.faults import CallFault
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import run_cli
from tests.e2e.children import Child, children, start
from tests.e2e.conftest import events, probe_film, requests_made, run, takes
from tests.e2e.test_faults import SECONDS, write_storyboard

__all__ = ["children"]
CHAIN = [{"id": "a"}, {"id": "b", "after": "a"}, {"id": "c", "after": "b"}]
CHAIN_FRAMES = 3 * frames_for(SECONDS) - 2  # two chained joins each drop the repeated frame


def shas(run_dir: Path) -> dict[str, str]:
    """sha256 of every clip and last frame under shots/, by relative path."""
    return {str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((run_dir / "shots").rglob("*")) if p.name in ("clip.mp4", "last_frame.png")}


# -- the lock ---------------------------------------------------------------------------------------------------------


def test_deleting_the_lock_file_does_not_let_a_second_run_in(ark: SimulatorServer, tmp_path: Path,
                                                             children: list[Child]) -> None:
    ark.backend.config.queue_seconds = 2000.0  # the tasks stay queued (5 s on the clock of this simulator)
    storyboard = write_storyboard(tmp_path, [{"id": "a"}, {"id": "b"}, {"id": "c"}])
    out = tmp_path / "runs"
    first = start(children, storyboard, out, ark.base_url)
    assert first.wait_event({"submitted"}) is not None, first.stderr
    (out / "faults" / ".lock").unlink()

    second = run_cli("run", storyboard, "--out", out, "--yes", "--json")
    first_still_running = first.alive
    created_meanwhile = ark.stats()["counters"]["tasks_created"]
    ark.backend.config.queue_seconds = 0.0
    assert first.finish() == 0, first.stderr

    assert first_still_running
    assert second.code == 2, second.stderr
    (line,) = [x for x in second.stderr.splitlines() if not x.startswith("provider: ")]
    assert "in use by" in line and str(out / "faults") in line, line
    assert '"run_started"' not in second.stdout
    assert created_meanwhile <= 3 and ark.stats()["counters"]["tasks_created"] == 3  # 0 extra tasks


# -- a damaged journal ------------------------------------------------------------------------------------------------


def damage(journal: Path, how: str) -> None:
    for extra in (journal.with_name(journal.name + "-wal"), journal.with_name(journal.name + "-shm")):
        extra.unlink(missing_ok=True)  # a clean run leaves none; a truncation must not be repaired from them
    if how == "missing":
        journal.unlink()
    elif how == "empty":
        journal.write_bytes(b"")
    elif how == "truncated":
        journal.write_bytes(journal.read_bytes()[:3000])
    else:
        data = bytearray(journal.read_bytes())
        data[100:4096] = b"\xa5" * (4096 - 100)  # the schema page overwritten
        journal.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["missing", "empty", "truncated", "corrupt"])
def test_a_damaged_journal_is_refused_then_rebuilt_without_paying_again(ark: SimulatorServer, tmp_path: Path,
                                                                        how: str) -> None:
    storyboard = write_storyboard(tmp_path, CHAIN)
    out = tmp_path / "runs"
    run_dir = out / "faults"
    assert run(storyboard, out).code == 0
    before = shas(run_dir)
    damage(run_dir / "journal.sqlite", how)
    calls = requests_made(ark)

    refused = run(storyboard, out)
    plan = run_cli("plan", storyboard, "--out", out)
    status = run_cli("status", storyboard, "--out", out)

    assert refused.code == plan.code == status.code == 2, (refused.stderr, plan.stderr, status.stderr)
    for result in (refused, plan, status):
        (line,) = [x for x in result.stderr.splitlines() if not x.startswith("provider: ")]
        assert "journal.sqlite" in line and f"orchestrator recover {storyboard}" in line and "3 take(s)" in line
        assert "Traceback" not in result.stderr
    assert requests_made(ark) == calls  # refused before any provider call
    assert shas(run_dir) == before

    recovered = run_cli("recover", storyboard, "--out", out)
    again = run(storyboard, out)

    assert recovered.code == 0, recovered.stderr
    assert "3 downloaded" in recovered.stdout
    assert again.code == 0, again.stderr
    assert ark.stats()["counters"]["tasks_created"] == 3
    assert {k: v for k, v in requests_made(ark).items() if k != "requests.list"} == calls  # nothing asked again
    assert [e["event"] for e in events(again) if e.get("shot")] == ["reused"] * 3
    assert shas(run_dir) == before
    assert probe_film(run_dir / "outputs" / "main.mp4").frames == CHAIN_FRAMES


def test_a_journal_lost_mid_run_is_rebuilt_and_the_run_finishes_with_one_task_per_shot(
        ark: SimulatorServer, tmp_path: Path, children: list[Child]) -> None:
    ark.backend.config.queue_seconds = 2000.0
    storyboard = write_storyboard(tmp_path, [{"id": "a"}, {"id": "b"}, {"id": "c", "after": "a"}])
    out = tmp_path / "runs"
    run_dir = out / "faults"
    child = start(children, storyboard, out, ark.base_url)
    assert child.wait_event({"submitted"}) is not None
    assert child.kill() == -signal.SIGKILL
    made = ark.stats()["counters"]["tasks_created"]
    damage(run_dir / "journal.sqlite", "empty")
    ark.backend.config.queue_seconds = 0.0

    assert run(storyboard, out).code == 2
    recovered = run_cli("recover", storyboard, "--out", out)
    finished = run(storyboard, out)

    assert recovered.code == 0, recovered.stderr
    assert finished.code == 0, finished.stderr
    assert made >= 1 and ark.stats()["counters"]["tasks_created"] == 3
    done = [r for r in takes(run_dir) if r["state"] == "downloaded"]
    assert sorted(str(r["shot"]) for r in done) == ["a", "b", "c"]
    assert probe_film(run_dir / "outputs" / "main.mp4").frames == 3 * frames_for(SECONDS)


def test_recover_on_a_whole_journal_changes_nothing(ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, [{"id": "a"}])
    out = tmp_path / "runs"
    assert run(storyboard, out).code == 0
    result = run_cli("recover", storyboard, "--out", out)
    assert result.code == 2 and "nothing to recover" in result.stderr


# -- money ------------------------------------------------------------------------------------------------------------


def test_the_budget_compares_exact_amounts_not_cents(ark: SimulatorServer, tmp_path: Path) -> None:
    """Three 3 s shots of $0.0739125 cost $0.2217375, which rounds to $0.22: a budget of $0.22 refuses them before
    any call (it used to start, then stop mid-run with money spent and no film)."""
    storyboard = write_storyboard(tmp_path, [{"id": s, "duration": 3} for s in "abc"])
    out = tmp_path / "runs"

    plan = run_cli("plan", storyboard, "--out", out, "--budget", "0.22")
    refused = run(storyboard, out, "--budget", "0.22")
    requests_before = requests_made(ark)
    fits = run(storyboard, out, "--budget", "0.2218")

    assert requests_before == {}  # refused before any provider call

    assert plan.code == 3 and refused.code == 3, (plan.stderr, refused.stderr)
    assert "$0.2217 exceeds the budget of $0.22" in refused.stderr
    assert fits.code == 0, fits.stderr
    assert ark.stats()["counters"]["tasks_created"] == 3


@pytest.mark.long  # about 19 s (it waits out the real list pace): in make test-matrix, which CI runs after make test
def test_eight_create_500s_make_one_task_and_no_list_429_reaches_the_user(
        ark: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each 500 may hide a task, so each is reconciled through the list, which the provider allows once a second
    per account: the pacer keeps every look under that limit."""
    ark.backend.config.list_qps = 1.0
    refusals: list[str] = []
    admit = ark.backend.admit_list

    def counted() -> None:
        try:
            admit()
        except ProviderError as exc:
            refusals.append(exc.code)
            raise

    monkeypatch.setattr(ark.backend, "admit_list", counted)
    ark.arm(CallFault(endpoint="create", kind="500", count=8))
    out = tmp_path / "runs"

    result = run(write_storyboard(tmp_path, [{"id": "a"}]), out)

    assert result.code == 0, result.stderr
    counters = ark.stats()["counters"]
    assert counters["tasks_created"] == 1 and counters["requests.create"] == 9
    assert counters["requests.list"] >= 8  # every unanswered create was looked for before the next
    assert refusals == []
    assert not [e for e in events(result) if e["event"] in ("throttled", "failed")]
    (row,) = takes(out / "faults")
    assert row["state"] == "downloaded" and row["posts"] == 9


def test_refused_creates_cost_nothing_in_the_summary_and_in_status(ark: SimulatorServer, tmp_path: Path) -> None:
    """A key the provider refuses: every create is refused, nothing is made, nothing is billed, and the run stops
    submitting after the first refusal (the others would be refused too)."""
    ark.backend.config.api_key = "another-key"
    storyboard = write_storyboard(tmp_path, [{"id": "a"}, {"id": "b"}, {"id": "c", "after": "a"}])
    out = tmp_path / "runs"

    result = run_cli("run", storyboard, "--out", out, "--yes", "--concurrency", "1")
    status = run_cli("status", storyboard, "--out", out, "--json")

    assert result.code == 1
    assert "spent $0.00" in result.stderr
    assert any("create refused: AuthenticationError" in line for line in result.stderr.splitlines())
    assert any("not submitted: the provider refused a create" in line for line in result.stderr.splitlines())
    info = json.loads(status.stdout)
    assert info["usd"] == 0 and all(s["usd"] == 0 for s in info["shots"])
    assert [s["state"] for s in info["shots"]] == ["failed"]  # the first refusal stopped the others
    assert ark.stats()["counters"].get("tasks_created", 0) == 0
