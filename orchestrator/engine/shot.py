"""One shot from its decision to verified files: the driver of the take machine (`orchestrator.engine.take`).

The machine decides; this module does the I/O each phase asks for (create, list, get, download), feeds back what
happened, and records the machine's actions (journal, budget, progress) before the next I/O, so a crash anywhere
leaves a journal the next run resumes without paying twice. It keeps no retry loop of its own: how often and how long
come from `orchestrator.api.retry`.

Order of holds for a take that is or will be on the provider: an in-flight place (`AdaptiveLimit`), then, while the
create's outcome is open, the turn of its echo signature (`CreateGate`), so the list can always tell our creates apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from orchestrator.api import retry as policy
from orchestrator.api.errors import AmbiguousCreate, ApiError, DownloadFailed, NotFound
from orchestrator.api.types import CreateTaskRequest, ImageContent, Task
from orchestrator.assembly.errors import ClipInvalid
from orchestrator.assembly.probe import probe
from orchestrator.assembly.temp import sweep_temp, temporary
from orchestrator.engine import request as build
from orchestrator.engine import take as machine
from orchestrator.engine.context import BudgetStop, ShotContext, ShotFailed
from orchestrator.engine.decide import Action, Decision
from orchestrator.engine.journal import Take, TakeState
from orchestrator.engine.keys import sha256_path
from orchestrator.engine.settle import cancel_suspects, look_for_task, record
from orchestrator.engine.take import Life, Phase
from orchestrator.models import SEED_MAX
from orchestrator.storyboard.resolve import ShotSpec

SUBMITTING = (Phase.CREATE, Phase.RECONCILE, Phase.CANCEL)  # the create's outcome is open: hold the gate
ON_PROVIDER = (Phase.POLL, Phase.ASK_LIST)  # the task exists and is not finished: hold an in-flight place
_FETCH_WORDS = ("download", "fetch", "timeout")  # how the provider says it could not get a URL we sent


@dataclass(frozen=True)
class Handoff:
    """A finished shot's last frame, for its children."""

    shot: str
    sha: str
    path: Path
    url: str | None
    finished_at: float | None  # when the provider finished the parent (URLs age from then)

    def as_request_url(self, now: float, inline: bool = False) -> str:
        """The provider's URL while fresh (the documented pattern, and a frame the provider knows as its own),
        else, or when `inline`, the exact stored bytes inline."""
        if not inline and self.url and policy.url_fresh(self.finished_at, now):
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


