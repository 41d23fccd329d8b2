"""Looking at and acting on an existing run directory: status (no calls), cancel, and re-assembly from finished
clips (no provider calls)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from orchestrator.api.client import ArkClient
from orchestrator.api.errors import ApiError, NotFound
from orchestrator.api.types import TaskStatus
from orchestrator.engine.decide import Action
from orchestrator.engine.films import (
    FilmMaker,
    chosen_outputs,
    film_is_current,
    film_signature,
    output_settings,
    output_sizes,
    stored_films,
)
from orchestrator.engine.journal import Journal, Take, TakeState
from orchestrator.engine.run import RunOptions, prepare
from orchestrator.engine.rundir import RunDir, RunLock, run_dir_for
from orchestrator.engine.versions import history
from orchestrator.errors import ConfigError, OrchestratorError
from orchestrator.profiles import Region, RegionChoice, money_keys
from orchestrator.storyboard.validate import check_file


@dataclass(frozen=True)
class ShotStatus:
    """One shot as the journal last saw it."""

    shot: str
    state: str
    task_id: str | None
    attempts: int  # takes with the newest take's key
    takes: int  # every take of the shot, earlier keys included
    tokens: int
    amount: float  # in the run's currency
    clip: str | None
    last_frame: str | None
    error: str | None


@dataclass(frozen=True)
class RunStatus:
    """A run directory's state."""

    run_dir: str
    storyboard: str | None
    shots: list[ShotStatus]
    films: dict[str, str]
    tokens: int
    amount: float
    last_run: dict[str, object] | None
    stale: dict[str, str] = field(default_factory=dict)  # film -> why it no longer matches the storyboard
    simulated: bool = False  # every run here used the simulator: no money was spent
    currency: str = "USD"  # of every amount here (the journal's)
    region: str | None = None  # the region the run was made on, when recorded
    budget_total: float | None = None  # the cap on all runs together the last run had, when it had one
    versions: dict[str, int] = field(default_factory=dict)  # film -> earlier versions kept in outputs/versions


def locate(target: Path, out: Path | None, *, check: bool = True, region: RegionChoice | None = None) -> RunDir:
    """The run directory named by a path: the directory itself, or the run of a storyboard file (checked on
    `region`). With `check`, its journal must be whole (JournalDamaged names the recovery otherwise)."""
    if target.is_dir():
        run_dir = RunDir(target)
        if not (run_dir.journal.exists() or (target / "shots").is_dir()):
            raise ConfigError(f"{target}: not a run directory (no journal.sqlite)")
    elif target.is_file():
        run_dir = run_dir_for(check_file(target, str(target), region=region).name, out)
        if not (run_dir.journal.exists() or (run_dir.root / "shots").is_dir()):
            raise ConfigError(f"{target}: no run yet (looked in {run_dir.root})")
    else:
        raise ConfigError(f"{target}: no such file or directory")
    if check:
        run_dir.check_journal(str(target))
    return run_dir


def status(run_dir: RunDir) -> RunStatus:
    """What the journal says about every shot and film; a film that no longer matches the storyboard is stale."""
    journal = Journal(run_dir.journal)
    try:
        by_shot: dict[str, list[Take]] = {}
        for take in journal.takes():
            by_shot.setdefault(take.shot, []).append(take)
        shots = [_shot_status(run_dir, takes) for takes in by_shot.values()]
        films = {p.stem: str(p) for p in sorted((run_dir.root / "outputs").glob("*.mp4"))}
        return RunStatus(str(run_dir.root), journal.meta("storyboard"), shots, films,
                         sum(s.tokens for s in shots), round(sum(s.amount for s in shots), 4), journal.last_run(),
                         _stale(run_dir, journal, list(films)),
                         simulated=journal.meta("backend.sim") is not None and journal.meta("backend.ark") is None,
                         currency=journal.currency() or "USD", region=journal.meta("region"),
                         budget_total=float(journal.meta("budget_total") or 0) or None,
                         versions={n: len(history(run_dir, n)) for n in films if history(run_dir, n)})
    finally:
        journal.close()


def run_region(run_dir: RunDir) -> Region | None:
    """The region a run directory's run was made on, when its journal recorded it."""
    if not run_dir.journal.is_file():
        return None
    journal = Journal(run_dir.journal)
    try:
        choice = recorded_region(journal)
    finally:
        journal.close()
    return None if choice is None else choice.region


def recorded_region(journal: Journal) -> RegionChoice | None:
    """The region a run was made on, as its journal recorded it (None: not recorded, or no run yet)."""
    value = journal.meta("region")
    return None if value is None else RegionChoice(Region(value), "the region its run directory was made on")


