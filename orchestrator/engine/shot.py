"""One shot from request to verified files, journaled at every step so a crash anywhere resumes without paying twice.

    intent (journal) -> create -> task id (journal) -> poll -> succeeded (journal) -> last frame (children go)
    -> clip downloaded, hashed, strictly decoded (journal) -> normalised for its films (caller's hook)

A create that may have reached the server is reconciled through the list endpoint, never resent blindly; a resumed
intent is reconciled the same way before anything is created.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.api import retry as policy
from orchestrator.api.client import CREATE_WINDOW_SLACK_S, ArkClient
from orchestrator.api.errors import AmbiguousCreate, ApiError, DownloadFailed, NotFound, RateLimited
from orchestrator.api.reconcile import reconcile
from orchestrator.api.types import CreateTaskRequest, Task, TaskStatus
from orchestrator.assembly.errors import ClipInvalid
from orchestrator.assembly.probe import probe
from orchestrator.assembly.temp import sweep_temp, temporary
from orchestrator.engine import request as build
from orchestrator.engine.decide import take_intact
from orchestrator.engine.events import EventLog
from orchestrator.engine.journal import Journal, Take, TakeState, live_take
from orchestrator.engine.keys import Params, sha256_path, shot_key, shot_params
from orchestrator.engine.pacing import AdaptiveLimit, LatencyModel, PollSchedule
from orchestrator.engine.plan import ShotEstimate
from orchestrator.engine.rundir import CLIP_NAME, FRAME_NAME, TASK_NAME, RunDir
from orchestrator.errors import OrchestratorError
from orchestrator.models import SEED_MAX
from orchestrator.storyboard.resolve import ShotSpec

URL_FRESH_S = 20 * 3600.0  # result URLs live 24 h; past this, a last frame travels inline from the stored bytes
CREATE_TRIES = 6  # rate-limit refusals of one create before the shot fails
URL_REFRESHES = 3  # expired download URLs renewed by getting the task again


class ShotFailed(OrchestratorError):
    """A shot could not be produced; its descendants are blocked."""

    def __init__(self, shot: str, reason: str, *, stops_run: bool = False) -> None:
        self.shot = shot
        self.reason = reason
        self.stops_run = stops_run  # an account-wide refusal (auth, permission): every other create would fail too
        super().__init__(f"{shot}: {reason}")


class BudgetStop(ShotFailed):
    """Submitting this shot (a retry) would pass the budget."""


@dataclass(frozen=True)
class Handoff:
    """A finished shot's last frame, for its children."""

    shot: str
    sha: str
    path: Path
    url: str | None
    url_at: float | None

    def as_request_url(self, now: float) -> str:
        """The provider's URL while fresh, else the exact stored bytes inline."""
        if self.url and self.url_at is not None and now - self.url_at < URL_FRESH_S:
            return self.url
        return build.image_data_url(self.path.read_bytes())


@dataclass(frozen=True)
class ShotOutcome:
    """A shot's finished take and its files."""

    shot: str
    take: Take
    clip: Path
    frame: Path | None
    reused: bool


@dataclass
class Budget:
    """What this run may still commit; reservations are estimates, corrected to actual usage when known."""

    limit_usd: float | None
    committed_usd: float = 0.0

    def reserve(self, shot: str, usd: float) -> None:
        """Count a create against the budget, or raise BudgetStop."""
        if self.limit_usd is not None and self.committed_usd + usd > self.limit_usd + 1e-9:
            raise BudgetStop(shot, f"submitting it (${usd:.2f}) would pass the budget of ${self.limit_usd:.2f} "
                                   f"(${self.committed_usd:.2f} committed by this run)")
        self.committed_usd += usd

    def settle(self, estimated: float, actual: float) -> None:
        """Replace an estimate by what the provider billed (0 for a failed task: failures are not billed)."""
        self.committed_usd += actual - estimated


@dataclass
class ShotContext:
    """What every shot of one run shares."""

    client: ArkClient
    journal: Journal
    run_dir: RunDir
    base_dir: Path
    run: int
    events: EventLog
    limit: AdaptiveLimit
    budget: Budget
    estimates: dict[str, ShotEstimate]
    polls: PollSchedule = field(default_factory=PollSchedule)
    latency: LatencyModel = field(default_factory=LatencyModel)
    max_attempts: int = 3
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.time
    keep_going: bool = False
    stopped: str | None = None  # set when an account-wide refusal stops new submissions

    def variant_params(self, spec: ShotSpec, parent: Handoff | None) -> tuple[Params, str]:
        """The shot's parameters and key, given its parent's frame."""
        params = shot_params(spec, self.base_dir, parent.sha if parent else None, self.journal.variant(spec.id))
        return params, shot_key(params)

    def usd_for(self, shot: str, tokens: int | None) -> float:
        """Dollars for billed tokens, at the rate the plan used for this shot."""
        est = self.estimates[shot]
        return round((tokens or 0) * est.usd / est.tokens, 4) if est.tokens else 0.0