class ShotRunner:
    """Runs one shot's decision to a verified take: reuse it, resume it, or make new takes."""

    def __init__(self, ctx: ShotContext, spec: ShotSpec, decision: Decision, parent: Handoff | None) -> None:
        assert decision.settled and decision.key is not None and decision.params is not None
        self.ctx = ctx
        self.spec = spec
        self.decision = decision
        self.parent = parent
        self.id = spec.id
        self.key = decision.key
        self.params = decision.params
        self.estimate = ctx.estimates[spec.id]
        self.folder = ctx.run_dir.take_dir(self.id, self.key)
        self._task: Task | None = None  # the newest look at the current take's task
        self._halted = ""
        self._created_here: str | None = None  # the task id the last create of this process answered
        self._since: float | None = None  # when this process learnt the current task exists
        self._looks: tuple[float, float] | None = None  # the last two looks at it (for the latency model)
        self._built: tuple[int, bool, CreateTaskRequest] | None = None  # the last create body, by (seed, inline)

    async def run(self, publish: Callable[[Handoff], None]) -> ShotOutcome:
        """Produce the shot; `publish` gets the last frame as soon as it is on disk, before the clip downloads."""
        decision = self.decision
        if decision.action is Action.REUSE and decision.take is not None:
            handoff = self._handoff(decision.take)
            if handoff is not None:
                publish(handoff)
            self.ctx.events.emit("reused", self.id, task_id=decision.take.task_id, key=self.key[:12])
            return ShotOutcome(self.id, decision.take, self._clip(), handoff.path if handoff else None, reused=True)
        # A run killed mid-download left hidden temp files here; the run directory's lock makes them ours to remove.
        sweep_temp(self.folder)
        take = self._resumed()
        made = 0
        while True:
            if take is None:
                if made >= self.ctx.max_attempts:
                    raise ShotFailed(self.id, f"failed {made} time(s); last: {self._last_error()}")
                if self.ctx.stopped:
                    raise ShotFailed(self.id, f"not submitted: {self.ctx.stopped}")
                made += 1
            life, take = await self._drive(take, publish)
            if life.phase is Phase.DONE:
                return ShotOutcome(self.id, take, self._clip(), self._frame() if take.frame_sha else None, False)
            if life.phase is Phase.STUCK:
                raise ShotFailed(self.id, f"task {take.task_id}: {self._halted}")
            if take.state is TakeState.FAILED and take.error_code == policy.BUDGET_CODE:
                raise BudgetStop(self.id, take.error_message or "over budget")
            if not (take.retryable and policy.may_resubmit(take.error_code, take.state is TakeState.EXPIRED, made,
                                                           self.ctx.max_attempts)):
                raise ShotFailed(self.id, self._failure(take), stops_run=self.ctx.stopped is not None)
            self.ctx.events.emit("retrying", self.id, task_id=take.task_id,
                                 reason=f"{take.error_code}: {take.error_message}")
            take = None

    def _resumed(self) -> Take | None:
        """The take to resume, as the journal has it now (the run settled interrupted creates before shots began:
        found, or ended); None when a new take is to be made."""
        if self.decision.action is not Action.RESUME or self.decision.take is None:
            return None
        take = self.ctx.journal.take(self.decision.take.id)
        if not take.state.ended_badly:
            return take
        if take.retryable and policy.may_resubmit(take.error_code, take.state is TakeState.EXPIRED, 0,
                                                  self.ctx.max_attempts):
            return None
        raise ShotFailed(self.id, self._failure(take))

    # -- one take ---------------------------------------------------------------------------------------------------

    async def _drive(self, take: Take | None, publish: Callable[[Handoff], None]) -> tuple[Life, Take]:
        """Run one take (a new one when None) to the end of its life in this run."""
        if take is None or take.state in (TakeState.INTENT, TakeState.SUBMITTED):
            async with self.ctx.limit.slot(self.estimate.chain_seconds):
                if take is None or take.state is TakeState.INTENT:
                    req = self._request(take.seed if take else self._seed(), inline=False)
                    async with self.ctx.gate.hold(req):
                        if take is None and self.ctx.stopped:  # refused account-wide while this one waited its turn
                            raise ShotFailed(self.id, f"not submitted: {self.ctx.stopped}")
                        fresh = take is None
                        take = self._new_intent(req) if take is None else take
                        life = self._start(take, fresh)
                        life, take = await self._phases(life, take, SUBMITTING, publish)
                else:
                    life = self._start(take, fresh=False)
                life, take = await self._phases(life, take, ON_PROVIDER, publish)
        else:
            life = self._start(take, fresh=False)
        return await self._phases(life, take, (Phase.FETCH, Phase.REFRESH), publish)

    def _start(self, take: Take, fresh: bool) -> Life:
        return machine.start(take.state, resumed=not fresh, created_at=take.intent_at, reserved=fresh,
                             posts=take.posts)

    async def _phases(self, life: Life, take: Take, phases: tuple[Phase, ...],
                      publish: Callable[[Handoff], None]) -> tuple[Life, Take]:
        """Perform and step while the take is in one of `phases`."""
        looks = 0
        try:
            while life.phase in phases:
                if life.phase in ON_PROVIDER:
                    looks += 1
                take = self.ctx.journal.take(take.id)  # the I/O of the last phase may have written to it
                event = await self._perform(life, take, publish, first=looks == 1)
                life, take = self._step(life, take, event)
        finally:
            if looks:  # one write per stretch of looks, not per GET: each journal write is synced
                self.ctx.journal.add_polls(take.id, looks)
        return life, self.ctx.journal.take(take.id)

    def _step(self, life: Life, take: Take, event: machine.Event) -> tuple[Life, Take]:
        life, actions = machine.step(life, event, self.ctx.polls.scale)
        for action in actions:
            try:
                take = self._record(life, take, action)
            except BudgetStop as exc:  # counting a resumed intent's cost would pass the budget
                return self._step(life, take, machine.OverBudget(exc.reason))
        return life, take

    def _record(self, life: Life, take: Take, action: machine.Action) -> Take:
        """Do one action of the machine: budget and timing here, journal and progress as `settle.record` does."""
        if isinstance(action, machine.Submit):
            self._since = self.ctx.clock()
        elif isinstance(action, machine.Reserve):
            self.ctx.budget.reserve(self.id, self.estimate.cost)
        elif isinstance(action, machine.RecordSuccess):
            return self._record_success(life, take)
        elif isinstance(action, machine.Halt):
            self._halted = action.reason
        elif isinstance(action, machine.End):
            if life.reserved:
                self.ctx.budget.settle(self.estimate.cost, Decimal(0))  # only succeeded tasks are billed
            if action.stops_run and not self.ctx.keep_going:
                self.ctx.stopped = f"the provider refused a create ({action.code}: {action.message})"
        return record(self.ctx, take, action)

    # -- the I/O of each phase ----------------------------------------------------------------------------------------

    async def _perform(self, life: Life, take: Take, publish: Callable[[Handoff], None],
                       first: bool) -> machine.Event:
        if life.phase is Phase.CREATE:
            return await self._create(life, take)
        if life.phase is Phase.RECONCILE:
            return await look_for_task(self.ctx, take, life)
        if life.phase is Phase.CANCEL:
            return await cancel_suspects(self.ctx, life)
        if life.phase is Phase.POLL:
            return await self._look(life, take, first)
        if life.phase is Phase.ASK_LIST:
            return await self._ask_list(take)
        if life.phase is Phase.FETCH:
            return await self._fetch(take, publish)
        return await self._refresh(take)

    async def _create(self, life: Life, take: Take) -> machine.Event:
        req = self._request(take.seed, inline=life.inline)
        started = self.ctx.clock()
        try:
            task_id, posts = await self.ctx.client.create_counted(req, max_posts=policy.create_posts_left(life.posts))
        except AmbiguousCreate as exc:
            return machine.Unknown(started, exc.attempts)
        except ApiError as exc:
            return machine.Refused(exc.code, exc.message, exc.status, exc.attempts, self._frame_refused(req, exc))
        self._created_here = task_id
        return machine.Created(task_id, posts)

    async def _look(self, life: Life, take: Take, first: bool) -> machine.Event:
        assert take.task_id is not None
        resumed = take.run != self.ctx.run
        wait = 0.0
        if life.misses:
            wait = policy.missing_wait(life.misses, self.ctx.polls.scale)
        elif not (first and resumed):  # a resumed task may have finished long ago: look at once
            submitted = self._since if self._since is not None else take.updated_at
            wait = self.ctx.polls.delay(self.ctx.clock() - submitted, self._expected())
        try:
            # By GET, or with other looks due about then through one list call (many tasks in flight).
            task = await self.ctx.board.get(take.task_id, take.request.get("service_tier"), due_in=wait)
        except NotFound:
            return machine.Missing(self.ctx.clock())
        finally:
            now = self.ctx.clock()
            self._looks = (self._looks[1] if self._looks else now, now)
        self._seen(take, task)
        return machine.Seen(task.status, task.error.code if task.error else task.raw_status,
                            task.error.message if task.error else None)

    async def _ask_list(self, take: Take) -> machine.Event:
        assert take.task_id is not None
        tier = take.request.get("service_tier")
        page = await self.ctx.client.list(task_ids=[take.task_id], service_tier=tier, page_size=1)
        listed = next((t for t in page.items if t.id == take.task_id), None)
        if listed is None:
            return machine.Listed(None)
        self._seen(take, listed)
        return machine.Listed(listed.status)

    async def _fetch(self, take: Take, publish: Callable[[Handoff], None]) -> machine.Event:
        frame = self._frame()
        try:
            if take.frame_url is not None and not (take.frame_sha and frame.is_file()
                                                   and sha256_path(frame) == take.frame_sha):
                await self.ctx.client.download(take.frame_url, frame)
                take = self.ctx.journal.set_frame(take.id, sha256_path(frame), frame.stat().st_size)
            handoff = self._handoff(take)
            if handoff is not None:  # draft tasks return no last frame; validation keeps them out of chains
                publish(handoff)
            clip = self._clip()
            if take.video_url is None:
                return machine.FileUnreachable(f"task {take.task_id} has no video to download")
            await self.ctx.client.download(take.video_url, clip)
        except DownloadFailed as exc:
            return machine.FileUnreachable(exc.message)
        received = self.ctx.clock()
        try:  # strict decode: a damaged file is never journaled as done
            await (self.ctx.check_clip(self.id, clip) if self.ctx.check_clip else probe(clip, decode=True))
        except ClipInvalid as exc:
            clip.unlink(missing_ok=True)
            return machine.ClipUnusable(str(exc))
        size = clip.stat().st_size
        take = self.ctx.journal.set_downloaded(take.id, sha256_path(clip), size)
        self.ctx.events.emit("downloaded", self.id, task_id=take.task_id, bytes=size, path=str(clip),
                             received=round(received, 3))
        return machine.Fetched()

    async def _refresh(self, take: Take) -> machine.Event:
        assert take.task_id is not None
        try:
            task = await self.ctx.client.get(take.task_id)
        except NotFound:
            return machine.Missing(self.ctx.clock())
        self.ctx.journal.add_polls(take.id, 1)
        self._write_task_json(task)
        content = task.content
        self.ctx.journal.set_urls(take.id, content.video_url if content else None,
                                  content.last_frame_url if content else None)
        return machine.Refreshed()

    # -- helpers ------------------------------------------------------------------------------------------------------

    def _seed(self) -> int:
        pinned = self.params.get("seed")
        last = self._previous_failure()
        reseed = last is not None and policy.reseed(last.error_code)
        if pinned is not None and pinned >= 0 and not reseed and "variant" not in self.params:
            return int(pinned)
        return self.ctx.rng.randint(0, SEED_MAX)

    def _new_intent(self, req: CreateTaskRequest) -> Take:
        self.ctx.budget.reserve(self.id, self.estimate.cost)
        attempt = len(self.ctx.journal.of_key(self.id, self.key)) + 1
        assert req.seed is not None
        return self.ctx.journal.add_intent(self.id, self.key, self.params, attempt, req.seed, build.summary(req),
                                           self.ctx.run)

    def _request(self, seed: int, inline: bool) -> CreateTaskRequest:
        """The create body (built once per seed and way of sending the parent's frame: inline files are large)."""
        if self._built is None or self._built[:2] != (seed, inline):
            frame = self.parent.as_request_url(self.ctx.clock(), inline) if self.parent else None
            # The decision may resume a take made with sound for a shot now asked for silently (decide._with_sound):
            # what is sent is what the take's key says.
            spec = replace(self.spec, generate_audio=bool(self.params.get("generate_audio", self.spec.generate_audio)))
            self._built = (seed, inline, build.build_request(spec, self.ctx.base_dir, seed, frame))
        return self._built[2]

    def _frame_refused(self, req: CreateTaskRequest, exc: ApiError) -> bool:
        """Whether a refusal says the provider could not fetch the parent's frame URL we sent."""
        if self.parent is None or exc.status != 400 or self.parent.url is None:
            return False
        sent = any(isinstance(c, ImageContent) and c.image_url.url == self.parent.url for c in req.content)
        text = (exc.message or "").lower()
        return sent and ("image_url" in (exc.param or "") or any(w in text for w in _FETCH_WORDS))

    def _seen(self, take: Take, task: Task) -> None:
        self._task = task
        # Keyed by the id sent: through an endpoint the task reports the model it serves, and reconciliation asks by
        # the id of the request.
        model = str(take.request.get("model") or task.model)
        if self._created_here == task.id and task.seed is not None and self.ctx.journal.seed_echo(model) is None:
            self.ctx.journal.set_seed_echo(model, task.seed == take.seed)

    def _prior(self) -> float:
        return self.ctx.polls.expect(self.estimate.resolution, self.estimate.seconds)

    def _expected(self) -> float:
        return self.ctx.latency.expect(self._prior())

    def _record_success(self, life: Life, take: Take) -> Take:
        task = self._task
        assert task is not None
        tokens = task.usage.completion_tokens if task.usage else None
        cost = self.ctx.cost_for(self.id, tokens)
        if life.reserved:
            self.ctx.budget.settle(self.estimate.cost, cost)
            if self._since is not None and self._looks is not None:  # it finished between the last two looks
                self.ctx.latency.observe(self._prior(), sum(self._looks) / 2 - self._since)
        self._write_task_json(task)  # before the journal moves on: a resumed take never rewrites it
        content = task.content
        finished = float(task.updated_at) if task.updated_at else None
        take = self.ctx.journal.set_succeeded(take.id, content.video_url if content else None,
                                              content.last_frame_url if content else None, tokens,
                                              float(round(cost, 4)), finished)
        self.ctx.events.emit("succeeded", self.id, task_id=task.id, tokens=tokens,
                             **{self.ctx.budget.money.key: float(round(cost, 4))})
        return take

    def _previous_failure(self) -> Take | None:
        ended = [t for t in self.ctx.journal.of_key(self.id, self.key) if t.state.ended_badly]
        return ended[-1] if ended else None

    def _last_error(self) -> str:
        last = self._previous_failure()
        return f"{last.error_code}: {last.error_message}" if last else "unknown"

    def _failure(self, take: Take) -> str:
        if take.task_id is None:
            return f"create refused: {take.error_code}: {take.error_message}"
        return f"task {take.task_id} {take.state.value}: {take.error_code}: {take.error_message}"

    def _clip(self) -> Path:
        return self.ctx.run_dir.clip(self.id, self.key)

    def _frame(self) -> Path:
        return self.ctx.run_dir.last_frame(self.id, self.key)

    def _handoff(self, take: Take) -> Handoff | None:
        if take.frame_sha is None:
            return None
        return Handoff(self.id, take.frame_sha, self._frame(), take.frame_url, take.finished_at)

    def _write_task_json(self, task: Task) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.ctx.run_dir.task_json(self.id, self.key)
        with temporary(path) as tmp:
            tmp.write_text(json.dumps(task.model_dump(mode="json"), indent=2), encoding="utf-8")
            tmp.replace(path)
