"""Crash safety end to end: `python -m orchestrator run` in a real subprocess against a simulator on a real socket,
killed with SIGKILL at random moments (inside create calls, inside downloads, right after a task id or a clip is
journaled), interrupted with Ctrl-C, and contended for its lock. Nothing is mocked but randomness (a seeded schedule):
the journal must let every resume finish the film without ever creating a provider task twice (DESIGN.md §5, §9).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.models import frames_for
from orchestrator.simulator.faults import CallFault
from orchestrator.simulator.server import SimulatorServer
from tests.conftest import FAST
from tests.e2e.children import TARGET_WAIT_S, Child, children, command, env, start
from tests.e2e.conftest import copy_storyboard, probe_film, requests_made, takes

__all__ = ["children"]  # the fixture, used by name
SHOTS = ("pick", "shake", "pour", "cup")
TEA_FILM_FRAMES = frames_for(5) + frames_for(4) + frames_for(5) + frames_for(5) - 3  # three chained joins
KILLS = 21  # SIGKILLs that land before the run is allowed to finish (at least 20 asked for)
STALL_S = 30.0  # far longer than any kill takes to land; the client's own timeout is 60 s


# -- what the journal and the simulator hold --------------------------------------------------------------------------


def _server_task_ids(server: SimulatorServer) -> set[str]:
    page = server.backend.list_tasks(page_num=1, page_size=500, status=None, task_ids=[], model=None,
                                     service_tier="default")
    return {str(item["id"]) for item in page["items"]}


def _journal_task_ids(run_dir: Path) -> dict[str, str]:
    """task id -> shot, for every take the journal gave a task id."""
    if not (run_dir / "journal.sqlite").is_file():
        return {}
    return {str(r["task_id"]): str(r["shot"]) for r in takes(run_dir) if r["task_id"] is not None}


def _temp_files(run_dir: Path) -> list[Path]:
    """Files under a temporary (hidden) name: `.<name>.<hex>.part`, `.task.json.tmp`, concat lists, joins."""
    return sorted(p.relative_to(run_dir) for p in run_dir.rglob(".*") if p.is_file() and p.name != ".lock")


@dataclass
class Progress:
    """What the run directory and the simulator say, between two attempts."""

    journaled: int  # task ids in the journal
    orphans: int  # tasks on the simulator that no journal take names yet (created inside a killed create call)
    downloaded: int  # takes whose clip is verified on disk
    dangling_intents: int  # intents without a task id


def _progress(server: SimulatorServer, run_dir: Path) -> Progress:
    rows = takes(run_dir) if (run_dir / "journal.sqlite").is_file() else []
    journaled = _journal_task_ids(run_dir)
    on_server = _server_task_ids(server)
    assert set(journaled) <= on_server, f"the journal names tasks the provider never made: {journaled}"
    orphans = on_server - set(journaled)
    dangling = [r for r in rows if r["state"] == "intent" and r["task_id"] is None]
    # A task the journal does not name can only come from a create killed after the server made the task and
    # before the id was journaled: at most one per dangling intent, never more.
    assert len(orphans) <= len(dangling), f"tasks no intent accounts for: {orphans} (intents {dangling})"
    return Progress(len(journaled), len(orphans), sum(r["state"] == "downloaded" for r in rows), len(dangling))


# -- 1. SIGKILL at random moments -------------------------------------------------------------------------------------


@dataclass
class Attempt:
    """One killed (or finished) run: how the kill was aimed, where it landed."""

    mode: str  # how the kill was aimed (a missed aim counts as a random kill)
    code: int
    landed: str


def _choose(rng: random.Random, progress: Progress, used: Counter[str], since_create: int) -> str:
    """The next kill's aim, among those the run can still reach. Per shot: inside its create call (the moment a
    second create would be paid for), right after the resumed run adopts the orphan, then two other kinds while the
    task renders, the least used so far (in a download request, mid-file, right after a download; at random once
    each of those has had its turn, and whenever only assembly is left)."""
    if progress.orphans or progress.dangling_intents:
        return "submitted"  # the resumed create reconciles; an adopted orphan is announced as `submitted`
    if len(SHOTS) - progress.journaled > 0 and since_create >= 2:
        return "in_create"
    others = ["in_download", "mid_file", "downloaded"] if progress.downloaded < len(SHOTS) else []
    if not others or all(used[m] for m in others):
        others.append("random")
    least = min(used[m] for m in others)
    return rng.choice([m for m in others if used[m] == least])


def _attempt(server: SimulatorServer, child: Child, mode: str, rng: random.Random, progress: Progress,
             run_dir: Path) -> Attempt:
    """Run `child` until the moment `mode` aims at, then SIGKILL it."""
    if mode == "in_create":
        server.arm(CallFault(endpoint="create", kind="stall", phase="after", stall_seconds=STALL_S))
    elif mode == "in_download":
        server.arm(CallFault(endpoint="download", kind="stall", phase="before", stall_seconds=STALL_S))
    late = progress.downloaded == len(SHOTS)
    if mode == "mid_file":
        landed, hit = _aim_mid_file(child, run_dir / "shots")
    else:
        landed, hit = _aim(server, child, mode, rng, late)
    code = child.kill()
    server.backend.faults.clear()  # a stall that did not fire must not delay the next attempt
    if code == 0:
        landed = "finished before the kill"
    if not hit or mode == "random":
        mode = "random (assembly)" if late else "random (shots)"
    return Attempt(mode, code, landed)


def _aim(server: SimulatorServer, child: Child, mode: str, rng: random.Random, late: bool) -> tuple[str, bool]:
    """Wait for the moment to kill at; return where the kill lands (for the report) and whether that is the moment
    aimed at. `late`: every clip is in, only assembly is left, so a random kill comes sooner."""
    if mode in ("submitted", "downloaded"):
        event = child.wait_event({mode})
        if event is not None:
            return f"right after {mode} {event['shot']}" + (" (adopted)" if event.get("adopted") else ""), True
        return f"waited for {mode} in vain", False
    if mode in ("in_create", "in_download"):
        deadline = time.monotonic() + TARGET_WAIT_S
        while server.backend.faults.armed() and child.alive and time.monotonic() < deadline:
            time.sleep(0.005)
        if server.backend.faults.armed():
            return f"{mode}: the call never came", False
        time.sleep(rng.uniform(0.0, 0.3))  # the task exists (create) or the file is requested: the answer stalls
        return "inside a create call, task made" if mode == "in_create" else "inside a download request", True
    if child.wait_event({"run_started"}) is None:
        return "before the run started", True
    delay = rng.uniform(0.0, 0.6) if late else rng.uniform(0.0, 1.5)
    time.sleep(delay)
    last = child.events[-1] if child.events else {"event": "nothing"}
    return f"{delay:.2f} s after start, after {last['event']} {last.get('shot', '')}".rstrip(), True


def _aim_mid_file(child: Child, shots: Path) -> tuple[str, bool]:
    """Wait until a result file is being written under its temporary name (`.<name>.<hex>.part`), to kill while
    the body streams in; give up once a download completes unseen."""
    start = len(child.events)
    deadline = time.monotonic() + TARGET_WAIT_S
    left_before = _parts(shots)
    while child.alive and time.monotonic() < deadline:
        parts = _parts(shots) - left_before
        if parts:
            return f"mid-file, writing {min(parts)}", True
        if any(e["event"] == "downloaded" for e in child.events[start:]):
            return "mid_file: missed, right after a download completed", False
        time.sleep(0.0005)
    return "mid_file: no download came", False


def _parts(folder: Path) -> set[str]:
    return {n for _, _, names in os.walk(folder) for n in names if n.endswith(".part")}


@pytest.mark.long
def test_sigkill_at_random_moments_never_creates_a_task_twice(tmp_path: Path, children: list[Child]) -> None:
    rng = random.Random(20250605)
    storyboard = copy_storyboard(tmp_path, "tea-ad")
    out = tmp_path / "runs"
    run_dir = out / "tea-ad"
    started = time.monotonic()
    attempts: list[Attempt] = []
    adopted = 0
    orphans = 0
    with SimulatorServer(FAST.model_copy()) as server:
        used: Counter[str] = Counter()
        since_create = 2  # kills since the last one aimed at a create: the first aims at one
        while sum(a.code == -signal.SIGKILL for a in attempts) < KILLS:
            progress = _progress(server, run_dir)
            mode = _choose(rng, progress, used, since_create)
            since_create = 0 if mode in ("in_create", "submitted") else since_create + 1
            used[mode] += 1
            child = start(children, storyboard, out, server.base_url)
            attempt = _attempt(server, child, mode, rng, progress, run_dir)
            attempt.landed += f" [{time.monotonic() - started:.1f} s]"
            attempts.append(attempt)
            adopted += sum(bool(e.get("adopted")) for e in child.events if e["event"] == "submitted")
            orphans += child.orphans
            assert attempt.code in (0, -signal.SIGKILL), (attempt, child.stderr)
            if attempt.code == 0:
                break  # finished before a kill could land: nothing left to interrupt
        before_final = _progress(server, run_dir)
        final = start(children, storyboard, out, server.base_url)
        code = final.finish()
        adopted += sum(bool(e.get("adopted")) for e in final.events if e["event"] == "submitted")
        created = server.stats()["counters"]["tasks_created"]
        on_server = _server_task_ids(server)
    elapsed = time.monotonic() - started

    kills = [a for a in attempts if a.code == -signal.SIGKILL]
    print(f"\n{len(kills)} SIGKILLs + final run in {elapsed:.1f} s; {adopted} orphan task(s) adopted; "
          f"{orphans} ffmpeg process(es) outlived their killed run; before the final run: {before_final}")
    for mode, n in sorted(Counter(a.mode for a in kills).items()):
        print(f"  {mode:17} {n}")
    for a in attempts:
        print(f"  - {a.mode:17} {a.landed}")

    assert code == 0, final.stderr
    assert probe_film(run_dir / "outputs" / "main.mp4").frames == TEA_FILM_FRAMES
    assert created == len(SHOTS), f"{created} tasks created for {len(SHOTS)} shots: a kill caused a second create"
    rows = takes(run_dir)
    done = [r for r in rows if r["state"] == "downloaded"]
    assert sorted(str(r["shot"]) for r in done) == sorted(SHOTS)
    assert len({r["task_id"] for r in done}) == len(SHOTS)
    assert set(_journal_task_ids(run_dir)) == on_server  # every task the provider made is owned by the journal
    assert len(kills) >= 20, [a.landed for a in attempts]
    assert Counter(a.mode for a in kills).keys() >= {"in_create", "submitted", "in_download", "mid_file",
                                                     "downloaded", "random (assembly)"}
    assert adopted >= 1  # at least one kill inside a create left an orphan that a later run adopted
    for row in done:  # every take folder complete (DESIGN.md §5)
        folder = run_dir / "shots" / str(row["shot"]) / str(row["key"])[:12]
        assert {"clip.mp4", "last_frame.png", "task.json"} <= {p.name for p in folder.iterdir()}, folder
    for line in (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines():
        json.loads(line)  # no event cut short by a kill, nor two run together
    leftovers = _temp_files(run_dir)
    assert not [p for p in leftovers if p.parts[0] != "cache"], f"temp files left beside final files: {leftovers}"
    assert not leftovers, f"temp files in the cache that no later run swept: {leftovers}"


# -- 2. Ctrl-C, then resume -------------------------------------------------------------------------------------------


@pytest.mark.long  # 5-15 s: in make test-matrix, which CI runs; keeps make test under ten minutes
def test_ctrl_c_exits_130_with_one_line_then_the_run_resumes(sim: SimulatorServer, tmp_path: Path,
                                                              children: list[Child]) -> None:
    storyboard = copy_storyboard(tmp_path, "tea-ad")
    out = tmp_path / "runs"
    # The first status poll hangs, so the press lands while `pick` is the only task made, however loaded the machine:
    # the chain cannot go on before the run learns that `pick` is done. It also presses Ctrl-C inside a blocked call.
    sim.arm(CallFault(endpoint="get", kind="stall", stall_seconds=STALL_S))
    child = start(children, storyboard, out, sim.base_url)

    submitted = child.wait_event({"submitted"})
    assert submitted is not None, child.stderr
    deadline = time.monotonic() + TARGET_WAIT_S
    while sim.stats()["faults"] and time.monotonic() < deadline:  # pressed inside the hanging poll, not before it
        time.sleep(0.01)
    code = child.interrupt()
    journaled = _journal_task_ids(out / "tea-ad")

    again = start(children, storyboard, out, sim.base_url)
    assert again.finish() == 0, again.stderr
    assert sim.stats()["counters"]["tasks_created"] == len(SHOTS)
    assert [e["shot"] for e in again.events if e["event"] == "submitted"] == ["shake", "pour", "cup"]
    assert probe_film(out / "tea-ad" / "outputs" / "main.mp4").frames == TEA_FILM_FRAMES

    assert code == 130, child.stderr
    assert journaled == {submitted["task_id"]: "pick"}  # the journal kept the task the interrupted run made
    assert not any("Traceback" in line for line in child.stderr), "\n".join(child.stderr)
    assert len(child.errors()) == 1 and "interrupt" in child.errors()[0], child.stderr


# -- 3. A second run on a directory in use ----------------------------------------------------------------------------


@pytest.mark.long  # 12 s, in make test-matrix (CI runs it); test_safety's lock tests cover a second run in make test
def test_a_second_run_on_a_directory_in_use_exits_2_and_status_still_works(
        sim: SimulatorServer, tmp_path: Path, children: list[Child]) -> None:
    storyboard = copy_storyboard(tmp_path, "tea-ad")
    out = tmp_path / "runs"
    first = start(children, storyboard, out, sim.base_url)
    assert first.wait_event({"submitted"}) is not None, first.stderr

    second = subprocess.run(command(storyboard, out), cwd=tmp_path, env=env(sim.base_url), capture_output=True,
                            text=True, timeout=60, check=False)
    status = subprocess.run(command(storyboard, out, "status"), cwd=tmp_path, env=env(sim.base_url),
                            capture_output=True, text=True, timeout=60, check=False)
    still_running = first.alive
    first.interrupt()

    assert still_running, "the first run ended while the second was refused"
    assert second.returncode == 2, second.stderr
    message = [line for line in second.stderr.splitlines() if not line.startswith("provider: ")]
    assert len(message) == 1, second.stderr
    assert str(out / "tea-ad") in message[0] and "in use" in message[0], message
    assert "run_started" not in second.stdout
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert Path(info["run_dir"]) == out / "tea-ad"
    assert [s["shot"] for s in info["shots"]][:1] == ["pick"] and info["shots"][0]["task_id"]


# -- 4. Killed after two creates: the resume creates only the other two -----------------------------------------------


@pytest.mark.long  # 12-19 s: in make test-matrix, which CI runs after make test
def test_resume_after_kill_creates_only_the_shots_never_submitted(sim: SimulatorServer, tmp_path: Path,
                                                                  children: list[Child]) -> None:
    storyboard = copy_storyboard(tmp_path, "tea-ad")
    out = tmp_path / "runs"
    run_dir = out / "tea-ad"
    child = start(children, storyboard, out, sim.base_url)
    first, second = child.kill_after_submits(2)

    journaled = _journal_task_ids(run_dir)
    assert journaled == {first["task_id"]: "pick", second["task_id"]: "shake"}
    before = requests_made(sim)
    assert before["requests.create"] == 2

    resumed = start(children, storyboard, out, sim.base_url)
    assert resumed.finish() == 0, resumed.stderr

    after = requests_made(sim)
    assert sim.stats()["counters"]["tasks_created"] == len(SHOTS)
    assert after["requests.create"] - before["requests.create"] == 2
    assert after.get("requests.list", 0) == before.get("requests.list", 0)  # nothing ambiguous was left to reconcile
    assert [e["shot"] for e in resumed.events if e["event"] == "submitted"] == ["pour", "cup"]
    final = {str(r["shot"]): r for r in takes(run_dir) if r["state"] == "downloaded"}
    assert final["pick"]["task_id"] == first["task_id"] and final["shake"]["task_id"] == second["task_id"]
    shake_seen = {e["event"] for e in resumed.events if e.get("task_id") == second["task_id"]}
    assert {"succeeded", "downloaded"} <= shake_seen  # polled and fetched, not made again
    assert probe_film(run_dir / "outputs" / "main.mp4").frames == TEA_FILM_FRAMES