class ShotRunner:
    """Runs one shot to a verified take, reusing or resuming what the journal already holds."""

    def __init__(self, ctx: ShotContext, spec: ShotSpec, parent: Handoff | None) -> None:
        self.ctx = ctx
        self.spec = spec
        self.parent = parent
        self.id = spec.id
        self.params, self.key = ctx.variant_params(spec, parent)
        self.estimate = ctx.estimates[spec.id]
        self.folder = ctx.run_dir.take_dir(self.id, self.key)

    async def run(self, publish: Callable[[Handoff], None]) -> ShotOutcome:
        """Produce the shot; `publish` gets the last frame as soon as it is on disk, before the clip downloads."""
        takes = self.ctx.journal.of_key(self.id, self.key)
        take = live_take(takes)
        if take is not None and take.state is TakeState.DOWNLOADED and take_intact(take, self.ctx.run_dir):
            handoff = self._handoff(take)
            if handoff is not None:
                publish(handoff)
            self.ctx.events.emit("reused", self.id, task_id=take.task_id, key=self.key[:12])
            return ShotOutcome(self.id, take, self._clip(), handoff.path if handoff else None, reused=True)
        # A run killed mid-download left hidden temp files here; the run directory's lock makes them ours to remove.
        sweep_temp(self.folder, finals=(CLIP_NAME, FRAME_NAME, TASK_NAME))
        attempt = len(takes)
        attempts_here = 0
        fresh = False
        while True:
            if take is None:
                if attempts_here >= self.ctx.max_attempts:
                    raise ShotFailed(self.id, f"failed {attempts_here} time(s); last: {self._last_error()}")
                if self.ctx.stopped:
                    raise ShotFailed(self.id, f"not submitted: {self.ctx.stopped}")
                attempt += 1
                attempts_here += 1
                take = self._new_intent(attempt)
                fresh = True
            task = await self._on_provider(take, fresh)
            take = self.ctx.journal.take(take.id)
            if task is not None and not task.succeeded:
                take = self._ended(take, task)
                if take is None:
                    continue
            break
        handoff = await self._fetch_frame(take, publish)
        take = await self._fetch_clip(take)
        return ShotOutcome(self.id, take, self._clip(), handoff.path if handoff else None, reused=False)

    # -- intent, create, reconcile ------------------------------------------------------------------------------

    def _new_intent(self, attempt: int) -> Take:
        pinned = self.params.get("seed")
        last = self._previous_failure()
        reseed = last is not None and (last.error_code or "").startswith("Output")
        seed = pinned if pinned is not None and pinned >= 0 and not reseed and "variant" not in self.params \
            else self.ctx.rng.randint(0, SEED_MAX)
        self.ctx.budget.reserve(self.id, self.estimate.usd)
        req = self._request(seed)
        return self.ctx.journal.add_intent(self.id, self.key, self.params, attempt, seed, build.summary(req),
                                           self.ctx.run)

    def _request(self, seed: int) -> CreateTaskRequest:
        frame = self.parent.as_request_url(self.ctx.clock()) if self.parent else None
        return build.build_request(self.spec, self.ctx.base_dir, seed, frame)

    async def _on_provider(self, take: Take, fresh: bool) -> Task | None:
        """Hold an in-flight place while the task exists on the provider; return it terminal (None: already
        succeeded earlier, nothing to wait for)."""
        if take.state is TakeState.SUCCEEDED or take.state is TakeState.DOWNLOADED:
            return None
        async with self.ctx.limit.slot(self.estimate.chain_seconds):
            if take.state is TakeState.INTENT:
                take = await self._submit(take, fresh)
            return await self._wait(take)

    async def _submit(self, take: Take, fresh: bool) -> Take:
        if not fresh:  # an intent left by a process that died inside (or before) its create call
            found = await self._reconcile(take, take.intent_at)
            if found is not None:
                return found
            self.ctx.budget.reserve(self.id, self.estimate.usd)
        req = self._request(take.seed)
        for tries in range(1, CREATE_TRIES + 1):
            started = self.ctx.clock()
            try:
                task_id = await self.ctx.client.create(req)
            except AmbiguousCreate:
                adopted = await self._reconcile(take, started)
                if adopted is not None:
                    return adopted
                continue  # no task was made after all: the same intent may create
            except RateLimited as exc:
                self.ctx.limit.throttled()
                self.ctx.events.emit("retrying", self.id, reason=f"create refused: {exc.code or exc.status}")
                await self.ctx.sleep(policy.backoff_seconds(tries, exc.retry_after, self.ctx.rng))
                continue
            except ApiError as exc:
                self.ctx.budget.settle(self.estimate.usd, 0.0)
                self.ctx.journal.set_ended(take.id, TakeState.FAILED, exc.code, exc.message, retryable=False)
                account_wide = exc.status in (401, 403)
                if account_wide and not self.ctx.keep_going:
                    self.ctx.stopped = f"the provider refused a create ({exc.code or exc.status}: {exc.message})"
                raise ShotFailed(self.id, f"create refused: {exc.code or exc.status}: {exc.message}",
                                 stops_run=account_wide) from None
            take = self.ctx.journal.set_submitted(take.id, task_id)
            self.ctx.events.emit("submitted", self.id, task_id=task_id, seed=take.seed, attempt=take.attempt)
            return take
        self.ctx.budget.settle(self.estimate.usd, 0.0)
        self.ctx.journal.set_ended(take.id, TakeState.FAILED, "CreateRefused", "rate limited", retryable=False)
        raise ShotFailed(self.id, f"the provider kept refusing the create ({CREATE_TRIES} tries)")

    async def _reconcile(self, take: Take, since: float) -> Take | None:
        """Adopt the task an interrupted or ambiguous create made, if the list endpoint shows one."""
        req = build.from_summary(take.request)
        window = AmbiguousCreate(req, created_after=int(since) - CREATE_WINDOW_SLACK_S,
                                 created_before=int(self.ctx.clock()) + CREATE_WINDOW_SLACK_S,
                                 cause=RuntimeError("interrupted create"))
        found = await reconcile(self.ctx.client, window, exclude=self.ctx.journal.task_ids())
        if found is None:
            return None
        take = self.ctx.journal.set_submitted(take.id, found.id)
        self.ctx.events.emit("submitted", self.id, task_id=found.id, seed=take.seed, attempt=take.attempt,
                             adopted=True)
        return take

    # -- waiting ---------------------------------------------------------------------------------------------------

    async def _wait(self, take: Take) -> Task:
        looks = [0]
        try:
            return await self._poll(take, looks)
        finally:
            if looks[0]:  # one write per task, not per GET: polls are frequent, and each journal write is synced
                self.ctx.journal.add_polls(take.id, looks[0])

    async def _poll(self, take: Take, looks: list[int]) -> Task:
        assert take.task_id is not None
        est = self.estimate
        prior = self.ctx.polls.expect(est.resolution, est.seconds)
        expected = self.ctx.latency.expect(prior)
        submitted = self.ctx.clock() if take.run == self.ctx.run else take.updated_at
        announced = False
        first = take.run != self.ctx.run  # resumed: the task may have finished long ago, so look at once
        last_look = self.ctx.clock()
        while True:
            if not first:
                await self.ctx.sleep(self.ctx.polls.delay(self.ctx.clock() - submitted, expected))
            first = False
            previous, last_look = last_look, self.ctx.clock()
            try:
                task = await self.ctx.client.get(take.task_id)
            except NotFound:
                task = Task(id=take.task_id, status=TaskStatus.EXPIRED)  # records vanish after 7 days
            looks[0] += 1
            if task.status is TaskStatus.RUNNING and not announced:
                announced = True
                self.ctx.events.emit("running", self.id, task_id=take.task_id)
            if task.terminal:
                if task.succeeded:
                    if take.run == self.ctx.run:  # it finished somewhere between the last two looks
                        self.ctx.latency.observe(prior, (previous + last_look) / 2 - submitted)
                    self._record_success(take, task)
                return task

    def _record_success(self, take: Take, task: Task) -> None:
        tokens = task.usage.completion_tokens if task.usage else None
        usd = self.ctx.usd_for(self.id, tokens)
        if take.run == self.ctx.run:
            self.ctx.budget.settle(self.estimate.usd, usd)
        content = task.content
        self._write_task_json(task)  # before the journal moves on: a resumed take never rewrites it
        self.ctx.journal.set_succeeded(take.id, content.video_url if content else None,
                                       content.last_frame_url if content else None, tokens, usd)
        self.ctx.events.emit("succeeded", self.id, task_id=task.id, tokens=tokens, usd=usd)

    def _ended(self, take: Take, task: Task) -> Take | None:
        """Journal a task that ended without a video; None means try again with a new take."""
        state = {TaskStatus.EXPIRED: TakeState.EXPIRED, TaskStatus.CANCELLED: TakeState.CANCELLED}.get(
            task.status, TakeState.FAILED)
        code = task.error.code if task.error else (task.raw_status or task.status.value)
        message = task.error.message if task.error else f"task {task.status.value}"
        retryable = state is TakeState.EXPIRED or policy.is_resubmittable(code)
        if take.run == self.ctx.run:
            self.ctx.budget.settle(self.estimate.usd, 0.0)  # only succeeded tasks are billed
        self.ctx.journal.set_ended(take.id, state, code, message, retryable)
        if not retryable:
            raise ShotFailed(self.id, f"task {task.id} {state.value}: {code}: {message}")
        self.ctx.events.emit("retrying", self.id, task_id=task.id, reason=f"{code}: {message}")
        return None

    def _previous_failure(self) -> Take | None:
        ended = [t for t in self.ctx.journal.of_key(self.id, self.key) if t.state.ended_badly]
        return ended[-1] if ended else None

    def _last_error(self) -> str:
        last = self._previous_failure()
        return f"{last.error_code}: {last.error_message}" if last else "unknown"

    # -- files -----------------------------------------------------------------------------------------------------

    def _clip(self) -> Path:
        return self.ctx.run_dir.clip(self.id, self.key)

    def _frame(self) -> Path:
        return self.ctx.run_dir.last_frame(self.id, self.key)

    def _handoff(self, take: Take) -> Handoff | None:
        if take.frame_sha is None:
            return None
        return Handoff(self.id, take.frame_sha, self._frame(), take.frame_url, take.urls_at)

    async def _fetch_frame(self, take: Take, publish: Callable[[Handoff], None]) -> Handoff | None:
        frame = self._frame()
        intact = take.frame_sha is not None and frame.is_file() and sha256_path(frame) == take.frame_sha
        if not intact:
            if take.frame_url is None:
                return None  # draft tasks return no last frame; validation keeps them out of chains
            take = await self._download(take, frame, lambda t: t.frame_url)
            size = frame.stat().st_size
            take = self.ctx.journal.set_frame(take.id, sha256_path(frame), size)
        handoff = self._handoff(take)
        assert handoff is not None
        publish(handoff)
        return handoff

    async def _fetch_clip(self, take: Take) -> Take:
        clip = self._clip()
        for _ in range(2):
            take = await self._download(take, clip, lambda t: t.video_url)
            try:
                await probe(clip, decode=True)  # strict decode: a damaged file is never journaled as done
            except ClipInvalid as exc:
                clip.unlink(missing_ok=True)
                self.ctx.events.emit("retrying", self.id, reason=f"downloaded clip unusable: {exc}")
                continue
            size = clip.stat().st_size
            take = self.ctx.journal.set_downloaded(take.id, sha256_path(clip), size)
            self.ctx.events.emit("downloaded", self.id, task_id=take.task_id, bytes=size, path=str(clip))
            return take
        raise ShotFailed(self.id, f"the clip of task {take.task_id} could not be downloaded intact")

    async def _download(self, take: Take, dest: Path, url_of: Callable[[Take], str | None]) -> Take:
        """Download one result file, renewing expired URLs by getting the task again."""
        for refresh in range(URL_REFRESHES + 1):
            url = url_of(take)
            if url is not None:
                try:
                    await self.ctx.client.download(url, dest)
                    return take
                except DownloadFailed as exc:
                    if refresh == URL_REFRESHES or exc.status not in (403, 404, 410, None):
                        hint = " (getting the task again did not renew its URLs)" if refresh else ""
                        raise ShotFailed(self.id, f"{exc.message}{hint}") from None
            take = await self._refresh_urls(take)
        raise ShotFailed(self.id, f"task {take.task_id} has no file to download")

    async def _refresh_urls(self, take: Take) -> Take:
        assert take.task_id is not None
        task = await self.ctx.client.get(take.task_id)
        self.ctx.journal.add_polls(take.id, 1)
        content = task.content
        self._write_task_json(task)
        return self.ctx.journal.set_urls(take.id, content.video_url if content else None,
                                         content.last_frame_url if content else None)

    def _write_task_json(self, task: Task) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.ctx.run_dir.task_json(self.id, self.key)
        with temporary(path) as tmp:
            tmp.write_text(json.dumps(task.model_dump(mode="json"), indent=2), encoding="utf-8")
            tmp.replace(path)