def _stale(run_dir: RunDir, journal: Journal, films: list[str]) -> dict[str, str]:
    """For each film on disk that the storyboard, as it is now, would not make the same: why."""
    if not films:
        return {}
    source = journal.meta("storyboard")
    try:
        if source is None:
            raise ConfigError("the journal does not name its storyboard")
        checked = check_file(Path(source), source, region=recorded_region(journal))
        prepared = prepare(checked, RunOptions(out=run_dir.root.parent), journal, locks=False)
    except OrchestratorError as exc:
        return {name: f"cannot tell: {str(exc).splitlines()[0]}" for name in films}
    stored = stored_films(journal)
    sizes = output_sizes(checked, prepared.plan)
    settings = output_settings(checked)
    stale: dict[str, str] = {}
    for name in films:
        if name not in checked.outputs:
            stale[name] = "no longer an output of the storyboard"
            continue
        pending = [d.shot for d in prepared.decisions.shots
                   if d.shot in checked.outputs[name] and d.action is not Action.REUSE]
        if pending:
            stale[name] = f"{', '.join(pending)} changed or not finished: run again to remake it"
            continue
        clips = {d.shot: run_dir.clip(d.shot, d.key or "") for d in prepared.decisions.shots}
        signature = film_signature(checked, name, clips, sizes[name], settings[name])
        if not film_is_current(run_dir.film(name), stored.get(name), signature):
            stale[name] = "made from other clips or settings than the storyboard's now: run again to remake it"
    return stale


def _shot_status(run_dir: RunDir, takes: list[Take]) -> ShotStatus:
    newest = takes[-1]
    done = newest.state is TakeState.DOWNLOADED
    error = f"{newest.error_code}: {newest.error_message}" if newest.state.ended_badly else None
    return ShotStatus(
        shot=newest.shot, state=newest.state.value, task_id=newest.task_id,
        attempts=sum(1 for t in takes if t.key == newest.key), takes=len(takes),
        tokens=sum(t.tokens or 0 for t in takes), amount=round(sum(t.usd or 0.0 for t in takes), 4),
        clip=str(run_dir.clip(newest.shot, newest.key)) if done else None,
        last_frame=str(run_dir.last_frame(newest.shot, newest.key)) if done and newest.frame_sha else None,
        error=error,
    )


def status_json(info: RunStatus) -> str:
    """The status as JSON; amounts are named by their currency (`usd`, or `cny` for a Volcengine run)."""
    return json.dumps(money_keys(asdict(info), info.currency), indent=2)


async def cancel(run_dir: RunDir, client: ArkClient) -> list[str]:
    """Cancel every queued task of the run and journal it; one line per task touched."""
    lines: list[str] = []
    with RunLock(run_dir):
        run_dir.check_journal(str(run_dir.root))
        journal = Journal(run_dir.journal, mirror=run_dir.mirror)
        try:
            for take in journal.takes():
                if take.state is not TakeState.SUBMITTED or take.task_id is None:
                    continue
                lines.append(await _cancel_one(journal, client, take))
        finally:
            journal.close()
    return lines or ["nothing to cancel: no task of this run is waiting on the provider"]


async def _cancel_one(journal: Journal, client: ArkClient, take: Take) -> str:
    assert take.task_id is not None
    try:
        task = await client.get(take.task_id)
        if task.status is not TaskStatus.QUEUED:
            return f"{take.shot}: task {take.task_id} is {task.status.value}; only queued tasks can be cancelled"
        await client.delete(take.task_id)
    except NotFound:  # right after a create the provider may not find its own task yet (read-after-write)
        return (f"{take.shot}: task {take.task_id}: the provider does not find it (yet, if it was created moments "
                "ago): run cancel again in a few seconds")
    except ApiError as exc:
        return f"{take.shot}: task {take.task_id}: {exc.message}"
    journal.set_ended(take.id, TakeState.CANCELLED, "Cancelled", "cancelled with orchestrator cancel", False)
    return f"{take.shot}: task {take.task_id} cancelled"


async def reassemble(run_dir: RunDir, outputs: tuple[str, ...]) -> dict[str, Path]:
    """The films again from the finished clips, with the storyboard's current `assembly:` settings."""
    with RunLock(run_dir):
        run_dir.check_journal(str(run_dir.root))
        journal = Journal(run_dir.journal, mirror=run_dir.mirror)
        try:
            source = journal.meta("storyboard")
            if source is None:
                raise ConfigError(f"{run_dir.root}: the journal does not name its storyboard")
            checked = check_file(Path(source), source, region=recorded_region(journal))
            wanted = chosen_outputs(checked, outputs)
            prepared = prepare(checked, RunOptions(out=run_dir.root.parent), journal, locks=False)
            needed = {s for o in wanted for s in checked.outputs[o]}
            missing = [d for d in prepared.decisions.shots if d.shot in needed and d.action is not Action.REUSE]
            if missing:
                raise ConfigError(f"{run_dir.root}: {', '.join(d.shot for d in missing)} not finished or changed "
                                  f"since the run ({missing[0].reason}); run `orchestrator run {source}` first")
            # Every finished clip, not only the films': a chain's grade (the colour anchor) reads its reference's.
            clips = {d.shot: run_dir.clip(d.shot, d.key or "") for d in prepared.decisions.shots
                     if d.shot in needed or (d.action is Action.REUSE and d.key)}
            subset = replace(checked, outputs={o: checked.outputs[o] for o in wanted})
            maker = FilmMaker(subset, run_dir, journal, output_sizes(subset, prepared.plan),
                              output_settings(subset))
            await maker.make(clips)
            return {o: run_dir.film(o) for o in wanted}
        finally:
            journal.close()
